"""The activity log in admin: read-only (the log is append-only; rows are written by record_activity)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from activity.models import ActivityEvent


@admin.register(ActivityEvent)
class ActivityEventAdmin(admin.ModelAdmin):
    """The audit trail: viewable, never added, changed or deleted here."""

    list_display = [
        "id",
        "created_at",
        "organization",
        "board",
        "actor_kind",
        "actor_label",
        "verb",
        "target_type",
        "target_id",
    ]
    list_filter = ["actor_kind", "verb", "organization"]
    search_fields = ["verb", "actor_label", "target_id", "request_id"]
    date_hierarchy = "created_at"
    list_select_related = ["organization", "board"]
    show_full_result_count = False  # counting a large log on every page is slow

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
