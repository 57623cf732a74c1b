"""Backups in admin: read-only history (rows are written only by ops.backups)."""

from django.contrib import admin

from ops.models import Backup


@admin.register(Backup)
class BackupAdmin(admin.ModelAdmin):
    list_display = ("started_at", "trigger", "status", "file_name", "size_bytes", "duration_ms", "pruned_at")
    list_filter = ("status", "trigger", "engine")
    search_fields = ("file_name", "sha256")
    date_hierarchy = "started_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
