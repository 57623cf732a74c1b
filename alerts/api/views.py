"""Human API for alerts: the catalogue, rules (admins write) and incidents (operators act).

Every queryset is scoped to the caller's organizations, so another organization's rule or
incident is a 404. Lists run a fixed number of queries whatever their length.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from alerts import conditions, services
from alerts.api import serializers
from alerts.models import AlertRule, Incident, IncidentEntry, IncidentState
from core.access import member_organization_ids, require_role
from core.actors import Actor
from core.api.views import HumanViewSet, OrganizationResourceViewSet
from core.models import Role


class AlertConditionViewSet(HumanViewSet):
    """The catalogue of conditions a rule can use, with their parameters and limits."""

    queryset = AlertRule.objects.none()
    serializer_class = serializers.ConditionSerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(responses=serializers.ConditionSerializer(many=True))
    def list(self, request: Request) -> Response:
        return Response(self.get_serializer(list(conditions.CATALOGUE.values()), many=True).data)


class AlertRuleFilter(filters.FilterSet):
    class Meta:
        model = AlertRule
        fields = ["organization", "board", "condition", "enabled"]


class AlertRuleViewSet(OrganizationResourceViewSet):
    queryset = AlertRule.objects.none()
    serializer_class = serializers.AlertRuleSerializer
    update_serializer_class = serializers.AlertRuleUpdateSerializer
    filterset_class = AlertRuleFilter
    ordering_fields = ["name", "created_at", "id"]

    def create_through_service(self, **fields: Any) -> AlertRule:
        return services.create_rule(actor=self.actor, **fields)

    def update_through_service(self, instance: AlertRule, **fields: Any) -> AlertRule:
        return services.update_rule(actor=self.actor, rule=instance, **fields)

    def delete_through_service(self, instance: AlertRule) -> None:
        services.delete_rule(actor=self.actor, rule=instance)

    @extend_schema(
        request=serializers.PreviewRequestSerializer, responses={200: serializers.PreviewSerializer}
    )
    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        """How many times a rule (saved or not) would have fired in the last 7 days, from history."""
        body = serializers.PreviewRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rule = services.unsaved_rule(user=request.user, **body.validated_data)
        return Response(serializers.PreviewSerializer(conditions.preview(rule, timezone.now())).data)

    @extend_schema(request=serializers.TestChannelSerializer, responses={202: dict})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk=None) -> Response:
        """Send a test notification through one channel of the rule."""
        rule = self.get_object()
        require_role(user=request.user, organization=rule.organization_id, role=Role.ADMIN)
        body = serializers.TestChannelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.send_test_notification(actor=self.actor, rule=rule, channel=body.validated_data["channel"])
        return Response({"sent": body.validated_data["channel"]}, status=status.HTTP_202_ACCEPTED)


class IncidentFilter(filters.FilterSet):
    state = filters.MultipleChoiceFilter(choices=IncidentState.choices)

    class Meta:
        model = Incident
        fields = ["state", "rule", "board", "organization"]


class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HumanViewSet):
    """Incidents of your organizations, newest first; `?state=firing&state=acknowledged` for the open ones."""

    queryset = Incident.objects.none()
    filterset_class = IncidentFilter
    ordering_fields = ["opened_at", "id"]

    def get_queryset(self) -> QuerySet[Incident]:
        incidents = (
            Incident.objects.filter(organization_id__in=member_organization_ids(self.request.user))
            .for_list()
            .order_by("-opened_at", "-id")
        )
        if self.action != "list":
            incidents = incidents.prefetch_related(
                Prefetch("entries", queryset=IncidentEntry.objects.order_by("created_at", "id"))
            )
        return incidents

    def get_serializer_class(self):
        return (
            serializers.IncidentDetailSerializer if self.action != "list" else serializers.IncidentSerializer
        )

    def _act(self, body_serializer, act) -> Response:
        """Validate the body, call the service with it, answer with the incident and its timeline."""
        body = body_serializer(data=self.request.data)
        body.is_valid(raise_exception=True)
        incident = act(
            actor=Actor.for_user(self.request.user), incident=self.get_object(), **body.validated_data
        )
        return Response(serializers.IncidentDetailSerializer(self.get_queryset().get(pk=incident.pk)).data)

    @extend_schema(
        request=serializers.AcknowledgeSerializer, responses={200: serializers.IncidentDetailSerializer}
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk=None) -> Response:
        return self._act(serializers.AcknowledgeSerializer, services.acknowledge_incident)

    @extend_schema(
        request=serializers.SnoozeSerializer, responses={200: serializers.IncidentDetailSerializer}
    )
    @action(detail=True, methods=["post"])
    def snooze(self, request: Request, pk=None) -> Response:
        return self._act(serializers.SnoozeSerializer, services.snooze_incident)
