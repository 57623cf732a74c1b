"""Inbound webhooks and their stored payloads; outbound subscriptions and deliveries."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class BoardWebhook(models.Model):
    board = models.ForeignKey("boards.Board", on_delete=models.CASCADE, related_name="webhooks")
    description = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    # Encrypted at rest (webhooks.secrets); empty means unsigned payloads are accepted.
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

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.description or f"webhook {self.pk}"


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


class Subscription(models.Model):
    """An outbound target a board admin set up; agents' callback URLs are built-in targets."""

    organization = models.ForeignKey(
        "boards.Organization", on_delete=models.CASCADE, related_name="subscriptions"
    )
    board = models.ForeignKey(
        "boards.Board", on_delete=models.CASCADE, null=True, blank=True, related_name="subscriptions"
    )
    description = models.CharField(max_length=200, blank=True)
    target_url = models.URLField(max_length=500)
    secret_ciphertext = models.TextField(blank=True)
    event_types = models.JSONField(default=list, blank=True)  # empty: every event
    enabled = models.BooleanField(default=True)
    consecutive_dead = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    DEAD = "dead", "Dead"


class Delivery(models.Model):
    """One event to one target; its id is the `webhook-id` receivers deduplicate on."""

    organization = models.ForeignKey(
        "boards.Organization", on_delete=models.CASCADE, related_name="deliveries"
    )
    board = models.ForeignKey(
        "boards.Board", on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    target_url = models.URLField(max_length=500)
    event_type = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set while a worker is sending, so a duplicate task message cannot send twice.
    locked_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The beat sweeper: pending deliveries whose next attempt is overdue.
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="delivery_pending_due"
            ),
            # Dead-letter lists per board and globally.
            models.Index(fields=["status", "-id"], name="delivery_status_id"),
        ]


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(auto_now_add=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    error_class = models.CharField(max_length=100, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    response_excerpt = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["started_at", "id"]


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
