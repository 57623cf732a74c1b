"""Prices are edited here (and by organization admins in the app); reports and the rollup are
read-only history, written only by usage.services."""

from django.contrib import admin

from usage.models import ModelPrice, UsageDaily, UsageReport


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = (
        "model",
        "organization",
        "effective_from",
        "input_per_million",
        "output_per_million",
        "cached_per_million",
    )
    list_filter = ("organization",)
    search_fields = ("model",)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(UsageReport)
class UsageReportAdmin(ReadOnlyAdmin):
    list_display = (
        "occurred_at",
        "agent",
        "model",
        "input_tokens",
        "output_tokens",
        "cost_micros",
        "cost_source",
    )
    list_filter = ("cost_source", "model_known")
    search_fields = ("model", "idempotency_key")
    list_select_related = ("agent",)
    show_full_result_count = False


@admin.register(UsageDaily)
class UsageDailyAdmin(ReadOnlyAdmin):
    list_display = ("day", "agent", "model", "board_key", "task_key", "reports", "cost_micros")
    list_select_related = ("agent",)
    show_full_result_count = False
