"""Chat messages as the agent API returns them (and the body it accepts)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from chat.models import ChatMessage
from core.ids import MAX_ID


class ChatMessageSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    mentions = serializers.SerializerMethodField()
    pinned = serializers.SerializerMethodField()
    deleted = serializers.SerializerMethodField()

    class Meta:
        model = ChatMessage
        fields = [
            "id",
            "board",
            "task",
            "author",
            "body",
            "mentions",
            "mentions_here",
            "pinned",
            "pinned_at",
            "edited_at",
            "deleted",
            "created_at",
        ]
        read_only_fields = fields

    def get_author(self, message: ChatMessage) -> dict[str, Any]:
        kind = "agent" if message.author_agent_id else "user"
        return {
            "kind": kind,
            "label": message.author_label,
            "user_id": message.author_user_id,
            "agent_id": message.author_agent_id,
        }

    def get_mentions(self, message: ChatMessage) -> list[dict[str, Any]]:
        return [
            {"kind": m.kind, "name": m.name, "user_id": m.user_id, "agent_id": m.agent_id}
            for m in message.mentions.all()
        ]

    def get_pinned(self, message: ChatMessage) -> bool:
        return message.pinned_at is not None

    def get_deleted(self, message: ChatMessage) -> bool:
        return message.deleted_at is not None


class ChatPostSerializer(serializers.Serializer):
    body = serializers.CharField(trim_whitespace=True, allow_blank=False)
    task = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_ID)

    def validate_body(self, value: str) -> str:
        limit = settings.CHAT_MESSAGE_MAX_CHARS
        if len(value) > limit:
            raise serializers.ValidationError(f"At most {limit} characters.", code="body_too_long")
        return value


class ChatQuerySerializer(serializers.Serializer):
    """GET parameters: `since` (catch-up after a message id), `task` (a task's thread instead of
    the board's chat), `pinned=true` (the board's memory), `mentions=me` (what asks for me)."""

    since = serializers.IntegerField(required=False, min_value=0, max_value=MAX_ID)
    task = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    pinned = serializers.BooleanField(required=False, default=False)
    mentions = serializers.ChoiceField(choices=["me"], required=False)
