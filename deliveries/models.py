"""Outbound deliveries: subscriptions, the outbox of deliveries, and every attempt to send one.

The tables keep the names they were created with in the webhooks app (moved in deliveries 0001,
no data copied).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Subscription(models.Model):
    """An outbound target a board admin set up; agents' callback URLs are built-in targets."""

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="subscriptions"
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
        db_table = "webhooks_subscription"
        ordering = ["-created_at"]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    DEAD = "dead", "Dead"


class Delivery(models.Model):
    """One event to one target; its id is the `webhook-id` receivers deduplicate on."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="deliveries")
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
        db_table = "webhooks_delivery"
        verbose_name_plural = "deliveries"
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
        db_table = "webhooks_deliveryattempt"
        ordering = ["started_at", "id"]
