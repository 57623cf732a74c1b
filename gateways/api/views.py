"""Human API for gateways: admins configure, everyone in the organization sees the status, and
commands are queued for the supervisor (202) with the role each gateway method needs.

No view here opens a socket to a gateway: the supervisor runs the queued command and the caller
polls GET /api/v1/gateway-commands/<id>/ for its answer.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.access import member_organization_ids
from core.api.views import HumanViewSet, OrganizationResourceViewSet
from gateways import services
from gateways.api import serializers
from gateways.models import Gateway, GatewayAgent, GatewayApproval, GatewayCommand
from infra.exceptions import NotFound


class GatewayViewSet(OrganizationResourceViewSet):
    queryset = Gateway.objects.none()
    serializer_class = serializers.GatewaySerializer
    update_serializer_class = serializers.GatewayUpdateSerializer
    filterset_fields = ["organization", "status", "enabled"]
    ordering_fields = ["name", "created_at", "id"]

    def get_serializer_class(self):
        if self.action == "commands":
            return serializers.GatewayCommandRequestSerializer
        if self.action == "link_agent":
            return serializers.GatewayAgentLinkSerializer
        return super().get_serializer_class()

    def create_through_service(self, **fields: Any) -> Gateway:
        return services.create_gateway(actor=self.actor, **fields)

    def update_through_service(self, instance: Gateway, **fields: Any) -> Gateway:
        return services.update_gateway(actor=self.actor, gateway=instance, **fields)

    def delete_through_service(self, instance: Gateway) -> None:
        services.delete_gateway(actor=self.actor, gateway=instance)

    @extend_schema(
        request=serializers.GatewayCommandRequestSerializer,
        responses={200: serializers.GatewayCommandSerializer, 202: serializers.GatewayCommandSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def commands(self, request: Request, pk=None) -> Response:
        """GET: the gateway's recent commands. POST: queue one for the supervisor; 202 when it is
        new, 200 with the first command when the idempotency key was used before."""
        gateway = self.get_object()
        if request.method == "GET":
            recent = GatewayCommand.objects.filter(gateway=gateway).order_by("-created_at", "-id")[:50]
            return Response(serializers.GatewayCommandSerializer(recent, many=True).data)
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        command, created = services.request_command(actor=self.actor, gateway=gateway, **body.validated_data)
        return Response(
            serializers.GatewayCommandSerializer(command).data,
            status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK,
        )

    @extend_schema(responses=serializers.GatewayAgentSerializer(many=True))
    @action(detail=True, methods=["get"])
    def agents(self, request: Request, pk=None) -> Response:
        """The gateway's agents as the supervisor last imported them (retired ones included)."""
        rows = GatewayAgent.objects.filter(gateway=self.get_object()).select_related("agent")
        return Response(serializers.GatewayAgentSerializer(rows, many=True).data)

    @extend_schema(
        request=serializers.GatewayAgentLinkSerializer, responses=serializers.GatewayAgentSerializer
    )
    @action(detail=True, methods=["post"], url_path="link-agent")
    def link_agent(self, request: Request, pk=None) -> Response:
        """Link one of the gateway's agents to a Mission Control agent (admins): its runs' usage
        then counts for that agent."""
        gateway = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = GatewayAgent.objects.filter(gateway=gateway, agent_key=body.validated_data["agent_key"]).first()
        if row is None:
            raise NotFound("This gateway has no agent with that id (yet).")
        row = services.link_gateway_agent(
            actor=self.actor, gateway_agent=row, agent=body.validated_data["agent"]
        )
        return Response(serializers.GatewayAgentSerializer(row).data)


class GatewayApprovalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HumanViewSet):
    """Commands agents on a gateway wait to run until a person answers (newest first)."""

    queryset = GatewayApproval.objects.none()
    filterset_fields = ["gateway", "state"]

    def get_queryset(self) -> QuerySet[GatewayApproval]:
        return GatewayApproval.objects.filter(
            gateway__organization_id__in=member_organization_ids(self.request.user)
        ).select_related("decided_by")

    def get_serializer_class(self):
        if self.action == "answer":
            return serializers.ApprovalAnswerSerializer
        return serializers.GatewayApprovalSerializer

    @extend_schema(
        request=serializers.ApprovalAnswerSerializer, responses={202: serializers.GatewayCommandSerializer}
    )
    @action(detail=True, methods=["post"])
    def answer(self, request: Request, pk=None) -> Response:
        """Allow once or deny (operators); the supervisor resolves it on the gateway. 409 when it
        was already answered."""
        approval = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        command = services.answer_approval(
            actor=self.actor, approval=approval, decision=body.validated_data["decision"]
        )
        return Response(serializers.GatewayCommandSerializer(command).data, status=status.HTTP_202_ACCEPTED)


class GatewayCommandViewSet(mixins.RetrieveModelMixin, HumanViewSet):
    """One queued command and, once the supervisor ran it, the gateway's answer or error."""

    queryset = GatewayCommand.objects.none()
    serializer_class = serializers.GatewayCommandSerializer

    def get_queryset(self) -> QuerySet[GatewayCommand]:
        return GatewayCommand.objects.filter(
            gateway__organization_id__in=member_organization_ids(self.request.user)
        )
