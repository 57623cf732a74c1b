"""Webhook rules follow the activity log: a received payload is evaluated in the worker."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

from activity.models import ActivityEvent
from webhook_rules.tasks import enqueue_rule_evaluation


def evaluate_rules_for_event(event: ActivityEvent, agent_ids: Sequence[int] = ()) -> None:
    """For each `webhook.received`, what the ingest request used to call after its commit: the
    payload's rules, if its webhook has any enabled, are queued for the worker."""
    if event.verb != "webhook.received":
        return
    webhook_id, payload_id = event.detail.get("webhook_id"), event.detail.get("payload_id")
    if webhook_id is None or payload_id is None:
        return
    enqueue_rule_evaluation(SimpleNamespace(pk=payload_id, webhook_id=webhook_id))
