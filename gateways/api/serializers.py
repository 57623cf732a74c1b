"""Serializers of the gateways API. The token is write-only: it is never returned, not even once."""

from __future__ import annotations

from rest_framework import serializers

from agents.models import Agent
from core.models import Organization
from gateways.models import Gateway, GatewayAgent, GatewayApproval, GatewayCommand
from gateways.services import MAX_IDEMPOTENCY_KEY_LENGTH, MAX_NAME_LENGTH, MAX_TOKEN_LENGTH, MAX_URL_LENGTH

# What the supervisor records and the stamps: shown, never written through the API.
RECORDED_FIELDS = [
    "status",
    "server_version",
    "protocol",
    "scopes",
    "last_error_code",
    "last_error",
    "latency_ms",
    "last_seen_at",
    "connected_at",
    "created_at",
    "updated_at",
]


class GatewaySerializer(serializers.ModelSerializer):
    organization = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.all())
    token = serializers.CharField(write_only=True, max_length=MAX_TOKEN_LENGTH, trim_whitespace=True)
    device_identity = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Sign the handshake with an Ed25519 key Mission Control keeps.",
    )
    has_device_identity = serializers.SerializerMethodField()

    class Meta:
        model = Gateway
        fields = [
            "id",
            "organization",
            "name",
            "url",
            "token",
            "device_identity",
            "has_device_identity",
            "device_id",
            "enabled",
            "read_only",
            *RECORDED_FIELDS,
        ]
        read_only_fields = ["device_id", *RECORDED_FIELDS]
        extra_kwargs = {"name": {"max_length": MAX_NAME_LENGTH}, "url": {"max_length": MAX_URL_LENGTH}}

    def get_has_device_identity(self, gateway: Gateway) -> bool:
        return bool(gateway.device_id)


class GatewayUpdateSerializer(GatewaySerializer):
    token = serializers.CharField(write_only=True, max_length=MAX_TOKEN_LENGTH, required=False)
    device_identity = serializers.BooleanField(required=False)

    class Meta(GatewaySerializer.Meta):
        read_only_fields = [*GatewaySerializer.Meta.read_only_fields, "organization"]


class GatewayCommandSerializer(serializers.ModelSerializer):
    class Meta:
        model = GatewayCommand
        fields = [
            "id",
            "gateway",
            "method",
            "params",
            "idempotency_key",
            "state",
            "result",
            "error_code",
            "error_message",
            "attempts",
            "created_at",
            "claimed_at",
            "finished_at",
        ]
        read_only_fields = fields


class GatewayCommandRequestSerializer(serializers.Serializer):
    method = serializers.CharField(max_length=64)
    params = serializers.JSONField(required=False, default=dict)
    idempotency_key = serializers.CharField(
        max_length=MAX_IDEMPOTENCY_KEY_LENGTH,
        required=False,
        allow_blank=True,
        help_text="Send the same key again to get the first command back instead of a second run.",
    )


class GatewayAgentSerializer(serializers.ModelSerializer):
    agent_name = serializers.CharField(source="agent.name", read_only=True, default=None)

    class Meta:
        model = GatewayAgent
        fields = [
            "id",
            "agent_key",
            "name",
            "workspace",
            "agent",
            "agent_name",
            "first_seen_at",
            "retired_at",
        ]
        read_only_fields = fields


class GatewayAgentLinkSerializer(serializers.Serializer):
    agent_key = serializers.CharField(max_length=100)
    agent = serializers.PrimaryKeyRelatedField(
        queryset=Agent.objects.all(), allow_null=True, help_text="A Mission Control agent; null unlinks."
    )


class GatewayApprovalSerializer(serializers.ModelSerializer):
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = GatewayApproval
        fields = [
            "id",
            "gateway",
            "approval_id",
            "agent_key",
            "session_key",
            "command",
            "state",
            "decision",
            "decided_by",
            "decided_at",
            "expires_at",
            "created_at",
        ]
        read_only_fields = fields


class ApprovalAnswerSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["allow-once", "deny"])
