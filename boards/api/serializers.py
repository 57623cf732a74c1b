"""Explicit-field serializers for the human API. Writes go through boards.services."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from activity.models import ActivityEvent
from activity.payloads import activity_payload
from agents.models import Agent
from boards.markdown import render_markdown
from boards.models import Approval, Board, BoardGroup, Tag, Task, TaskPriority, TaskStatus
from boards.services import TAG_MAX_LENGTH, TAGS_PER_TASK_MAX
from core.models import Membership, Organization, PersonalToken

User = get_user_model()


def _request_user(serializer: serializers.Serializer):
    request = serializer.context.get("request")
    return getattr(request, "user", None)


def assignable_agents(user) -> QuerySet:
    return Agent.objects.visible_to(user)


def colleagues_of(user) -> QuerySet:
    """Users who share an organization with `user`: the people a task may be assigned to."""
    if user is None:
        return User.objects.none()
    return User.objects.filter(memberships__organization__memberships__user=user).distinct()


@extend_schema_field(OpenApiTypes.INT)
class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A related id the caller may see; anything else reads as 'does not exist' (never leaks)."""

    def __init__(self, *, scope, **kwargs):
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.scope(_request_user(self.parent) if self.parent else None)


class OrganizationSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "role", "time_zone", "created_at"]
        read_only_fields = ["time_zone"]

    def get_role(self, organization: Organization) -> str:
        roles = self.context.get("roles") or {}
        return roles.get(organization.pk, "")


class BoardSerializer(serializers.ModelSerializer):
    organization = ScopedPrimaryKeyRelatedField(scope=lambda user: Organization.objects.visible_to(user))
    group = ScopedPrimaryKeyRelatedField(
        scope=lambda user: (
            BoardGroup.objects.filter(organization__memberships__user=user)
            if user is not None
            else BoardGroup.objects.none()
        ),
        required=False,
        allow_null=True,
    )
    slug = serializers.SlugField(max_length=60, required=False)
    task_counts = serializers.SerializerMethodField()

    class Meta:
        model = Board
        fields = [
            "id",
            "organization",
            "group",
            "name",
            "slug",
            "description",
            "archived",
            "require_approval_for_done",
            "require_comment_for_review",
            "agents_can_create_tasks",
            "send_work_to_gateway_agents",
            "task_counts",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["archived", "created_at", "updated_at"]
        # Slug uniqueness is the service's (it picks a free slug when none is given).
        validators: list = []

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_task_counts(self, board: Board) -> dict[str, int]:
        if not hasattr(board, "count_total"):
            return {}
        counts = {status: getattr(board, f"count_{status}") for status in TaskStatus.values}
        counts["total"] = board.count_total
        return counts


class BoardUpdateSerializer(BoardSerializer):
    class Meta(BoardSerializer.Meta):
        read_only_fields = ["organization", "slug", "archived", "created_at", "updated_at"]


class TagSerializer(serializers.ModelSerializer):
    organization = ScopedPrimaryKeyRelatedField(scope=lambda user: Organization.objects.visible_to(user))
    color = serializers.RegexField(
        r"^#[0-9a-fA-F]{6}$", required=False, error_messages={"invalid": "Use a colour like #1f883d."}
    )

    class Meta:
        model = Tag
        fields = ["id", "organization", "name", "color"]


class TagUpdateSerializer(TagSerializer):
    class Meta(TagSerializer.Meta):
        read_only_fields = ["organization"]


class TagNamesField(serializers.ListField):
    """Tag names in and out; reads the (prefetched) tags of the task."""

    def to_representation(self, data) -> list[str]:
        return [tag.name for tag in data.all()]


class AssigneeSerializer(serializers.Serializer):
    kind = serializers.CharField()
    id = serializers.IntegerField()
    name = serializers.CharField()


class TaskSerializer(serializers.ModelSerializer):
    board = ScopedPrimaryKeyRelatedField(scope=lambda user: Board.objects.visible_to(user))
    status = serializers.ChoiceField(
        choices=TaskStatus.choices, required=False, help_text="New tasks start in inbox (default) or blocked."
    )
    priority = serializers.ChoiceField(choices=TaskPriority.choices, required=False)
    assignee_agent = ScopedPrimaryKeyRelatedField(scope=assignable_agents, required=False, allow_null=True)
    assignee_user = ScopedPrimaryKeyRelatedField(
        scope=colleagues_of,
        required=False,
        allow_null=True,
    )
    tags = TagNamesField(
        child=serializers.CharField(max_length=TAG_MAX_LENGTH),
        required=False,
        max_length=TAGS_PER_TASK_MAX,
    )
    depends_on = serializers.SerializerMethodField()
    assignee = serializers.SerializerMethodField()
    pending_approval = serializers.SerializerMethodField()
    description_html = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = [
            "id",
            "board",
            "title",
            "description",
            "description_html",
            "status",
            "priority",
            "assignee_agent",
            "assignee_user",
            "assignee",
            "due_date",
            "tags",
            "depends_on",
            "position",
            "progress_note",
            "pending_approval",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["position", "created_at", "updated_at"]
        extra_kwargs = {"title": {"max_length": 200}, "description": {"max_length": 20000}}

    def to_representation(self, task: Task) -> dict:
        data = super().to_representation(task)
        data["status"] = task.status
        return data

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_depends_on(self, task: Task) -> list[int]:
        return [d.pk for d in task.dependencies.all()]

    @extend_schema_field(AssigneeSerializer(allow_null=True))
    def get_assignee(self, task: Task) -> dict | None:
        if task.assignee_agent_id:
            return {"kind": "agent", "id": task.assignee_agent_id, "name": task.assignee_agent.name}
        if task.assignee_user_id:
            return {"kind": "user", "id": task.assignee_user_id, "name": task.assignee_user.get_username()}
        return None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_pending_approval(self, task: Task) -> int | None:
        pending = getattr(task, "pending_approvals", None)
        if pending is None:
            requested = getattr(task, "approval_requested", None)
            return requested.pk if requested is not None else None
        return pending[0].pk if pending else None

    def get_description_html(self, task: Task) -> str:
        return str(render_markdown(task.description))

    def validate_status(self, value: str) -> str:
        if value not in (TaskStatus.INBOX, TaskStatus.BLOCKED):
            raise serializers.ValidationError("A new task starts in inbox or blocked; move it afterwards.")
        return value

    def validate_title(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("A task needs a title.")
        return value.strip()

    def validate(self, attrs: dict) -> dict:
        if attrs.get("assignee_agent") and attrs.get("assignee_user"):
            raise serializers.ValidationError({"assignee_user": ["Assign an agent or a user, not both."]})
        return attrs


class TaskCreateSerializer(TaskSerializer):
    depends_on_ids = ScopedPrimaryKeyRelatedField(
        scope=lambda user: Task.objects.visible_to(user),
        many=True,
        required=False,
        source="depends_on_tasks",
        write_only=True,
    )

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "depends_on_ids"]


class TaskUpdateSerializer(TaskSerializer):
    board = serializers.PrimaryKeyRelatedField(read_only=True)
    status = serializers.CharField(read_only=True)

    def validate(self, attrs: dict) -> dict:
        if "status" in self.initial_data:
            message = "Change the status with POST /api/v1/tasks/{id}/move."
            raise serializers.ValidationError({"status": [message]})
        return super().validate(attrs)


class MoveSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=TaskStatus.choices)
    position = serializers.IntegerField(
        min_value=0,
        required=False,
        allow_null=True,
        help_text="0-based index in the target column; empty = at the end.",
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=20000)


class AssignSerializer(serializers.Serializer):
    agent = ScopedPrimaryKeyRelatedField(scope=assignable_agents, required=False, allow_null=True)
    user = ScopedPrimaryKeyRelatedField(
        scope=colleagues_of,
        required=False,
        allow_null=True,
    )

    def validate(self, attrs: dict) -> dict:
        if attrs.get("agent") and attrs.get("user"):
            raise serializers.ValidationError({"user": ["Assign an agent or a user, not both."]})
        return attrs


class DependencySerializer(serializers.Serializer):
    depends_on = ScopedPrimaryKeyRelatedField(scope=lambda user: Task.objects.visible_to(user))


class CommentSerializer(serializers.Serializer):
    """A comment: a message of the task's conversation (boards.conversation), in the shape this
    endpoint always had."""

    id = serializers.IntegerField(read_only=True)
    task = serializers.IntegerField(source="task_id", read_only=True)
    author = serializers.SerializerMethodField()
    body = serializers.CharField()
    body_html = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(AssigneeSerializer(allow_null=True))
    def get_author(self, comment: Any) -> dict | None:
        if comment.author_agent_id:
            return {"kind": "agent", "id": comment.author_agent_id, "name": comment.author_agent.name}
        if comment.author_user_id:
            return {"kind": "user", "id": comment.author_user_id, "name": comment.author_user.get_username()}
        return None

    def get_body_html(self, comment: Any) -> str:
        return str(render_markdown(comment.body))

    def validate_body(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("A comment cannot be empty.")
        limit = settings.CHAT_MESSAGE_MAX_CHARS  # the conversation's one limit
        if len(value) > limit:
            raise serializers.ValidationError(f"Ensure this field has no more than {limit} characters.")
        return value


class ApprovalSerializer(serializers.ModelSerializer):
    board = serializers.IntegerField(source="task.board_id", read_only=True)
    task_title = serializers.CharField(source="task.title", read_only=True)

    class Meta:
        model = Approval
        fields = [
            "id",
            "task",
            "task_title",
            "board",
            "status",
            "requested_by_user",
            "requested_by_agent",
            "decided_by",
            "reason",
            "created_at",
            "decided_at",
        ]
        read_only_fields = fields


class DecideSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ActivityActorSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    user_id = serializers.IntegerField(allow_null=True)
    agent_id = serializers.IntegerField(allow_null=True)


class ActivityTargetSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.CharField()


class ActivityEventSerializer(serializers.ModelSerializer):
    """Read-only; the same dict as websockets and SSE (boards.activity.activity_payload)."""

    organization_id = serializers.IntegerField()
    board_id = serializers.IntegerField(allow_null=True)
    actor = ActivityActorSerializer()
    target = ActivityTargetSerializer()
    detail = serializers.DictField()

    class Meta:
        model = ActivityEvent
        fields = [
            "id",
            "position",
            "verb",
            "organization_id",
            "board_id",
            "actor",
            "target",
            "detail",
            "request_id",
            "created_at",
        ]
        read_only_fields = fields

    def to_representation(self, event: ActivityEvent) -> dict:
        return activity_payload(event)


def membership_roles(user) -> dict[int, str]:
    return dict(Membership.objects.filter(user=user).values_list("organization_id", "role"))


class PersonalTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = PersonalToken
        fields = ["id", "name", "created_at", "last_used_at", "expires_at", "revoked_at"]
        read_only_fields = fields


class PersonalTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    expires_in_days = serializers.IntegerField(min_value=1, max_value=365, required=False, allow_null=True)


class PersonalTokenCreatedSerializer(PersonalTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(PersonalTokenSerializer.Meta):
        fields = [*PersonalTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields
