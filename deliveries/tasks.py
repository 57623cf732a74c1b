"""Celery tasks of deliveries. Thin: load by id, call a service.

Retries are not Celery retries: the service records each attempt and schedules the next one
as a new message with a countdown (and in next_attempt_at, which the sweeper reads), so a lost
message or a killed worker delays a delivery but never loses or duplicates its outcome.
The task names predate the move out of the webhooks app and are kept: they are the wire names
of messages that may already sit in the broker during an upgrade.
"""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from deliveries import outbound


# A transient database error (lost connection, lock timeout) retries the message; if the claim
# had already been taken, the retry finds it locked and the sweeper takes over after the lease.
@shared_task(
    name=outbound.DELIVER_TASK_NAME,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=1,
    max_retries=5,
)
def deliver_webhook(delivery_id: int) -> None:
    outbound.attempt_delivery(delivery_id=delivery_id)


@shared_task(name="webhooks.tasks.requeue_overdue_deliveries", ignore_result=True)
def requeue_overdue_deliveries() -> int:
    return outbound.requeue_overdue_deliveries()
