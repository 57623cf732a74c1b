from django.contrib import admin

from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("recipient", "kind", "title", "created_at", "read_at")
    list_filter = ("kind",)
    raw_id_fields = ("recipient", "organization", "board")

    def has_add_permission(self, request) -> bool:
        return False  # notifications come from notify(), never typed by hand
