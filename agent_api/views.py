"""The agent API (`/api/v1/agent/…`, token only) and the human API for agents and their tokens.

It sits above the domain apps because it orchestrates them: an agent's tasks go through
boards.services, the usage riding on its heartbeat (and POST /agent/usage) through usage.services,
its addressed payloads come from webhooks.

Everything an agent reads is scoped to its organization and the boards it is on; anything else is
a 404, never a 403, so ids of other organizations cannot be probed.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet, prefetch_related_objects
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from agent_api import serializers as s
from agent_api.permissions import IsAgent
from agent_api.services import claim_and_start_task
from agents import services
from agents.authentication import AgentTokenAuthentication
from agents.models import Agent, AgentToken
from boards import services as board_services
from boards.models import Board, Task, TaskStatus
from core.access import require_role
from core.actors import Actor
from core.api.views import HumanViewSet
from core.ids import parse_id
from core.models import Membership, Organization, Role
from infra.exceptions import NotFound
from usage.api.serializers import UsageBatchResultSerializer, UsageBatchSerializer, usage_result
from usage.models import UsageReport
from usage.services import record_usage
from webhooks.models import WebhookPayload

# --- the agent's own API ---------------------------------------------------------------------------


class AgentAPIView(GenericAPIView):
    authentication_classes = [AgentTokenAuthentication]
    permission_classes = [IsAgent]

    @property
    def agent(self) -> Agent:
        return self.request.user.agent

    @property
    def actor(self) -> Actor:
        return Actor.for_agent(self.agent)

    def get_task(self, task_id: int | str) -> Task:
        task_id = parse_id(task_id)
        if task_id is None:
            raise NotFound("Task not found.")
        task = Task.objects.for_agent(self.agent).select_related("board").filter(pk=task_id).first()
        if task is None:
            raise NotFound("Task not found.")
        return task


class AgentMeView(AgentAPIView):
    serializer_class = s.AgentMeSerializer

    def get(self, request: Request) -> Response:
        # The agent row came with the token (select_related): only its boards are read here.
        agent = self.agent
        prefetch_related_objects([agent], "boards")
        return Response(s.AgentMeSerializer(agent).data)


class AgentBoardListView(AgentAPIView):
    serializer_class = s.AgentBoardSerializer
    queryset = Board.objects.none()  # the schema generator's model; get() scopes to the agent

    @extend_schema(responses=s.AgentBoardSerializer(many=True))  # documented with the page envelope
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(Board.objects.for_agent(self.agent).order_by("name", "id"))
        return self.get_paginated_response(s.AgentBoardSerializer(page, many=True).data)


class AgentTaskListView(AgentAPIView):
    """GET: tasks assigned to me or unassigned on my boards (`?assigned=me|unassigned`,
    `?status=`, `?board=`). POST: a new task on one of my boards, if the board allows it."""

    serializer_class = s.AgentTaskSerializer
    queryset = Task.objects.none()  # the schema generator's model; get() scopes to the agent

    @extend_schema(responses=s.AgentTaskSerializer(many=True))  # documented with the page envelope
    def get(self, request: Request) -> Response:
        agent = self.agent
        scope = request.query_params.get("assigned", "")
        if scope not in ("", "me", "unassigned"):
            raise ValidationError({"assigned": ["Use me or unassigned."]})
        visible = Task.objects.for_agent(agent)
        mine, unassigned = visible.filter(assignee_agent=agent), visible.unassigned()
        tasks = mine if scope == "me" else unassigned if scope == "unassigned" else mine | unassigned
        status_filter = request.query_params.get("status")
        if status_filter:
            statuses = [value for value in status_filter.split(",") if value]
            unknown = set(statuses) - set(TaskStatus.values)
            if unknown:
                raise ValidationError({"status": [f"Unknown status: {', '.join(sorted(unknown))}."]})
            tasks = tasks.filter(status__in=statuses)
        board_filter = request.query_params.get("board")
        if board_filter:
            board_id = parse_id(board_filter)
            if board_id is None:
                raise ValidationError({"board": ["A board id."]})
            tasks = tasks.filter(board_id=board_id)
        tasks = tasks.prefetch_related("tags").order_by("board_id", "status", "position", "id")
        page = self.paginate_queryset(tasks)
        return self.get_paginated_response(s.AgentTaskSerializer(page, many=True).data)

    @extend_schema(request=s.AgentTaskCreateSerializer, responses=s.AgentTaskSerializer)
    def post(self, request: Request) -> Response:
        data = s.AgentTaskCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        board = Board.objects.for_agent(self.agent).filter(pk=values["board"]).first()
        if board is None:
            raise NotFound("Board not found.")
        task = board_services.create_task(
            board=board,
            actor=self.actor,
            title=values["title"],
            description=values["description"],
            priority=values["priority"],
            status=values["status"],
            due_date=values["due_date"],
            tag_names=values["tags"],
        )
        return Response(s.AgentTaskSerializer(task).data, status=status.HTTP_201_CREATED)


class AgentTaskDetailView(AgentAPIView):
    """GET a task on my boards; PATCH its status (the board's transition rules apply) and/or
    its progress note. Only the assignee, the agent that filed it, or a board lead changes a
    task (boards.services enforces it for every caller)."""

    serializer_class = s.AgentTaskSerializer

    @extend_schema(operation_id="agent_task_retrieve", responses=s.AgentTaskSerializer)
    def get(self, request: Request, task_id: int) -> Response:
        return Response(s.AgentTaskSerializer(self.get_task(task_id)).data)

    @extend_schema(request=s.AgentTaskUpdateSerializer, responses=s.AgentTaskSerializer)
    def patch(self, request: Request, task_id: int) -> Response:
        task = self.get_task(task_id)
        data = s.AgentTaskUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        # Only the assignee or a board lead may change it: boards.services enforces that.
        with transaction.atomic():
            if "progress_note" in values:
                task = board_services.update_task(
                    task=task, actor=self.actor, progress_note=values["progress_note"]
                )
            if "status" in values and values["status"] != task.status:
                task = board_services.move_task(
                    task=task, actor=self.actor, status=values["status"], note=values.get("note", "")
                )
        task = Task.objects.prefetch_related("tags").get(pk=task.pk)
        return Response(s.AgentTaskSerializer(task).data)


class AgentTaskClaimView(AgentAPIView):
    serializer_class = s.AgentTaskSerializer

    @extend_schema(
        request=None,
        responses=s.AgentTaskSerializer,
        description="Take an unassigned task (409 if another agent was faster). A task in the inbox "
        "moves to in progress (a `task.status_changed` event); one whose dependencies are open stays "
        "in the inbox, held by the agent.",
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = claim_and_start_task(task=self.get_task(task_id), agent=self.agent)
        return Response(s.AgentTaskSerializer(task).data)


class AgentTaskCommentView(AgentAPIView):
    serializer_class = s.CommentOutSerializer

    @extend_schema(request=s.AgentCommentSerializer, responses=s.CommentOutSerializer)
    def post(self, request: Request, task_id: int) -> Response:
        task = self.get_task(task_id)
        data = s.AgentCommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment = board_services.add_comment(task=task, actor=self.actor, body=data.validated_data["body"])
        return Response(s.CommentOutSerializer(comment).data, status=status.HTTP_201_CREATED)


class AgentHeartbeatView(AgentAPIView):
    serializer_class = s.AgentMeSerializer

    @extend_schema(request=s.HeartbeatSerializer, responses=s.AgentMeSerializer)
    def post(self, request: Request) -> Response:
        data = s.HeartbeatSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        current_task = None
        if values["current_task"] is not None:
            current_task = self.get_task(values["current_task"])
        usage = s.usage_items(values["usage"], agent=self.agent, field="usage")
        with transaction.atomic():
            agent = services.record_heartbeat(
                agent=self.agent, status_text=values["status_text"], current_task=current_task
            )
            recorded = record_usage(agent=self.agent, items=usage) if usage else None
        agent = Agent.objects.prefetch_related("boards").get(pk=agent.pk)
        body = s.AgentMeSerializer(agent).data
        if recorded is not None:
            body["usage"] = usage_result(recorded)
        return Response(body)


class AgentUsageView(AgentAPIView):
    queryset = UsageReport.objects.none()  # for the schema generator; the view writes only
    serializer_class = UsageBatchResultSerializer

    @extend_schema(request=UsageBatchSerializer, responses=UsageBatchResultSerializer)
    def post(self, request: Request) -> Response:
        batch = UsageBatchSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        items = s.usage_items(batch.validated_data["reports"], agent=self.agent, field="reports")
        recorded = record_usage(agent=self.agent, items=items)
        return Response(usage_result(recorded))


class AgentWebhookPayloadView(AgentAPIView):
    """A stored webhook payload addressed to this agent, or on a board it leads. Read-only."""

    serializer_class = s.WebhookPayloadSerializer

    def get(self, request: Request, payload_id: str) -> Response:
        agent = self.agent
        if parse_id(payload_id) is None:
            raise NotFound("Webhook payload not found.")
        payload = WebhookPayload.objects.addressed_to(agent).filter(pk=payload_id).first()
        if payload is None:
            raise NotFound("Webhook payload not found.")
        return Response(s.WebhookPayloadSerializer(payload).data)


# --- the human API: agents and their tokens ---------------------------------------------------------


def _resolve_organization(user, requested) -> Organization:
    """The organization a new agent goes into: the one asked for, or the user's only one."""
    if requested in (None, ""):
        memberships = list(Membership.objects.filter(user=user).select_related("organization")[:2])
        if len(memberships) != 1:
            raise ValidationError({"organization": ["Say which organization the agent belongs to."]})
        return memberships[0].organization
    organization_id = parse_id(requested)
    if organization_id is None:
        raise ValidationError({"organization": ["An organization id."]})
    require_role(user=user, organization=organization_id, role=Role.VIEWER)
    return Organization.objects.get(pk=organization_id)


class AgentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    HumanViewSet,
):
    """Agents of the caller's organizations. Members read; admins create, change, suspend,
    resume and delete (enforced by agents.services)."""

    serializer_class = s.AgentSerializer
    filterset_fields = ["status", "organization"]
    ordering_fields = ["name", "created_at", "last_seen_at"]

    def get_queryset(self) -> QuerySet[Agent]:
        return Agent.objects.visible_to(self.request.user).prefetch_related("boards").order_by("name", "id")

    @extend_schema(request=s.AgentCreateSerializer, responses=s.AgentSerializer)
    def create(self, request: Request, *args, **kwargs) -> Response:
        organization = _resolve_organization(request.user, request.data.get("organization"))
        serializer = s.AgentCreateSerializer(
            data=request.data, context={**self.get_serializer_context(), "organization_id": organization.pk}
        )
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        agent = services.create_agent(
            organization=organization,
            actor=self.actor,
            name=values["name"],
            description=values.get("description", ""),
            boards=values.get("boards", ()),
            is_board_lead=values.get("is_board_lead", False),
            callback_url=values.get("callback_url", ""),
            capabilities=values.get("capabilities", ()),
        )
        agent = self.get_queryset().get(pk=agent.pk)
        return Response(s.AgentSerializer(agent).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        agent = self.get_object()
        serializer = s.AgentSerializer(
            agent,
            data=request.data,
            partial=kwargs.get("partial", False),
            context={**self.get_serializer_context(), "organization_id": agent.organization_id},
        )
        serializer.is_valid(raise_exception=True)
        services.update_agent(agent=agent, actor=self.actor, **serializer.validated_data)
        return Response(s.AgentSerializer(self.get_queryset().get(pk=agent.pk)).data)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        services.delete_agent(agent=self.get_object(), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=s.AgentSerializer)
    @action(detail=True, methods=["post"])
    def suspend(self, request: Request, pk=None) -> Response:
        agent = services.suspend_agent(agent=self.get_object(), actor=self.actor)
        return Response(s.AgentSerializer(self.get_queryset().get(pk=agent.pk)).data)

    @extend_schema(request=None, responses=s.AgentSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk=None) -> Response:
        agent = services.resume_agent(agent=self.get_object(), actor=self.actor)
        return Response(s.AgentSerializer(self.get_queryset().get(pk=agent.pk)).data)

    @extend_schema(
        methods=["GET"],
        responses=s.AgentTokenSerializer(many=True),
    )
    @extend_schema(methods=["POST"], request=s.AgentTokenCreateSerializer, responses=s.IssuedTokenSerializer)
    @action(detail=True, methods=["get", "post"], filterset_fields=[], ordering_fields=[])
    def tokens(self, request: Request, pk=None) -> Response:
        """GET lists the agent's tokens (never a digest or token); POST issues one and returns the
        raw token in this response only."""
        agent = self.get_object()
        if request.method == "GET":
            tokens = AgentToken.objects.filter(agent=agent).order_by("-created_at", "-id")
            page = self.paginate_queryset(tokens)
            return self.get_paginated_response(s.AgentTokenSerializer(page, many=True).data)
        data = s.AgentTokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, raw = services.issue_agent_token(
            agent=agent,
            actor=self.actor,
            name=data.validated_data["name"],
            expires_at=data.validated_data["expires_at"],
        )
        body = s.IssuedTokenSerializer(token, context={"raw_token": raw}).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


class AgentTokenViewSet(mixins.RetrieveModelMixin, HumanViewSet):
    serializer_class = s.AgentTokenSerializer
    filterset_fields: list[str] = []
    ordering_fields: list[str] = []

    def get_queryset(self) -> QuerySet[AgentToken]:
        if not getattr(self.request.user, "is_authenticated", False):
            return AgentToken.objects.none()
        return AgentToken.objects.filter(
            agent__organization__memberships__user=self.request.user
        ).select_related("agent")

    @extend_schema(request=s.AgentTokenRotateSerializer, responses=s.IssuedTokenSerializer)
    @action(detail=True, methods=["post"])
    def rotate(self, request: Request, pk=None) -> Response:
        """A new token with the same name; the old one keeps working for `grace_seconds` (default 0)."""
        data = s.AgentTokenRotateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, raw = services.rotate_agent_token(
            token=self.get_object(),
            actor=self.actor,
            grace_seconds=data.validated_data["grace_seconds"],
        )
        body = s.IssuedTokenSerializer(token, context={"raw_token": raw}).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    @extend_schema(request=None, responses=s.AgentTokenSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk=None) -> Response:
        token = services.revoke_agent_token(token=self.get_object(), actor=self.actor)
        return Response(s.AgentTokenSerializer(token).data)
