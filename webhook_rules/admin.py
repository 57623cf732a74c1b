"""Admin for webhook rules: read and toggle rules, read outcomes. Edits go through the services."""

from __future__ import annotations

from django.contrib import admin, messages

from core.actors import Actor
from infra.exceptions import DomainError
from webhook_rules import services
from webhook_rules.models import PayloadRuleOutcome, WebhookRule

RULE_FIELDS = sorted(services.RULE_FIELDS)


def _actor(request) -> Actor:
    return Actor.system() if request.user.is_superuser else Actor.for_user(request.user)


@admin.register(WebhookRule)
class WebhookRuleAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "webhook", "position", "enabled", "events", "action"]
    list_filter = ["enabled", "action"]
    search_fields = ["name", "webhook__description"]
    list_select_related = ["webhook"]
    readonly_fields = ["webhook", "created_at", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return False  # added on the rule editor or the API, where presets live too

    def save_model(self, request, obj: WebhookRule, form, change: bool) -> None:
        changes = {
            name: form.cleaned_data[name] for name in form.changed_data if name in services.RULE_FIELDS
        }
        try:
            services.update_rule(rule=obj, actor=_actor(request), **changes)
        except DomainError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)

    def delete_model(self, request, obj: WebhookRule) -> None:
        services.delete_rule(rule=obj, actor=_actor(request))

    def delete_queryset(self, request, queryset) -> None:
        for rule in queryset.select_related("webhook__board"):
            services.delete_rule(rule=rule, actor=_actor(request))


@admin.register(PayloadRuleOutcome)
class PayloadRuleOutcomeAdmin(admin.ModelAdmin):
    list_display = ["id", "payload", "rule_name", "action", "status", "task", "attempt", "created_at"]
    list_filter = ["status", "action"]
    search_fields = ["rule_name", "external_id", "message"]
    list_select_related = ["task"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the record of what happened
