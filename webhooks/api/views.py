"""Human API for inbound webhooks: CRUD scoped by membership, secret rotation, the payload log.

Members of a board's organization read; admins manage (checked by the services). What the
caller may not see is a 404.
"""

from __future__ import annotations

from django.db.models.functions import Length
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.views import HumanViewSet
from webhooks import services
from webhooks.api.serializers import (
    PayloadDetailSerializer,
    PayloadListSerializer,
    RotateSecretSerializer,
    WebhookCreateSerializer,
    WebhookSerializer,
    WebhookUpdateSerializer,
)
from webhooks.models import BoardWebhook, WebhookPayload


class WebhookFilter(filters.FilterSet):
    # Bounded: a number past 64 bits would reach SQLite as an OverflowError (a 500), not a 400.
    board = filters.NumberFilter(field_name="board_id", min_value=1, max_value=2**63 - 1)

    class Meta:
        model = BoardWebhook
        fields = ["board", "enabled"]


class WebhookViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    HumanViewSet,
):
    filterset_class = WebhookFilter
    ordering_fields = ["created_at", "id"]

    def get_queryset(self):
        return (
            services.webhooks_visible_to(self.request.user)
            .select_related("board", "created_by", "target_agent")
            .order_by("-created_at", "-id")
        )

    def get_serializer_class(self):
        if self.action == "create":
            return WebhookCreateSerializer
        if self.action in {"update", "partial_update"}:
            return WebhookUpdateSerializer
        return WebhookSerializer

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        secret = "" if data.pop("unsigned", False) else data.pop("secret", None)
        webhook, plaintext = services.create_webhook(actor=self.actor, secret=secret, **data)
        body = WebhookSerializer(webhook, context=self.get_serializer_context()).data
        body["secret"] = plaintext  # the only time it is readable
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    def perform_update(self, serializer) -> None:
        serializer.instance = services.update_webhook(
            webhook=serializer.instance, actor=self.actor, **serializer.validated_data
        )

    def perform_destroy(self, instance: BoardWebhook) -> None:
        services.delete_webhook(webhook=instance, actor=self.actor)

    @action(detail=True, methods=["post"], serializer_class=RotateSecretSerializer)
    def rotate(self, request: Request, pk=None, **kwargs) -> Response:  # kwargs: the router's `format`
        """Replace the secret; the previous one keeps verifying for `grace_seconds`."""
        webhook = self.get_object()
        serializer = RotateSecretSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        secret = services.rotate_webhook_secret(
            webhook=webhook,
            actor=self.actor,
            grace_seconds=serializer.validated_data["grace_seconds"],
            new_secret=serializer.validated_data.get("secret"),
        )
        webhook.refresh_from_db()
        body = WebhookSerializer(webhook, context=self.get_serializer_context()).data
        body["secret"] = secret
        return Response(body, headers={"Cache-Control": "no-store"})


class PayloadFilter(filters.FilterSet):
    status = filters.ChoiceFilter(
        choices=[(name, name) for name in services.PAYLOAD_STATUSES], method="filter_status"
    )
    received_from = filters.DateFilter(method="filter_from")
    received_to = filters.DateFilter(method="filter_to")

    class Meta:
        model = WebhookPayload
        fields = ["status", "received_from", "received_to", "delivery_id"]

    def filter_status(self, queryset, name, value):
        return services.filter_payloads(queryset, status=value)

    def filter_from(self, queryset, name, value):
        return services.filter_payloads(queryset, received_from=value)

    def filter_to(self, queryset, name, value):
        return services.filter_payloads(queryset, received_to=value)


class PayloadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HumanViewSet):
    """`/api/v1/webhooks/{webhook_id}/payloads/`: newest first; the body only in the detail."""

    filterset_class = PayloadFilter
    ordering_fields = ["id", "received_at"]

    def get_webhook(self) -> BoardWebhook:
        visible = services.webhooks_visible_to(self.request.user)
        return get_object_or_404(visible, pk=self.kwargs["webhook_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no URL kwargs
            return WebhookPayload.objects.none()
        queryset = services.payloads_visible_to(self.request.user)
        queryset = queryset.filter(webhook_id=self.kwargs["webhook_pk"])
        queryset = queryset.annotate(size=Length("body")).order_by("-id")
        if self.action == "list":
            # The list never needs the bodies; the size comes from the database.
            queryset = queryset.defer("body", "payload", "headers")
        return queryset

    def get_serializer_class(self):
        return PayloadDetailSerializer if self.action != "list" else PayloadListSerializer

    def list(self, request: Request, *args, **kwargs) -> Response:
        self.get_webhook()  # 404 for a webhook the caller cannot see, not an empty list
        return super().list(request, *args, **kwargs)

    @action(detail=True, methods=["post"])
    def replay(self, request: Request, *args, **kwargs) -> Response:
        """Notify the target agent (or board lead) about this payload again."""
        payload = self.get_object()
        services.replay_webhook_payload(payload=payload, actor=self.actor)
        return Response({"id": str(payload.pk), "replayed": True}, status=status.HTTP_202_ACCEPTED)
