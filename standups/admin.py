"""Admin for standups: read-only, for looking things up across organizations.

Standups are posted by the beat task (standups.services); settings and opt-ins change on the
pages and the API, which validate and log each change.
"""

from __future__ import annotations

from django.contrib import admin

from standups.models import Standup, StandupEmailOptIn, StandupSettings


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Standup)
class StandupAdmin(ReadOnlyAdmin):
    list_display = ["id", "date", "organization", "board", "quiet", "email_count", "created_at"]
    list_filter = ["quiet", "date"]
    list_select_related = ["organization", "board"]
    date_hierarchy = "date"


@admin.register(StandupSettings)
class StandupSettingsAdmin(ReadOnlyAdmin):
    list_display = ["organization", "enabled", "hour", "time_zone", "post_to_chat", "subscription"]
    list_select_related = ["organization", "subscription"]


@admin.register(StandupEmailOptIn)
class StandupEmailOptInAdmin(ReadOnlyAdmin):
    list_display = ["user", "organization", "board", "created_at"]
    list_select_related = ["user", "organization", "board"]
