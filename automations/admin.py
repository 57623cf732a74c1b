"""Admin: read-only views of automations and their outcomes. Changes go through the pages and the
API (automations.services): an admin form would skip the validation and the events."""

from __future__ import annotations

from django.contrib import admin

from automations.models import ActionOutcome, Automation, Schedule


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Schedule)
class ScheduleAdmin(ReadOnlyAdmin):
    list_display = ("name", "board", "cron", "time_zone", "enabled", "next_run_at", "last_run_at")
    list_filter = ("enabled",)


@admin.register(Automation)
class AutomationAdmin(ReadOnlyAdmin):
    list_display = ("name", "board", "trigger", "enabled", "updated_at")
    list_filter = ("trigger", "enabled")


@admin.register(ActionOutcome)
class ActionOutcomeAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "board", "source_kind", "source_name", "action", "status", "message")
    list_filter = ("source_kind", "status")
