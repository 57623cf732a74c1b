"""The human API: thin viewsets scoped to the caller's memberships; writes call boards.services."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from activity.models import ActivityEvent
from boards import conversation, services
from boards.api import filters, serializers
from boards.models import Approval, Board, Tag, Task
from boards.selectors import boards_with_status_counts, tasks_for_cards
from core import services as core_services
from core.api.views import HumanViewSet
from core.models import Organization, PersonalToken


class OrganizationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HumanViewSet):
    """The organizations you belong to, with your role in each. Routed by teams.api, which adds the
    writes (teams' services)."""

    queryset = Organization.objects.none()  # the schema generator's model; get_queryset scopes

    serializer_class = serializers.OrganizationSerializer
    ordering_fields = ["name", "created_at"]

    def get_queryset(self) -> QuerySet[Organization]:
        return Organization.objects.visible_to(self.request.user).order_by("name", "id")

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if getattr(self.request, "user", None) is not None and self.request.user.is_authenticated:
            context["roles"] = serializers.membership_roles(self.request.user)
        return context


class BoardViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    HumanViewSet,
):
    """Boards of your organizations, with task counts per status. Admins create and change them."""

    queryset = Board.objects.none()  # the schema generator's model; get_queryset scopes

    filterset_class = filters.BoardFilter
    ordering_fields = ["name", "created_at", "updated_at"]

    def get_queryset(self) -> QuerySet[Board]:
        return boards_with_status_counts(Board.objects.visible_to(self.request.user)).order_by("name", "id")

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return serializers.BoardUpdateSerializer
        return serializers.BoardSerializer

    def _respond(self, board: Board, code: int = status.HTTP_200_OK) -> Response:
        board = self.get_queryset().get(pk=board.pk)
        return Response(
            serializers.BoardSerializer(board, context=self.get_serializer_context()).data, status=code
        )

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        organization = data.pop("organization")
        # One create, one event: every field goes to create_board (it used to be create + update).
        board = services.create_board(organization=organization, actor=self.actor, **data)
        return self._respond(board, status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        board = self.get_object()
        serializer = self.get_serializer(board, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        services.update_board(board=board, actor=self.actor, **serializer.validated_data)
        return self._respond(board)

    @extend_schema(request=None, responses=serializers.BoardSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk=None) -> Response:
        board = services.archive_board(board=self.get_object(), actor=self.actor)
        return self._respond(board)


class TagViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    HumanViewSet,
):
    queryset = Tag.objects.none()  # the schema generator's model; get_queryset scopes
    filterset_class = filters.TagFilter
    ordering_fields = ["name"]

    def get_queryset(self) -> QuerySet[Tag]:
        return Tag.objects.filter(organization__memberships__user=self.request.user).order_by("name", "id")

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return serializers.TagUpdateSerializer
        return serializers.TagSerializer

    def perform_create(self, serializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.create_tag(
            organization=data["organization"],
            actor=self.actor,
            name=data["name"],
            **({"color": data["color"]} if "color" in data else {}),
        )

    def perform_update(self, serializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.update_tag(
            tag=serializer.instance, actor=self.actor, name=data.get("name"), color=data.get("color")
        )

    def perform_destroy(self, instance: Tag) -> None:
        services.delete_tag(tag=instance, actor=self.actor)


class TaskViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    HumanViewSet,
):
    """Tasks of the boards you can see. Status changes go through `move`, never an update."""

    queryset = Task.objects.none()  # the schema generator's model; get_queryset scopes

    filterset_class = filters.TaskFilter
    ordering_fields = [
        "id",
        "position",
        "created_at",
        "updated_at",
        "due_date",
        "priority",
        "title",
        "status",
    ]

    def get_queryset(self) -> QuerySet[Task]:
        return tasks_for_cards(Task.objects.visible_to(self.request.user)).order_by("position", "id")

    def get_serializer_class(self):
        if self.action == "create":
            return serializers.TaskCreateSerializer
        if self.action in ("update", "partial_update"):
            return serializers.TaskUpdateSerializer
        if self.action == "move":
            return serializers.MoveSerializer
        if self.action == "assign":
            return serializers.AssignSerializer
        if self.action == "comments":
            return serializers.CommentSerializer
        if self.action == "dependencies":
            return serializers.DependencySerializer
        return serializers.TaskSerializer

    def _respond(self, task: Task, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=task.pk)
        if getattr(task, "approval_requested", None) is not None:
            fresh.approval_requested = task.approval_requested
        return Response(
            serializers.TaskSerializer(fresh, context=self.get_serializer_context()).data, status=code
        )

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        task = services.create_task(
            board=data.pop("board"),
            actor=self.actor,
            tag_names=data.pop("tags", ()),
            depends_on=data.pop("depends_on_tasks", ()),
            **data,
        )
        return self._respond(task, status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        task = self.get_object()
        serializer = self.get_serializer(task, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "tags" in data:
            data["tag_names"] = data.pop("tags")
        services.update_task(task=task, actor=self.actor, **data)
        return self._respond(task)

    def perform_destroy(self, instance: Task) -> None:
        services.delete_task(task=instance, actor=self.actor)

    @extend_schema(
        request=serializers.MoveSerializer,
        responses=serializers.TaskSerializer,
        description="Move the task to a status (and a 0-based position in that column). On a "
        "board that requires approval, a move to done files a pending approval "
        "and the task stays in review (see `pending_approval`).",
    )
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk=None) -> Response:
        task = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = services.move_task(task=task, actor=self.actor, **serializer.validated_data)
        code = status.HTTP_202_ACCEPTED if getattr(task, "approval_requested", None) else status.HTTP_200_OK
        return self._respond(task, code)

    @extend_schema(request=serializers.AssignSerializer, responses=serializers.TaskSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk=None) -> Response:
        task = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = services.assign_task(
            task=task,
            actor=self.actor,
            agent=serializer.validated_data.get("agent"),
            user=serializer.validated_data.get("user"),
        )
        return self._respond(task)

    @extend_schema(request=serializers.DependencySerializer, responses=serializers.TaskSerializer)
    @action(detail=True, methods=["post"])
    def dependencies(self, request: Request, pk=None) -> Response:
        task = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.add_dependency(
            task=task, depends_on=serializer.validated_data["depends_on"], actor=self.actor
        )
        return self._respond(task, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Removed.")})
    @action(detail=True, methods=["delete"], url_path=r"dependencies/(?P<depends_on_id>\d+)")
    def remove_dependency(self, request: Request, pk=None, depends_on_id=None) -> Response:
        task = self.get_object()
        depends_on = get_object_or_404(Task.objects.visible_to(request.user), pk=depends_on_id)
        services.remove_dependency(task=task, depends_on=depends_on, actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(methods=["GET"], request=None, responses=serializers.CommentSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=serializers.CommentSerializer,
        responses={201: serializers.CommentSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def comments(self, request: Request, pk=None) -> Response:
        task = self.get_object()
        if request.method == "POST":
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            comment = services.add_comment(
                task=task, actor=self.actor, body=serializer.validated_data["body"]
            )
            return Response(self.get_serializer(comment).data, status=status.HTTP_201_CREATED)
        page = self.paginate_queryset(conversation.task_messages(task=task))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def filter_queryset(self, queryset):
        if self.action == "comments":
            return queryset  # the task lookup must not apply the task-list filters
        return super().filter_queryset(queryset)


class ApprovalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HumanViewSet):
    """Approvals filed when a task on a gated board is moved to done. Operators and admins decide."""

    queryset = Approval.objects.none()  # the schema generator's model; get_queryset scopes

    filterset_class = filters.ApprovalFilter
    ordering_fields = ["created_at", "decided_at", "id"]

    def get_queryset(self) -> QuerySet[Approval]:
        return (
            Approval.objects.filter(task__board__organization__memberships__user=self.request.user)
            .select_related("task")
            .order_by("-created_at", "-id")
        )

    def get_serializer_class(self):
        return serializers.DecideSerializer if self.action == "decide" else serializers.ApprovalSerializer

    @extend_schema(request=serializers.DecideSerializer, responses=serializers.ApprovalSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk=None) -> Response:
        approval = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        approval = services.decide_approval(approval=approval, actor=self.actor, **serializer.validated_data)
        return Response(serializers.ApprovalSerializer(approval).data)


class ActivityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HumanViewSet):
    """The activity log of your organizations, newest first. Read-only: events are never edited."""

    queryset = ActivityEvent.objects.none()  # the schema generator's model; get_queryset scopes

    serializer_class = serializers.ActivityEventSerializer
    filterset_class = filters.ActivityFilter
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self) -> QuerySet[ActivityEvent]:
        return ActivityEvent.objects.visible_to(self.request.user).order_by("-id")


class PersonalTokenViewSet(
    mixins.ListModelMixin, mixins.DestroyModelMixin, mixins.CreateModelMixin, HumanViewSet
):
    """Your personal API tokens. The token itself is returned once, by the create call; DELETE revokes."""

    queryset = PersonalToken.objects.none()  # the schema generator's model; get_queryset scopes
    serializer_class = serializers.PersonalTokenSerializer
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[PersonalToken]:
        return PersonalToken.objects.filter(user=self.request.user).order_by("-created_at", "-id")

    def get_serializer_class(self):
        return (
            serializers.PersonalTokenCreateSerializer
            if self.action == "create"
            else super().get_serializer_class()
        )

    @extend_schema(
        request=serializers.PersonalTokenCreateSerializer,
        responses={201: serializers.PersonalTokenCreatedSerializer},
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, raw = core_services.create_personal_token(user=request.user, **serializer.validated_data)
        token.token = raw
        return Response(
            serializers.PersonalTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED
        )

    def perform_destroy(self, instance: PersonalToken) -> None:
        core_services.revoke_personal_token(token=instance, user=self.request.user)
