"""Event automations follow the activity log (settings.ACTIVITY_LOG_CONSUMERS, "automations").

Called for every committed event, in the worker (or after the commit on the embedded default),
never inside the request that wrote it. Verbs no trigger reads return at once; the others read
the board's enabled automations for that trigger (one indexed query) and fire the matching
ones. A failing automation must not hold the log back: each firing runs in its own savepoint
and its failure is an outcome row, not an exception.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import transaction

from activity.models import ActivityEvent
from automations.services import TRIGGER_VERBS, automations_for_event

logger = logging.getLogger(__name__)


def on_activity(event: ActivityEvent, agent_ids: Sequence[int] = ()) -> None:
    if event.verb not in TRIGGER_VERBS:
        return
    try:
        with transaction.atomic():
            automations_for_event(event)
    except Exception:
        # Rolled back to the savepoint; the event is not retried (an automation that always
        # fails would otherwise stop every consumer behind it). The log says which.
        logger.exception("automations: event %s (%s) could not be handled", event.pk, event.verb)
