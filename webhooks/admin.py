"""Admin for inbound webhooks and payloads; the outbound side lives in deliveries.admin.

Secrets are never displayed and their ciphertexts are not even fields here; new secrets are
issued on the webhook pages or the API, where they are shown once. Changes go through the
services so they land in the activity log like any other.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models.functions import Length

from core.actors import Actor
from infra.exceptions import DomainError
from webhooks import services
from webhooks.models import BoardWebhook, WebhookPayload


def _actor(request) -> Actor:
    # Django admin is for staff; superusers act as the system when they hold no membership.
    return Actor.system() if request.user.is_superuser else Actor.for_user(request.user)


@admin.register(BoardWebhook)
class BoardWebhookAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "description",
        "board",
        "enabled",
        "signed",
        "signature_header",
        "target_agent",
        "creates_task",
        "created_at",
    ]
    list_filter = ["enabled", "creates_task"]
    search_fields = ["description", "board__name"]
    list_select_related = ["board", "target_agent"]
    fields = [
        "board",
        "description",
        "enabled",
        "signed",
        "signature_header",
        "target_agent",
        "creates_task",
        "task_title_template",
        "previous_secret_expires_at",
        "created_by",
        "created_at",
    ]
    readonly_fields = ["board", "signed", "previous_secret_expires_at", "created_by", "created_at"]
    actions = ["enable", "disable"]

    @admin.display(boolean=True)
    def signed(self, webhook: BoardWebhook) -> bool:
        return bool(webhook.secret_ciphertext)

    def has_add_permission(self, request) -> bool:
        return False  # created on the webhook pages or the API, which show the secret once

    def save_model(self, request, obj: BoardWebhook, form, change: bool) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            services.update_webhook(webhook=obj, actor=_actor(request), **changes)
        except DomainError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)

    def delete_model(self, request, obj: BoardWebhook) -> None:
        services.delete_webhook(webhook=obj, actor=_actor(request))

    def delete_queryset(self, request, queryset) -> None:
        for webhook in queryset:
            services.delete_webhook(webhook=webhook, actor=_actor(request))

    @admin.action(description="Enable selected webhooks")
    def enable(self, request, queryset) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable selected webhooks (senders get 410)")
    def disable(self, request, queryset) -> None:
        self._set_enabled(request, queryset, False)

    def _set_enabled(self, request, queryset, enabled: bool) -> None:
        for webhook in queryset:
            try:
                services.set_webhook_enabled(webhook=webhook, actor=_actor(request), enabled=enabled)
            except DomainError as exc:
                self.message_user(request, f"{webhook}: {exc.message}", level=messages.ERROR)


@admin.register(WebhookPayload)
class WebhookPayloadAdmin(admin.ModelAdmin):
    """Read-only: payloads are the senders' record."""

    list_display = [
        "id",
        "webhook",
        "board",
        "received_at",
        "content_type",
        "size",
        "json_invalid",
        "delivery_id",
        "source_ip",
    ]
    list_filter = ["json_invalid", "received_at"]
    search_fields = ["delivery_id"]
    list_select_related = ["webhook", "board"]
    date_hierarchy = "received_at"
    exclude = ["body"]
    readonly_fields = [
        "webhook",
        "board",
        "received_at",
        "content_type",
        "size",
        "json_invalid",
        "delivery_id",
        "source_ip",
        "headers",
        "payload",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("body").annotate(size=Length("body"))

    @admin.display(ordering="size")
    def size(self, payload: WebhookPayload) -> int:
        return payload.size

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
