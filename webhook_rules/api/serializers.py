"""Serializers of the rules API: rules, the mapping tables, presets, dry runs and outcomes."""

from __future__ import annotations

from rest_framework import serializers

from webhook_rules import presets
from webhook_rules.models import (
    RULE_EDITABLE_FIELDS,
    PayloadRuleOutcome,
    RuleAction,
    RuleMappings,
    WebhookRule,
)


class WebhookRuleSerializer(serializers.ModelSerializer):
    """Expressions and templates are checked by the service when saved; a bad one is a 400
    `invalid_expression` whose message names the field and the position."""

    action = serializers.ChoiceField(choices=RuleAction.choices)

    class Meta:
        model = WebhookRule
        fields = ["id", "webhook", *RULE_EDITABLE_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["id", "webhook", "created_at", "updated_at"]


class RuleMappingsSerializer(serializers.ModelSerializer):
    labels = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=40)),
        required=False,
        help_text='{"bug": {"tag": "bug", "priority": "high"}}',
    )
    logins = serializers.DictField(
        child=serializers.CharField(max_length=200),
        required=False,
        help_text='{"octocat": "user:alice", "ci-bot": "agent:release-bot"}',
    )

    class Meta:
        model = RuleMappings
        fields = ["labels", "logins", "updated_at"]
        read_only_fields = ["updated_at"]


class ApplyPresetSerializer(serializers.Serializer):
    preset = serializers.ChoiceField(choices=[(p.key, p.label) for p in presets.PRESETS.values()])


class PresetSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField()
    rules = serializers.SerializerMethodField()

    def get_rules(self, preset: presets.Preset) -> int:
        """How many rules applying it adds."""
        return len(preset.rules)


class DryRunRequestSerializer(serializers.Serializer):
    payload = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="A stored payload's id.")


class DryRunRuleSerializer(serializers.Serializer):
    rule_id = serializers.IntegerField()
    rule = serializers.CharField()
    matched = serializers.BooleanField()
    reason = serializers.CharField()


class DryRunSerializer(serializers.Serializer):
    payload_id = serializers.IntegerField()
    rules = DryRunRuleSerializer(many=True)
    matched = serializers.DictField(allow_null=True, help_text="The matching rule's rendered plan.")


class PayloadRuleOutcomeSerializer(serializers.ModelSerializer):
    class Meta:
        model = PayloadRuleOutcome
        fields = [
            "id",
            "payload",
            "rule",
            "rule_name",
            "action",
            "status",
            "task",
            "external_id",
            "message",
            "detail",
            "attempt",
            "created_at",
        ]
        read_only_fields = fields
