"""Response shapes of the metrics API (read-only; they document the schema)."""

from __future__ import annotations

from rest_framework import serializers

from overview.metrics import Period


def period_data(period: Period) -> dict:
    return {"days": period.days, "start": period.start, "end": period.end}


class PeriodSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    start = serializers.DateTimeField(help_text="Inclusive, midnight UTC.")
    end = serializers.DateTimeField(help_text="Exclusive, midnight UTC after today.")


class KpiSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    value = serializers.FloatField(
        allow_null=True, help_text="Null when nothing was measured (no done task)."
    )
    previous = serializers.FloatField(allow_null=True, help_text="The same figure over the period before.")
    change = serializers.FloatField(allow_null=True)
    unit = serializers.ChoiceField(choices=["", "per_day", "seconds", "ratio"])
    higher_is_better = serializers.BooleanField()


class KpiReportSerializer(serializers.Serializer):
    organization = serializers.IntegerField()
    boards = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    period = PeriodSerializer()
    previous_period = PeriodSerializer()
    kpis = KpiSerializer(many=True)
    wip = serializers.DictField(child=serializers.IntegerField(), help_text="Open tasks per column now.")


class ChartSeriesSerializer(serializers.Serializer):
    label = serializers.CharField()
    values = serializers.ListField(child=serializers.FloatField())


class ChartSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    kind = serializers.ChoiceField(choices=["bars", "lines", "area", "histogram"])
    stacked = serializers.BooleanField()
    x = serializers.ListField(child=serializers.CharField(), help_text="Day (YYYY-MM-DD) or bucket labels.")
    x_label = serializers.CharField()
    y_label = serializers.CharField()
    series = ChartSeriesSerializer(many=True)


class ChartReportSerializer(serializers.Serializer):
    period = PeriodSerializer()
    charts = ChartSerializer(many=True)


class ClaimedTaskSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    title = serializers.CharField()
    status = serializers.CharField()
    board_id = serializers.IntegerField()


class FleetAgentSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    presence = serializers.CharField(source="live_presence")
    last_seen_at = serializers.DateTimeField(allow_null=True)
    claimed_count = serializers.IntegerField()
    claimed_preview = ClaimedTaskSerializer(many=True)
    dead_deliveries = serializers.IntegerField()
    failing_webhooks = serializers.IntegerField()


class AttentionItemSerializer(serializers.Serializer):
    label = serializers.CharField()
    detail = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True, required=False)
    url = serializers.CharField(help_text="The page where it is fixed.")


class AttentionGroupSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    total = serializers.IntegerField()
    items = AttentionItemSerializer(many=True)


class FleetReportSerializer(serializers.Serializer):
    agents = FleetAgentSerializer(many=True)
    attention = AttentionGroupSerializer(many=True)
