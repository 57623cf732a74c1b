"""/api/v1/notifications/: your own notifications (the bell's list), read by a script as by the
page. Only your own: anyone else's id is a 404. Also your per-board mute and per-task watch
(`/api/v1/boards/<id>/mute`, `/api/v1/tasks/<id>/watch`). Writes call notifications.services."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boards.models import Board, Task
from core.api.views import HumanAPIMixin, HumanViewSet
from infra.exceptions import NotFound
from notifications import services
from notifications.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "organization",
            "board",
            "kind",
            "title",
            "excerpt",
            "url",
            "actor_label",
            "target_type",
            "target_id",
            "read",
            "read_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_read(self, notification: Notification) -> bool:
        return notification.read_at is not None


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HumanViewSet):
    """Newest first; `?unread=true` for the unread ones only."""

    queryset = Notification.objects.none()  # the schema generator's model; get_queryset scopes
    serializer_class = NotificationSerializer
    filterset_fields = ["kind", "board", "organization"]
    ordering_fields = ["created_at"]

    def get_queryset(self) -> QuerySet[Notification]:
        notifications = Notification.objects.for_recipient(self.request.user).order_by("-id")
        if self.action == "list" and self.request.query_params.get("unread") in ("1", "true"):
            notifications = notifications.unread()
        return notifications

    @extend_schema(parameters=[OpenApiParameter("unread", bool, description="only the unread ones")])
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk=None) -> Response:
        notification = services.mark_read(notification=self.get_object(), user=request.user)
        return Response(NotificationSerializer(notification).data)

    @extend_schema(
        request=None,
        responses=inline_serializer("NotificationsMarked", fields={"marked": serializers.IntegerField()}),
    )
    @action(detail=False, methods=["post"], url_path="read-all", filterset_fields=[], ordering_fields=[])
    def read_all(self, request: Request) -> Response:
        return Response({"marked": services.mark_all_read(user=request.user)})

    @extend_schema(
        request=None,
        responses=inline_serializer("NotificationsUnread", fields={"unread": serializers.IntegerField()}),
    )
    @action(detail=False, methods=["get"], url_path="unread-count", filterset_fields=[], ordering_fields=[])
    def unread_count(self, request: Request) -> Response:
        return Response({"unread": services.unread_count(request.user)})


class BoardMuteSerializer(serializers.Serializer):
    muted = serializers.BooleanField()


class TaskWatchSerializer(serializers.Serializer):
    watched = serializers.BooleanField()


class BoardMuteView(HumanAPIMixin, APIView):
    """POST {"muted": true|false}: stop or resume your notifications from a board (any member)."""

    @extend_schema(
        request=BoardMuteSerializer,
        responses=inline_serializer(
            "BoardMuted", fields={"board": serializers.IntegerField(), "muted": serializers.BooleanField()}
        ),
    )
    def post(self, request: Request, board_id: int) -> Response:
        board = Board.objects.visible_to(request.user).filter(pk=board_id).first()
        if board is None:
            raise NotFound("Board not found.")
        data = BoardMuteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        muted = services.set_board_muted(board=board, user=request.user, muted=data.validated_data["muted"])
        return Response({"board": board.pk, "muted": muted})


class TaskWatchView(HumanAPIMixin, APIView):
    """POST {"watched": true|false}: follow a task's status changes, or stop (any member)."""

    @extend_schema(
        request=TaskWatchSerializer,
        responses=inline_serializer(
            "TaskWatched", fields={"task": serializers.IntegerField(), "watched": serializers.BooleanField()}
        ),
    )
    def post(self, request: Request, task_id: int) -> Response:
        task = Task.objects.visible_to(request.user).select_related("board").filter(pk=task_id).first()
        if task is None:
            raise NotFound("Task not found.")
        data = TaskWatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        watched = services.set_task_watched(
            task=task, user=request.user, watched=data.validated_data["watched"]
        )
        return Response({"task": task.pk, "watched": watched})
