"""Admin for subscriptions and deliveries (dead letters, replay).

Subscription secrets are never shown here (they are shown once on creation, on the pages or the
API). Replays and subscription changes go through webhooks.outbound so they are logged.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models

from core.actors import Actor
from deliveries import outbound
from deliveries.models import Delivery, DeliveryAttempt, DeliveryStatus, Subscription
from infra.exceptions import DomainError


def _actor(request) -> Actor:
    return Actor.system() if request.user.is_superuser else Actor.for_user(request.user)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["id", "target_url", "organization", "board", "enabled", "consecutive_dead", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["target_url", "description"]
    list_select_related = ["organization", "board"]
    fields = [
        "organization",
        "board",
        "description",
        "target_url",
        "event_types",
        "enabled",
        "consecutive_dead",
        "disabled_reason",
        "created_by",
        "created_at",
    ]
    readonly_fields = [
        "organization",
        "board",
        "consecutive_dead",
        "disabled_reason",
        "created_by",
        "created_at",
    ]
    actions = ["enable"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request) -> bool:
        return False  # created on the pages or the API, which show the secret once

    def save_model(self, request, obj: Subscription, form, change: bool) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            outbound.update_subscription(actor=_actor(request), subscription=obj, **changes)
        except DomainError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)

    def delete_model(self, request, obj: Subscription) -> None:
        outbound.delete_subscription(actor=_actor(request), subscription=obj)

    def delete_queryset(self, request, queryset) -> None:
        for subscription in queryset:
            outbound.delete_subscription(actor=_actor(request), subscription=subscription)

    @admin.action(description="Enable selected subscriptions (clears the dead streak)")
    def enable(self, request, queryset) -> None:
        for subscription in queryset.filter(enabled=False):
            outbound.update_subscription(actor=_actor(request), subscription=subscription, enabled=True)


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = [
        "number",
        "started_at",
        "duration_ms",
        "response_status",
        "error_class",
        "error_message",
        "response_excerpt",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "event_type",
        "status",
        "attempt_count",
        "last_status_code",
        "target_url",
        "organization",
        "board",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event_type"]
    search_fields = ["target_url", "event_type"]
    list_select_related = ["organization", "board"]
    readonly_fields = [
        "organization",
        "board",
        "subscription",
        "agent",
        "target_url",
        "event_type",
        "payload",
        "status",
        "attempt_count",
        "next_attempt_at",
        "locked_until",
        "last_status_code",
        "created_at",
        "updated_at",
    ]
    inlines = [DeliveryAttemptInline]
    actions = ["replay"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # read-only; the replay action is the one way to act on a delivery

    @admin.action(description="Replay selected dead or failed deliveries")
    def replay(self, request, queryset) -> None:
        ids = outbound.replay_deliveries(
            deliveries=queryset.filter(status__in=[DeliveryStatus.DEAD, DeliveryStatus.FAILED]),
            actor=_actor(request),
        )
        self.message_user(request, f"Replaying {len(ids)} deliveries (disabled subscriptions are skipped).")
