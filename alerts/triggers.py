"""Event-triggered evaluation: registered as an activity listener in AlertsConfig.ready().

Called inside the transaction of every activity event, so it must be cheap: one cache read
per event (the organization's map of trigger verb -> rule ids, rebuilt from the rules on a miss
and forgotten when a rule changes). A matching event enqueues an evaluation of those rules on
commit; if the broker is down the beat sweep evaluates them within ALERTS_SWEEP_SECONDS anyway.
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import transaction

from alerts.conditions import CATALOGUE, OWN_VERB_PREFIX
from alerts.models import AlertRule
from alerts.services import TRIGGER_CACHE_SECONDS, trigger_cache_key
from boards.models import ActivityEvent

logger = logging.getLogger(__name__)


def trigger_map(organization_id: int) -> dict[str, list[int]]:
    key = trigger_cache_key(organization_id)
    mapping = cache.get(key)
    if mapping is None:
        mapping = {}
        rules = AlertRule.objects.filter(organization_id=organization_id, enabled=True)
        for rule_id, condition_key, params in rules.values_list("pk", "condition", "params"):
            condition = CATALOGUE.get(condition_key)
            if condition is None or not condition.active:
                continue
            for verb in condition.triggers(params or {}):
                mapping.setdefault(verb, []).append(rule_id)
        cache.set(key, mapping, TRIGGER_CACHE_SECONDS)
    return mapping


def on_activity(event: ActivityEvent) -> None:
    if event.verb.startswith(OWN_VERB_PREFIX):
        return
    rule_ids = trigger_map(event.organization_id).get(event.verb)
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
