"""Serializers for managing inbound webhooks and reading their payloads (human API).

A secret appears only in the response that created or rotated it (`secret`), never in a read;
the ciphertext never leaves the server.
"""

from __future__ import annotations

import base64

from rest_framework import serializers

from webhooks import services
from webhooks.models import BoardWebhook, WebhookPayload


class _VisibleRelatedField(serializers.PrimaryKeyRelatedField):
    """A related id in the caller's organizations. The queryset is the one the model's foreign
    key gives (board, target agent), narrowed by its organization scoping (`visible_to`)."""

    def get_queryset(self):
        return super().get_queryset().visible_to(self.context["request"].user)


class WebhookSerializer(serializers.ModelSerializer):
    # board and target_agent are built from BoardWebhook's foreign keys with this field class.
    serializer_related_field = _VisibleRelatedField
    url = serializers.SerializerMethodField()
    signed = serializers.SerializerMethodField()
    grace_until = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = BoardWebhook
        fields = [
            "id",
            "board",
            "description",
            "enabled",
            "signed",
            "signature_header",
            "target_agent",
            "creates_task",
            "task_title_template",
            "url",
            "grace_until",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def get_url(self, webhook: BoardWebhook) -> str:
        return services.webhook_url(webhook)

    def get_signed(self, webhook: BoardWebhook) -> bool:
        return bool(webhook.secret_ciphertext)

    def get_grace_until(self, webhook: BoardWebhook) -> str | None:
        """When the previous secret stops verifying (null when there is none)."""
        expires = webhook.previous_secret_expires_at
        return expires.isoformat() if expires and webhook.previous_secret_ciphertext else None


class WebhookCreateSerializer(WebhookSerializer):
    """Creating: optionally bring your own secret, or explicitly choose unsigned."""

    secret = serializers.CharField(
        required=False, write_only=True, min_length=16, max_length=256, trim_whitespace=False
    )
    unsigned = serializers.BooleanField(required=False, default=False, write_only=True)

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret", "unsigned"]

    def validate(self, attrs):
        if attrs.get("unsigned") and attrs.get("secret"):
            raise serializers.ValidationError({"secret": ["An unsigned webhook cannot have a secret."]})
        return attrs


class WebhookUpdateSerializer(WebhookSerializer):
    board = serializers.PrimaryKeyRelatedField(read_only=True)


class RotateSecretSerializer(serializers.Serializer):
    grace_seconds = serializers.IntegerField(
        min_value=0, max_value=services.MAX_ROTATION_GRACE_SECONDS, default=0
    )
    secret = serializers.CharField(required=False, min_length=16, max_length=256, trim_whitespace=False)


class PayloadListSerializer(serializers.ModelSerializer):
    size = serializers.IntegerField(read_only=True)
    status = serializers.SerializerMethodField()

    class Meta:
        model = WebhookPayload
        fields = [
            "id",
            "webhook",
            "board",
            "received_at",
            "content_type",
            "delivery_id",
            "source_ip",
            "size",
            "json_invalid",
            "status",
        ]

    def get_status(self, payload: WebhookPayload) -> str:
        return payload_status(payload)


class PayloadDetailSerializer(PayloadListSerializer):
    body_text = serializers.SerializerMethodField()
    body_base64 = serializers.SerializerMethodField()

    class Meta(PayloadListSerializer.Meta):
        fields = [*PayloadListSerializer.Meta.fields, "headers", "payload", "body_text", "body_base64"]

    def get_body_text(self, payload: WebhookPayload) -> str | None:
        """The body as UTF-8 text; null when it is binary (see body_base64)."""
        try:
            return bytes(payload.body).decode("utf-8")
        except UnicodeDecodeError:
            return None

    def get_body_base64(self, payload: WebhookPayload) -> str:
        return base64.b64encode(bytes(payload.body)).decode()


def payload_status(payload: WebhookPayload) -> str:
    """`json` parsed, `invalid_json` a JSON content type that did not parse, `raw` anything else."""
    if payload.json_invalid:
        return "invalid_json"
    if services.is_json_content_type(payload.content_type):
        return "json"
    return "raw"
