"""Admin for alert rules and incidents: read-only, for looking things up across organizations.

Rules are written on the pages and the API (alerts.services validates parameters and logs each
change); incidents change only through evaluation, acknowledge and snooze.
"""

from __future__ import annotations

from django.contrib import admin

from alerts.models import AlertRule, Incident, IncidentEntry


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AlertRule)
class AlertRuleAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "organization", "board", "condition", "cooldown_minutes", "enabled"]
    list_filter = ["condition", "enabled"]
    search_fields = ["name"]
    list_select_related = ["organization", "board"]


class IncidentEntryInline(admin.TabularInline):
    model = IncidentEntry
    extra = 0
    can_delete = False
    fields = ["created_at", "kind", "actor_label", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ["id", "rule", "subject_label", "state", "opened_at", "resolved_at"]
    list_filter = ["state"]
    search_fields = ["subject_label", "subject_key", "rule__name"]
    list_select_related = ["rule"]
    inlines = [IncidentEntryInline]
