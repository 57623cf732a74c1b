"""Serializers of the outbound side: subscriptions (secret shown once), deliveries, attempts."""

from __future__ import annotations

from rest_framework import serializers

from boards.models import Board
from core.models import Organization
from deliveries import outbound
from deliveries.models import Delivery, DeliveryAttempt, DeliveryStatus, Subscription

MAX_EVENT_TYPES = 50


class SubscriptionSerializer(serializers.ModelSerializer):
    organization = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all(), required=False)
    board = serializers.PrimaryKeyRelatedField(queryset=Board.objects.all(), required=False, allow_null=True)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=MAX_EVENT_TYPES, required=False
    )

    class Meta:
        model = Subscription
        fields = [
            "id",
            "organization",
            "board",
            "description",
            "target_url",
            "event_types",
            "enabled",
            "consecutive_dead",
            "disabled_reason",
            "created_at",
        ]
        read_only_fields = ["consecutive_dead", "disabled_reason", "created_at"]

    def validate_target_url(self, value: str) -> str:
        try:
            outbound.validate_target_url(value)
        except outbound.TargetRefused as exc:
            raise serializers.ValidationError(exc.message) from None
        return value

    def validate_event_types(self, value: list[str]) -> list[str]:
        for verb in value:
            if not outbound.event_is_deliverable(verb):
                raise serializers.ValidationError(f"{verb!r} events are never delivered.")
            if not outbound.event_is_subscribable(verb):
                raise serializers.ValidationError(
                    f"{verb!r} is not an event type; GET /api/v1/event-types/ lists them."
                )
        return sorted(set(value))

    def validate(self, attrs: dict) -> dict:
        board = attrs.get("board")
        organization = attrs.get("organization") or (self.instance.organization if self.instance else None)
        if organization is None and board is not None:
            organization = attrs["organization"] = board.organization
        if organization is None:
            raise serializers.ValidationError({"organization": ["Give an organization or a board."]})
        if board is not None and board.organization_id != organization.pk:
            raise serializers.ValidationError({"board": ["The board is not in this organization."]})
        return attrs


class SubscriptionUpdateSerializer(SubscriptionSerializer):
    class Meta(SubscriptionSerializer.Meta):
        read_only_fields = [*SubscriptionSerializer.Meta.read_only_fields, "organization"]


class SubscriptionCreatedSerializer(SubscriptionSerializer):
    """The creation (and rotation) response: the only time the secret is shown."""

    secret = serializers.CharField(read_only=True)

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = [
            "number",
            "started_at",
            "duration_ms",
            "response_status",
            "error_class",
            "error_message",
            "response_excerpt",
        ]


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = [
            "id",
            "organization",
            "board",
            "subscription",
            "agent",
            "target_url",
            "event_type",
            "status",
            "attempt_count",
            "next_attempt_at",
            "last_status_code",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DeliveryDetailSerializer(DeliverySerializer):
    attempts = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "payload", "attempts"]
        read_only_fields = fields


class BulkReplaySerializer(serializers.Serializer):
    """Either explicit ids, or every dead/failed delivery matching the filters (up to the limit)."""

    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=1000, required=False)
    status = serializers.ChoiceField(choices=[DeliveryStatus.DEAD, DeliveryStatus.FAILED], required=False)
    board = serializers.IntegerField(min_value=1, required=False)
    subscription = serializers.IntegerField(min_value=1, required=False)

    def validate(self, attrs: dict) -> dict:
        if not attrs:
            raise serializers.ValidationError(
                {"ids": ["Give ids, or a status, board or subscription to replay."]}
            )
        return attrs


class AgentSigningSecretRequestSerializer(serializers.Serializer):
    agent = serializers.IntegerField(min_value=1)
