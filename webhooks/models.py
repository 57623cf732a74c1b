"""Inbound webhooks and the payloads they stored (outbound deliveries live in the deliveries app)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.querysets import OrganizationScopedQuerySet


class BoardWebhookQuerySet(OrganizationScopedQuerySet):
    organization_path = "board__organization"


class BoardWebhook(models.Model):
    board = models.ForeignKey("boards.Board", on_delete=models.CASCADE, related_name="webhooks")
    description = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    # Encrypted at rest (core.encryption); empty means unsigned payloads are accepted.
    secret_ciphertext = models.TextField(blank=True)
    # The secret before the last rotation, accepted until previous_secret_expires_at.
    previous_secret_ciphertext = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    signature_header = models.CharField(max_length=64, blank=True)
    target_agent = models.ForeignKey(
        "agents.Agent", on_delete=models.SET_NULL, null=True, blank=True, related_name="webhooks"
    )
    creates_task = models.BooleanField(default=False)
    task_title_template = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BoardWebhookQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.description or f"webhook {self.pk}"


class WebhookPayloadQuerySet(OrganizationScopedQuerySet):
    organization_path = "board__organization"

    def addressed_to(self, agent) -> WebhookPayloadQuerySet:
        """Payloads an agent may read: sent to it, or on its boards when it is a board lead."""
        addressed = Q(webhook__target_agent=agent)
        if agent.is_board_lead:
            addressed |= Q(board__agents=agent)
        return self.filter(addressed, board__organization_id=agent.organization_id)


class WebhookPayload(models.Model):
    webhook = models.ForeignKey(BoardWebhook, on_delete=models.CASCADE, related_name="payloads")
    board = models.ForeignKey("boards.Board", on_delete=models.CASCADE, related_name="webhook_payloads")
    body = models.BinaryField()  # byte-exact as received
    payload = models.JSONField(null=True, blank=True)  # parsed when the body is JSON
    json_invalid = models.BooleanField(default=False)
    content_type = models.CharField(max_length=200, blank=True)
    headers = models.JSONField(default=dict, blank=True)  # signature and auth headers redacted
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    delivery_id = models.CharField(max_length=200, null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    objects = WebhookPayloadQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            # Payload log per board, newest first.
            models.Index(fields=["board", "-id"], name="payload_board_id"),
            # Retention pruning by age.
            models.Index(fields=["received_at"], name="payload_received_at"),
        ]
        constraints = [
            # Idempotency: a sender's delivery id is stored once per webhook; a race between two
            # identical requests is settled by this constraint, not by a check-then-insert.
            models.UniqueConstraint(
                fields=["webhook", "delivery_id"],
                condition=Q(delivery_id__isnull=False),
                name="payload_unique_delivery_id",
            ),
        ]


class WebhookRefusalCount(models.Model):
    """Payloads a known webhook refused, counted per day and reason (the overview's "refused").

    A counter, not a row per request: a flood of forged signatures must not grow the database
    by a row each. Refusals before the webhook is known (rate limit, unknown id) count only in
    the Prometheus counter.
    """

    webhook = models.ForeignKey(BoardWebhook, on_delete=models.CASCADE, related_name="refusal_counts")
    board = models.ForeignKey("boards.Board", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    reason = models.CharField(max_length=32)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["webhook", "day", "reason"], name="refusalcount_unique_day"),
        ]
        indexes = [
            # The overview's refused KPI and webhook-volume chart: a board's refusals by day.
            models.Index(fields=["board", "day"], name="refusalcount_board_day"),
        ]
