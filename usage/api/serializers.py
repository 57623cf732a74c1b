"""Usage reports in (agents) and totals out (people). Limits are enforced here, field by field."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from usage.models import GROUP_BY_FIELDS, MICROS_PER_DOLLAR
from usage.services import RecordedUsage

MAX_REPORTS_PER_BATCH = 100
# One report above these is a bug in the agent, not usage: refused rather than billed.
MAX_TOKENS_PER_REPORT = 100_000_000
MAX_COST_PER_REPORT = Decimal("10000")
# Reports are for recent usage; older ones would rewrite closed days (and budgets).
MAX_REPORT_AGE = timedelta(days=31)
MAX_CLOCK_SKEW = timedelta(minutes=5)
IDEMPOTENCY_KEY_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,100}$")
MAX_ID = 2**63 - 1


class UsageItemSerializer(serializers.Serializer):
    model = serializers.CharField(max_length=100, trim_whitespace=True)
    input_tokens = serializers.IntegerField(min_value=0, max_value=MAX_TOKENS_PER_REPORT, default=0)
    output_tokens = serializers.IntegerField(min_value=0, max_value=MAX_TOKENS_PER_REPORT, default=0)
    cached_tokens = serializers.IntegerField(min_value=0, max_value=MAX_TOKENS_PER_REPORT, default=0)
    cost = serializers.DecimalField(
        max_digits=12,
        decimal_places=6,
        min_value=Decimal(0),
        max_value=MAX_COST_PER_REPORT,
        required=False,
        allow_null=True,
        default=None,
        help_text="USD, when the agent knows its cost",
    )
    task = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None
    )
    occurred_at = serializers.DateTimeField(required=False, default=None, allow_null=True)
    idempotency_key = serializers.CharField(
        max_length=100, help_text="Unique per agent; a retried report with the same key is counted once"
    )

    def validate_idempotency_key(self, value: str) -> str:
        if not IDEMPOTENCY_KEY_RE.match(value):
            raise serializers.ValidationError("Use 1-100 characters of A-Z a-z 0-9 . _ : -")
        return value

    def validate_occurred_at(self, value):
        now = timezone.now()
        if value is None:
            return now
        if value > now + MAX_CLOCK_SKEW:
            raise serializers.ValidationError("This time is in the future.")
        if value < now - MAX_REPORT_AGE:
            raise serializers.ValidationError(f"Reports older than {MAX_REPORT_AGE.days} days are refused.")
        return value

    def validate(self, attrs):
        if not (attrs["input_tokens"] or attrs["output_tokens"] or attrs["cached_tokens"] or attrs["cost"]):
            raise serializers.ValidationError("A report needs tokens or a cost.")
        return attrs


class UsageBatchSerializer(serializers.Serializer):
    reports = UsageItemSerializer(many=True, max_length=MAX_REPORTS_PER_BATCH, min_length=1)


class RecordedUsageSerializer(serializers.Serializer):
    idempotency_key = serializers.CharField(source="report.idempotency_key")
    id = serializers.IntegerField(source="report.pk")
    duplicate = serializers.BooleanField()
    model_known = serializers.BooleanField(source="report.model_known")
    cost = serializers.SerializerMethodField()
    cost_source = serializers.CharField(source="report.cost_source")

    def get_cost(self, recorded) -> str | None:
        micros = recorded.report.cost_micros
        return None if micros is None else str(Decimal(micros) / MICROS_PER_DOLLAR)


class UsageQuerySerializer(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=sorted(GROUP_BY_FIELDS), default="day")
    # `from` is a keyword: the query parameter is mapped in UsageTotalsView.
    first = serializers.DateField(required=False, allow_null=True, default=None)
    last = serializers.DateField(required=False, allow_null=True, default=None)
    organization = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID, default=None
    )

    def validate(self, attrs):
        if attrs["first"] and attrs["last"] and attrs["first"] > attrs["last"]:
            raise serializers.ValidationError({"to": ["`to` is before `from`."]})
        if attrs["first"] and attrs["last"] and (attrs["last"] - attrs["first"]).days > 366:
            raise serializers.ValidationError({"to": ["At most 366 days at once."]})
        return attrs


class UsageTotalSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="agent id, model, board id, task id or YYYY-MM-DD (0/empty: none)")
    label = serializers.CharField()
    reports = serializers.IntegerField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    cached_tokens = serializers.IntegerField()
    cost = serializers.CharField(help_text="USD; a lower bound when unpriced_reports > 0")
    unpriced_reports = serializers.IntegerField()


def usage_result(recorded: list[RecordedUsage]) -> dict:
    """The answer to a batch (also inside a heartbeat's answer)."""
    duplicates = sum(1 for entry in recorded if entry.duplicate)
    return {
        "accepted": len(recorded) - duplicates,
        "duplicates": duplicates,
        "reports": RecordedUsageSerializer(recorded, many=True).data,
    }


class UsageBatchResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    reports = RecordedUsageSerializer(many=True)


def usage_totals_schema():
    """The totals response for the schema (its `from`/`to` keys are Python keywords)."""
    return inline_serializer(
        "UsageTotals",
        fields={
            "organization": serializers.IntegerField(),
            "group_by": serializers.CharField(),
            "from": serializers.DateField(allow_null=True),
            "to": serializers.DateField(allow_null=True),
            "currency": serializers.CharField(),
            "truncated": serializers.BooleanField(),
            "results": UsageTotalSerializer(many=True),
        },
    )
