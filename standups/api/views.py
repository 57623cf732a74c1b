"""Human API for standups: posted standups and previews (members read), settings (admins write).

Querysets are scoped to the caller's organizations: another organization's standup or settings
are a 404.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from boards.models import Board
from core.access import require_role
from core.api.views import HumanViewSet
from core.ids import MAX_ID, parse_id
from core.models import Membership, Organization, Role
from infra.exceptions import DomainError, NotFound
from standups import figures as standup_figures
from standups import selectors, services
from standups.api import serializers
from standups.models import Standup


class StandupFilter(filters.FilterSet):
    date_after = filters.DateFilter(field_name="date", lookup_expr="gte")
    date_before = filters.DateFilter(field_name="date", lookup_expr="lte")
    organization_only = filters.BooleanFilter(field_name="board", lookup_expr="isnull")
    # Plain numbers, not model choices: a choice filter answers "not one of the available
    # choices" only for ids that do not exist anywhere, which would let ids be probed.
    organization = filters.NumberFilter(field_name="organization_id", min_value=1, max_value=MAX_ID)
    board = filters.NumberFilter(field_name="board_id", min_value=1, max_value=MAX_ID)

    class Meta:
        model = Standup
        fields = ["organization", "board", "date", "quiet"]


class StandupViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HumanViewSet):
    """Posted standups, newest first; `preview` computes any day's figures from the log now."""

    queryset = Standup.objects.none()
    serializer_class = serializers.StandupSerializer
    filterset_class = StandupFilter
    ordering_fields = ["date", "id"]

    def get_queryset(self) -> QuerySet[Standup]:
        return selectors.standups_visible_to(self.request.user).order_by("-date", "-id")

    @extend_schema(
        parameters=[
            OpenApiParameter("organization", int, description="needed unless a board is named"),
            OpenApiParameter("board", int),
            OpenApiParameter(
                "date", str, description="YYYY-MM-DD, in the organization's time zone; default today"
            ),
        ],
        responses=serializers.StandupSerializer,
    )
    @action(detail=False, methods=["get"], url_path="preview", filter_backends=[], pagination_class=None)
    def preview(self, request: Request) -> Response:
        query = serializers.StandupPreviewQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        board_id = query.validated_data.get("board")
        organization_id = query.validated_data.get("organization")
        if board_id is not None:
            board = Board.objects.filter(pk=board_id).only("organization_id").first()
            if board is None or (organization_id and board.organization_id != organization_id):
                raise NotFound("Board not found.")
            organization_id = board.organization_id
        elif organization_id is None:
            mine = list(
                Membership.objects.filter(user=request.user).values_list("organization_id", flat=True)[:2]
            )
            if len(mine) != 1:
                raise DomainError("Name an organization or a board.", code="organization_required")
            organization_id = mine[0]
        require_role(user=request.user, organization=organization_id, role=Role.VIEWER)
        config = selectors.settings_for(organization_id)
        day = selectors.parse_day(query.validated_data.get("date"), config)
        posted = selectors.posted(organization_id, board_id, day)
        if posted is not None:
            return Response(serializers.StandupSerializer(posted).data)
        computed = standup_figures.compute(selectors.scope_of(config, board_id), day)
        return Response(
            {
                "id": None,
                "organization": organization_id,
                "board": board_id,
                "date": day.isoformat(),
                "time_zone": config.time_zone,
                "quiet": standup_figures.is_quiet(computed),
                "sentences": standup_figures.sentences(computed),
                "figures": computed,
                "chat_message": None,
                "delivery": None,
                "emailed_at": None,
                "email_count": 0,
                "created_at": None,
            }
        )


class StandupSettingsViewSet(mixins.RetrieveModelMixin, mixins.UpdateModelMixin, HumanViewSet):
    """An organization's standup settings, by organization id: members read, admins change."""

    queryset = Organization.objects.none()
    serializer_class = serializers.StandupSettingsSerializer
    filter_backends: list = []
    pagination_class = None

    def get_object(self):
        organization_id = parse_id(self.kwargs["pk"])
        organization = (
            Organization.objects.visible_to(self.request.user).filter(pk=organization_id).first()
            if organization_id
            else None
        )
        if organization is None:
            raise NotFound("Not found.")
        self._organization = organization
        return selectors.settings_for(organization.pk, organization_time_zone=organization.time_zone)

    def update(self, request: Request, *args, **kwargs) -> Response:
        config = self.get_object()
        require_role(user=request.user, organization=self._organization.pk, role=Role.ADMIN)
        serializer = self.get_serializer(config, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        config = services.update_standup_settings(
            actor=self.actor, organization=self._organization, **serializer.validated_data
        )
        return Response(self.get_serializer(config).data)
