"""Serializers of the alerts API: the condition catalogue, rules, incidents and their timelines."""

from __future__ import annotations

from rest_framework import serializers

from alerts.models import AlertRule, Incident, IncidentEntry
from alerts.services import MAX_EMAIL_RECIPIENTS, MAX_SNOOZE_MINUTES
from boards.models import Board
from core.models import Organization
from deliveries.models import Subscription


class ConditionParamSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.CharField()
    default = serializers.JSONField(allow_null=True)
    minimum = serializers.IntegerField(allow_null=True)
    maximum = serializers.IntegerField(allow_null=True)
    choices = serializers.SerializerMethodField()
    required = serializers.BooleanField()

    def get_choices(self, param) -> list[list]:
        return [list(choice) for choice in param.choices]


class ConditionSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField()
    active = serializers.BooleanField()
    inactive_reason = serializers.CharField()
    event_triggered = serializers.SerializerMethodField()
    params = ConditionParamSerializer(many=True)

    def get_event_triggered(self, condition) -> bool:
        return bool(condition.trigger_verbs) or condition.key == "events_matching"


class AlertRuleSerializer(serializers.ModelSerializer):
    organization = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all())
    board = serializers.PrimaryKeyRelatedField(queryset=Board.objects.all(), required=False, allow_null=True)
    subscription = serializers.PrimaryKeyRelatedField(
        queryset=Subscription.objects.all(), required=False, allow_null=True
    )
    params = serializers.DictField(required=False)
    email_recipients = serializers.ListField(
        child=serializers.CharField(max_length=254), required=False, max_length=MAX_EMAIL_RECIPIENTS
    )
    cooldown_minutes = serializers.IntegerField(min_value=0, max_value=7 * 24 * 60, required=False)

    class Meta:
        model = AlertRule
        fields = [
            "id",
            "organization",
            "board",
            "name",
            "condition",
            "params",
            "cooldown_minutes",
            "enabled",
            "notify_in_app",
            "email_recipients",
            "subscription",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class AlertRuleUpdateSerializer(AlertRuleSerializer):
    class Meta(AlertRuleSerializer.Meta):
        read_only_fields = [*AlertRuleSerializer.Meta.read_only_fields, "organization"]


class PreviewRequestSerializer(AlertRuleSerializer):
    """An unsaved rule: the editor asks what it would have done over the last 7 days."""

    name = serializers.CharField(required=False, default="preview")

    class Meta(AlertRuleSerializer.Meta):
        fields = ["organization", "board", "name", "condition", "params", "cooldown_minutes"]


class PreviewSerializer(serializers.Serializer):
    fired = serializers.IntegerField()
    suppressed = serializers.IntegerField(help_text="Breaches the cooldown would have kept quiet.")
    subjects = serializers.IntegerField()
    days = serializers.IntegerField()
    note = serializers.CharField()


class TestChannelSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=["in_app", "email", "webhook"])


class IncidentEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = IncidentEntry
        fields = ["id", "kind", "actor_label", "reason", "detail", "created_at"]


class IncidentSerializer(serializers.ModelSerializer):
    rule_name = serializers.CharField(source="rule.name", read_only=True)
    acknowledged_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "rule",
            "rule_name",
            "organization",
            "board",
            "subject_key",
            "subject_label",
            "state",
            "summary",
            "detail",
            "opened_at",
            "acknowledged_at",
            "acknowledged_by",
            "snoozed_until",
            "resolved_at",
        ]
        read_only_fields = fields


class IncidentDetailSerializer(IncidentSerializer):
    entries = IncidentEntrySerializer(many=True, read_only=True)

    class Meta(IncidentSerializer.Meta):
        fields = [*IncidentSerializer.Meta.fields, "entries"]
        read_only_fields = fields


class AcknowledgeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class SnoozeSerializer(AcknowledgeSerializer):
    minutes = serializers.IntegerField(min_value=1, max_value=MAX_SNOOZE_MINUTES)
