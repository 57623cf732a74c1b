"""Celery tasks of webhook rules. Thin: load by id, call the service, decide the one retry."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from webhook_rules.models import OutcomeStatus, WebhookRule


@shared_task(
    name="webhook_rules.tasks.apply_webhook_rules",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=1,
    max_retries=3,
)
def apply_webhook_rules(payload_id: int, attempt: int = 1) -> None:
    # Imported here: the services enqueue this task, and import this module to do so.
    from webhook_rules.services import MAX_ATTEMPTS, apply_rules

    outcome = apply_rules(payload_id=payload_id, attempt=attempt)
    if outcome is not None and outcome.status == OutcomeStatus.FAILED and attempt < MAX_ATTEMPTS:
        apply_webhook_rules.apply_async(
            (payload_id, attempt + 1), countdown=settings.WEBHOOK_RULES_RETRY_SECONDS
        )


@shared_task(name="webhook_rules.tasks.requeue_unapplied_payloads", ignore_result=True)
def requeue_unapplied_payloads() -> int:
    from webhook_rules.services import requeue_unapplied_payloads as requeue

    return len(requeue())


def enqueue_rule_evaluation(payload) -> None:
    """The webhooks app's post-ingest listener: hand the payload to the worker if rules exist.

    Runs after the payload's commit, so the worker always finds the row; one indexed EXISTS
    keeps webhooks without rules from queueing anything.
    """
    if WebhookRule.objects.filter(webhook_id=payload.webhook_id, enabled=True).exists():
        apply_webhook_rules.delay(payload.pk)
