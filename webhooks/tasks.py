"""Celery tasks of inbound webhooks. Thin: call a service."""

from __future__ import annotations

from celery import shared_task

from webhooks.services import prune_webhook_payloads as prune


@shared_task(name="webhooks.tasks.prune_webhook_payloads", ignore_result=True)
def prune_webhook_payloads() -> object:
    return prune()
