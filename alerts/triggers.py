"""Event-triggered evaluation: a log consumer (settings.ACTIVITY_LOG_CONSUMERS).

Called for every committed activity event, so it must be cheap: one cache read
per event (the organization's map of trigger verb -> rule ids, rebuilt from the rules on a miss
and forgotten when a rule changes). A matching event enqueues an evaluation of those rules on
commit; if the broker is down the beat sweep evaluates them within ALERTS_SWEEP_SECONDS anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.core.cache import cache
from django.db import transaction

from activity.models import ActivityEvent
from alerts.conditions import CATALOGUE, OWN_VERB_PREFIX
from alerts.models import AlertRule
from alerts.services import TRIGGER_CACHE_SECONDS, trigger_cache_key

logger = logging.getLogger(__name__)


def trigger_map(organization_id: int) -> dict[str, list[int]]:
    key = trigger_cache_key(organization_id)
    mapping = cache.get(key)
    if mapping is None:
        mapping = {}
        rules = AlertRule.objects.filter(organization_id=organization_id, enabled=True)
        # A savepoint: this read runs inside the writer's transaction, which must survive it.
        with transaction.atomic():
            rows = list(rules.values_list("pk", "condition", "params"))
        for rule_id, condition_key, params in rows:
            condition = CATALOGUE.get(condition_key)
            if condition is None or not condition.active:
                continue
            for verb in condition.triggers(params or {}):
                mapping.setdefault(verb, []).append(rule_id)
        cache.set(key, mapping, TRIGGER_CACHE_SECONDS)
    return mapping


def on_activity(event: ActivityEvent, agent_ids: Sequence[int] = ()) -> None:
    """The activity listener. Never raises: an alert evaluation is not worth rolling back the
    write that recorded the event (a cache outage costs the immediate evaluation; the sweep
    still runs)."""
    if event.verb.startswith(OWN_VERB_PREFIX):
        return
    try:
        rule_ids = trigger_map(event.organization_id).get(event.verb)
    except Exception as exc:
        logger.warning("alert triggers unavailable for %s: %s", event.verb, type(exc).__name__)
        return
    if rule_ids:
        transaction.on_commit(lambda: _enqueue(rule_ids))


def _enqueue(rule_ids: list[int]) -> None:
    from alerts.tasks import evaluate_alert_rules

    try:
        evaluate_alert_rules.delay(list(rule_ids))
    except Exception:
        logger.warning(
            "could not enqueue alert evaluation of %s; the sweep will evaluate", rule_ids, exc_info=True
        )
