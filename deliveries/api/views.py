"""Human API for subscriptions and deliveries: scoped to the caller's organizations.

Reads need membership (viewer and up); creating, changing and replaying need the admin role of
the organization concerned. Lists run a fixed number of queries whatever their length.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from agents.models import Agent
from core.api.views import HumanViewSet
from core.models import Membership
from deliveries import outbound
from deliveries.api import serializers
from deliveries.models import Delivery, DeliveryAttempt, DeliveryStatus, Subscription
from infra.exceptions import NotFound


class SubscriptionFilter(filters.FilterSet):
    class Meta:
        model = Subscription
        fields = ["organization", "board", "enabled"]


class SubscriptionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    HumanViewSet,
):
    """Outbound subscriptions. The secret is in the creation and rotation responses only."""

    queryset = Subscription.objects.none()
    filterset_class = SubscriptionFilter
    ordering_fields = ["created_at", "id"]

    def get_queryset(self) -> QuerySet[Subscription]:
        return Subscription.objects.filter(
            organization_id__in=Membership.objects.filter(user=self.request.user).values("organization_id")
        ).order_by("-created_at", "-id")

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return serializers.SubscriptionUpdateSerializer
        return serializers.SubscriptionSerializer

    @extend_schema(responses={201: serializers.SubscriptionCreatedSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        organization = data.pop("organization")
        subscription, secret = outbound.create_subscription(
            actor=self.actor, organization=organization, **data
        )
        subscription.secret = secret
        return Response(
            serializers.SubscriptionCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED
        )

    def update(self, request: Request, *args, **kwargs) -> Response:
        subscription = self.get_object()
        serializer = self.get_serializer(
            subscription, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        subscription = outbound.update_subscription(
            actor=self.actor, subscription=subscription, **serializer.validated_data
        )
        return Response(serializers.SubscriptionSerializer(subscription).data)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        subscription = self.get_object()
        outbound.delete_subscription(actor=self.actor, subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: serializers.SubscriptionCreatedSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk=None) -> Response:
        subscription = self.get_object()
        subscription, secret = outbound.rotate_subscription_secret(
            actor=self.actor, subscription=subscription
        )
        subscription.secret = secret
        return Response(serializers.SubscriptionCreatedSerializer(subscription).data)


class DeliveryFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=DeliveryStatus.choices)

    class Meta:
        model = Delivery
        fields = ["status", "board", "subscription", "agent", "organization", "event_type"]


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HumanViewSet):
    """Deliveries of your organizations; dead letters are `?status=dead&status=failed`."""

    queryset = Delivery.objects.none()
    filterset_class = DeliveryFilter
    ordering_fields = ["id", "created_at", "updated_at"]

    def get_queryset(self) -> QuerySet[Delivery]:
        deliveries = Delivery.objects.filter(
            organization_id__in=Membership.objects.filter(user=self.request.user).values("organization_id")
        ).order_by("-id")
        if self.action == "retrieve":
            deliveries = deliveries.prefetch_related(
                Prefetch("attempts", queryset=DeliveryAttempt.objects.order_by("started_at", "id"))
            )
        return deliveries

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.DeliveryDetailSerializer
        return serializers.DeliverySerializer

    @extend_schema(request=None, responses={200: serializers.DeliveryDetailSerializer})
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk=None) -> Response:
        delivery = self.get_object()
        delivery = outbound.replay_delivery(delivery=delivery, actor=self.actor)
        return Response(serializers.DeliveryDetailSerializer(self.get_queryset().get(pk=delivery.pk)).data)

    @extend_schema(
        request=serializers.BulkReplaySerializer, responses={202: dict}, operation_id="deliveries_bulk_replay"
    )
    @action(detail=False, methods=["post"], url_path="replay")
    def bulk_replay(self, request: Request) -> Response:
        """Replay dead and failed deliveries in the organizations where you are an admin."""
        body = serializers.BulkReplaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        criteria = body.validated_data
        # replay_deliveries keeps only the organizations where the caller is an admin.
        deliveries = Delivery.objects.all()
        if "ids" in criteria:
            deliveries = deliveries.filter(pk__in=criteria["ids"])
        if "status" in criteria:
            deliveries = deliveries.filter(status=criteria["status"])
        for field in ("board", "subscription"):
            if field in criteria:
                deliveries = deliveries.filter(**{f"{field}_id": criteria[field]})
        ids = outbound.replay_deliveries(deliveries=deliveries, actor=self.actor)
        return Response({"replayed": len(ids), "ids": ids}, status=status.HTTP_202_ACCEPTED)


class AgentSigningSecretViewSet(HumanViewSet):
    """The secret that signs pushes to an agent's callback URL (admins; give it to the agent)."""

    queryset = Agent.objects.none()
    serializer_class = serializers.AgentSigningSecretRequestSerializer

    @extend_schema(responses={200: dict})
    def create(self, request: Request) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        agent = Agent.objects.filter(pk=body.validated_data["agent"]).only("id", "organization_id").first()
        if agent is None:
            raise NotFound("Not found.")
        secret = outbound.reveal_agent_signing_secret(actor=self.actor, agent=agent)
        return Response({"agent": agent.pk, "secret": secret}, headers={"Cache-Control": "no-store"})
