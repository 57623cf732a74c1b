"""/api/v1/notifications/: your own notifications (the bell's list), read by a script as by the
page. Only your own: anyone else's id is a 404. Writes call notifications.services."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.views import HumanViewSet
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
