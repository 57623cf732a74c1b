"""Serializers for the agent API (token auth) and the human API for managing agents.

Explicit fields everywhere; a token's digest and public id never leave the server, and the raw
token appears only in the response that created it.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from agents import presence
from agents.models import Agent, AgentToken
from agents.services import MAX_CAPABILITIES, MAX_CAPABILITY_LENGTH, MAX_GRACE_SECONDS, MAX_STATUS_TEXT
from boards.models import Board, Task, TaskPriority, TaskStatus
from core.ids import MAX_ID
from usage.api.serializers import MAX_REPORTS_PER_BATCH, UsageItemSerializer
from usage.services import UsageItem

# An agent as both APIs show it: the human API's AgentSerializer (which adds created_at) and the
# agent's own AgentMeSerializer (all read-only). One list, so the two cannot drift apart.
AGENT_FIELDS = (
    "id",
    "organization",
    "name",
    "description",
    "status",
    "boards",
    "is_board_lead",
    "callback_url",
    "capabilities",
    "last_seen_at",
    "presence",
    "status_text",
    "current_task",
)


# The presence both APIs compute from last_seen_at (agents.presence), never stored. (A comment, not
# a docstring: a serializer's docstring becomes its schema description.)
class AgentPresenceSerializer(serializers.ModelSerializer):
    presence = serializers.SerializerMethodField()

    def get_presence(self, agent: Agent) -> str:
        return presence.presence_for(agent.last_seen_at)


class AgentSerializer(AgentPresenceSerializer):
    boards = serializers.PrimaryKeyRelatedField(many=True, queryset=Board.objects.none(), required=False)
    capabilities = serializers.ListField(
        child=serializers.CharField(max_length=MAX_CAPABILITY_LENGTH),
        max_length=MAX_CAPABILITIES,
        required=False,
    )
    organization = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Agent
        fields = [*AGENT_FIELDS, "created_at"]
        read_only_fields = ["status", "last_seen_at", "status_text", "current_task", "created_at"]
        # The (organization, name) uniqueness is the service's: a clash is a 409, not a 400.
        validators: list = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        organization_id = self.context.get("organization_id")
        if organization_id is not None:
            # Only boards of the agent's organization can be chosen; others are "does not exist".
            self.fields["boards"].child_relation.queryset = Board.objects.filter(
                organization_id=organization_id
            )


class AgentCreateSerializer(AgentSerializer):
    organization = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="Needed only when you belong to several organizations.",
    )

    class Meta(AgentSerializer.Meta):
        pass


class AgentTokenSerializer(serializers.ModelSerializer):
    active = serializers.SerializerMethodField()

    class Meta:
        model = AgentToken
        fields = ["id", "agent", "name", "created_at", "last_used_at", "expires_at", "revoked_at", "active"]
        read_only_fields = fields

    def get_active(self, token: AgentToken) -> bool:
        if token.revoked_at is not None:
            return False
        return token.expires_at is None or token.expires_at > timezone.now()


class AgentTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80, required=False, default="default")
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate_expires_at(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("The expiry must be in the future.")
        return value


class AgentTokenRotateSerializer(serializers.Serializer):
    grace_seconds = serializers.IntegerField(min_value=0, max_value=MAX_GRACE_SECONDS, default=0)


class IssuedTokenSerializer(AgentTokenSerializer):
    """The one response that carries the raw token."""

    token = serializers.SerializerMethodField()

    class Meta(AgentTokenSerializer.Meta):
        fields = [*AgentTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields

    def get_token(self, _token: AgentToken) -> str:
        return self.context["raw_token"]


# --- the agent's own API ---------------------------------------------------------------------------


class AgentMeSerializer(AgentPresenceSerializer):
    boards = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    # A plain string in the schema: "" (the agent pulls) is not a URI.
    callback_url = serializers.CharField(read_only=True, help_text="Push URL; empty when the agent pulls.")

    class Meta:
        model = Agent
        fields = AGENT_FIELDS
        read_only_fields = fields


class AgentBoardSerializer(serializers.ModelSerializer):
    class Meta:
        model = Board
        fields = [
            "id",
            "organization",
            "name",
            "slug",
            "description",
            "archived",
            "require_approval_for_done",
            "require_comment_for_review",
            "agents_can_create_tasks",
        ]
        read_only_fields = fields


class AgentTaskSerializer(serializers.ModelSerializer):
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = Task
        fields = [
            "id",
            "board",
            "title",
            "description",
            "status",
            "priority",
            "assignee_agent",
            "assignee_user",
            "due_date",
            "tags",
            "position",
            "progress_note",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AgentTaskCreateSerializer(serializers.Serializer):
    board = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=20000, required=False, default="", allow_blank=True)
    priority = serializers.ChoiceField(choices=TaskPriority.choices, default=TaskPriority.MEDIUM)
    status = serializers.ChoiceField(choices=[TaskStatus.INBOX, TaskStatus.BLOCKED], default=TaskStatus.INBOX)
    due_date = serializers.DateField(required=False, allow_null=True, default=None)
    tags = serializers.ListField(child=serializers.CharField(max_length=40), required=False, default=list)


class AgentTaskUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)
    progress_note = serializers.CharField(max_length=500, required=False, allow_blank=True)
    note = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="Recorded with a status change.",
    )

    def validate(self, attrs):
        if "status" not in attrs and "progress_note" not in attrs:
            raise serializers.ValidationError("Send a status, a progress_note, or both.")
        return attrs


class AgentCommentSerializer(serializers.Serializer):
    """A comment: a message in the task's conversation, under its one limit
    (CHAT_MESSAGE_MAX_CHARS, 20000 by default, the comments' limit before they joined it)."""

    body = serializers.CharField()

    def validate_body(self, value: str) -> str:
        limit = settings.CHAT_MESSAGE_MAX_CHARS
        if len(value) > limit:
            raise serializers.ValidationError(f"Ensure this field has no more than {limit} characters.")
        return value


class CommentOutSerializer(serializers.Serializer):
    """A comment (a message of the task's thread) in the shape this API always answered."""

    id = serializers.IntegerField()
    task = serializers.IntegerField(source="task_id")
    body = serializers.CharField()
    author_agent = serializers.IntegerField(source="author_agent_id", allow_null=True)
    created_at = serializers.DateTimeField()


class HeartbeatSerializer(serializers.Serializer):
    status_text = serializers.CharField(
        max_length=MAX_STATUS_TEXT, required=False, allow_blank=True, default=""
    )
    current_task = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=MAX_ID
    )
    # Usage reports riding along (docs/usage.md): the same items and limits as POST /agent/usage.
    usage = UsageItemSerializer(many=True, required=False, max_length=MAX_REPORTS_PER_BATCH, default=list)


class WebhookPayloadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    webhook = serializers.IntegerField(source="webhook_id")
    board = serializers.IntegerField(source="board_id")
    payload = serializers.JSONField()
    body = serializers.SerializerMethodField()
    json_invalid = serializers.BooleanField()
    content_type = serializers.CharField()
    headers = serializers.JSONField()
    delivery_id = serializers.CharField(allow_null=True)
    received_at = serializers.DateTimeField()

    def get_body(self, payload) -> str:
        raw = bytes(payload.body or b"")
        return raw.decode("utf-8", errors="replace")


def usage_items(items: list[dict], *, agent: Agent, field: str) -> list[UsageItem]:
    """Validated reports as service input. A task the agent cannot see is a 400 naming the report
    by its index under `field`, the shape DRF gives list errors (only the failing ones)."""
    wanted = {item["task"] for item in items if item["task"]}
    found = {task.pk: task for task in Task.objects.for_agent(agent).filter(pk__in=wanted)}
    errors = {
        str(index): {"task": ["No such task on this agent's boards."]}
        for index, item in enumerate(items)
        if item["task"] and item["task"] not in found
    }
    if errors:
        raise ValidationError({field: errors})
    return [
        UsageItem(
            model=item["model"],
            idempotency_key=item["idempotency_key"],
            occurred_at=item["occurred_at"],
            input_tokens=item["input_tokens"],
            output_tokens=item["output_tokens"],
            cached_tokens=item["cached_tokens"],
            cost=item["cost"],
            task=found.get(item["task"]),
        )
        for item in items
    ]
