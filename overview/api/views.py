"""`GET /api/v1/metrics/…` and `GET /api/v1/exports/<dataset>`: the overview's numbers and exports
for tools (personal token or session) and agents (agent token).

A person names the organization (`organization=<id>`, optional when they belong to one only); an
agent always reads its own organization, narrowed to the boards it is on. Another organization, or
a board outside the scope, is a 404.
"""

from __future__ import annotations

from dataclasses import asdict

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from agents.authentication import HUMAN_OR_AGENT_AUTHENTICATION
from boards.models import Board
from core.api.views import HumanViewSet
from core.models import Organization
from infra.exceptions import DomainError, NotFound
from overview import exports, metrics
from overview import fleet as fleet_reads
from overview.api import serializers
from overview.metrics import Period, Scope
from overview.rollup import catch_up_before_read

ORGANIZATION_PARAM = OpenApiParameter(
    "organization", OpenApiTypes.INT, description="Organization id; optional when you belong to one only."
)
BOARD_PARAM = OpenApiParameter("board", OpenApiTypes.INT, description="Only this board of the organization.")
DAYS_PARAM = OpenApiParameter(
    "days",
    OpenApiTypes.INT,
    enum=list(metrics.PERIOD_DAYS),
    description="The period: the last 7, 30 or 90 days.",
)


def _whole_number(name: str, raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    if not raw.isdigit() or not 0 < int(raw) < 2**63:
        raise DomainError(f"{name} must be a positive whole number.", code="invalid_parameter")
    return int(raw)


class ScopedViewSet(HumanViewSet):
    """The human base, widened to agents: a person reads an organization, an agent its boards."""

    authentication_classes = HUMAN_OR_AGENT_AUTHENTICATION
    permission_classes = [IsAuthenticated]

    def organization_and_boards(self, request: Request) -> tuple[Organization, tuple[int, ...] | None]:
        agent = getattr(request.user, "agent", None)
        board_id = _whole_number("board", request.query_params.get("board"))
        if agent is not None:
            organization = Organization.objects.get(pk=agent.organization_id)
            allowed = tuple(
                Board.objects.filter(agents=agent, organization=organization).values_list("pk", flat=True)
            )
        else:
            organization = self._person_organization(request)
            allowed = None
        if board_id is not None:
            in_scope = Board.objects.filter(organization=organization, pk=board_id).exists()
            if not in_scope or (allowed is not None and board_id not in allowed):
                raise NotFound("Board not found.")
            return organization, (board_id,)
        return organization, allowed

    def _person_organization(self, request: Request) -> Organization:
        organizations = Organization.objects.visible_to(request.user)
        wanted = _whole_number("organization", request.query_params.get("organization"))
        if wanted is not None:
            organization = organizations.filter(pk=wanted).first()
            if organization is None:
                raise NotFound("Organization not found.")
            return organization
        mine = list(organizations.order_by("pk")[:2])
        if len(mine) != 1:
            raise DomainError(
                "Name the organization: ?organization=<id> (you belong to several, or to none).",
                code="organization_required",
            )
        return mine[0]

    def scope_and_period(self, request: Request) -> tuple[Scope, Period]:
        organization, board_ids = self.organization_and_boards(request)
        days = _whole_number("days", request.query_params.get("days")) or metrics.DEFAULT_PERIOD_DAYS
        if days not in metrics.PERIOD_DAYS:
            raise DomainError("days must be 7, 30 or 90.", code="invalid_parameter")
        catch_up_before_read()
        return Scope(organization.pk, board_ids), Period.ending_today(days)


class MetricsKpiViewSet(ScopedViewSet):
    """KPIs over the period with the same figures for the period before, and work in progress now."""

    @extend_schema(
        parameters=[ORGANIZATION_PARAM, BOARD_PARAM, DAYS_PARAM],
        responses={200: serializers.KpiReportSerializer, 400: OpenApiResponse(description="Bad parameter")},
    )
    def kpis(self, request: Request) -> Response:
        scope, period = self.scope_and_period(request)
        report = {
            "organization": scope.organization_id,
            "boards": scope.board_ids,
            "period": serializers.period_data(period),
            "previous_period": serializers.period_data(period.previous()),
            "kpis": [{**asdict(kpi), "change": kpi.change} for kpi in metrics.kpis(scope, period)],
            "wip": metrics.work_in_progress(scope),
        }
        return Response(serializers.KpiReportSerializer(report).data)


class MetricsChartViewSet(ScopedViewSet):
    """The overview's chart series: throughput per day by board, cycle-time histogram, webhook volume
    by outcome, and a cumulative-flow diagram per board."""

    @extend_schema(
        parameters=[ORGANIZATION_PARAM, BOARD_PARAM, DAYS_PARAM],
        responses={200: serializers.ChartReportSerializer, 400: OpenApiResponse(description="Bad parameter")},
    )
    def charts(self, request: Request) -> Response:
        scope, period = self.scope_and_period(request)
        summary = metrics.overview(scope, period)
        charts = [{"id": chart.id, "title": chart.title, **chart.data} for chart in summary.charts]
        return Response({"period": serializers.period_data(period), "charts": charts})


class MetricsFleetViewSet(ScopedViewSet):
    """Every agent with presence, claimed tasks and failures, and what needs attention now."""

    @extend_schema(parameters=[ORGANIZATION_PARAM, BOARD_PARAM], responses=serializers.FleetReportSerializer)
    def fleet(self, request: Request) -> Response:
        organization, board_ids = self.organization_and_boards(request)
        scope = Scope(organization.pk, board_ids)
        catch_up_before_read()
        agents = fleet_reads.fleet(scope)
        attention = fleet_reads.needs_attention(scope, agents=agents)
        return Response(
            serializers.FleetReportSerializer(
                {"agents": agents, "attention": [asdict(group) for group in attention]}
            ).data
        )


class ExportViewSet(ScopedViewSet):
    """Streams every row of a dataset in the scope as CSV or JSON lines, oldest first, up to the row
    limit (EXPORT_MAX_ROWS; `after=<last id>` continues)."""

    # No model behind the path's `dataset`: tells the schema generator not to look for one.
    queryset = None
    serializer_class = None

    def perform_content_negotiation(self, request: Request, force: bool = False):
        # `format` names the export's format here, not one of DRF's renderers (which would 404 it);
        # errors still render as JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        request=None,
        parameters=[
            ORGANIZATION_PARAM,
            BOARD_PARAM,
            OpenApiParameter("dataset", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(exports.DATASETS)),
            OpenApiParameter(
                "format", OpenApiTypes.STR, enum=list(exports.FORMATS), description="Default csv."
            ),
            OpenApiParameter(
                "since", OpenApiTypes.DATETIME, description="Created at or after (date or time)."
            ),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="Created before (date or time)."),
            OpenApiParameter(
                "after", OpenApiTypes.INT, description="Only rows with a larger id (to page on)."
            ),
            OpenApiParameter("limit", OpenApiTypes.INT, description="At most this many rows."),
            OpenApiParameter("status", OpenApiTypes.STR, description="tasks, deliveries: only this status."),
            OpenApiParameter(
                "verb", OpenApiTypes.STR, description="activity: an event type, or a prefix ending in '.'."
            ),
            OpenApiParameter(
                "actor", OpenApiTypes.STR, description="activity: user, agent, webhook or system."
            ),
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/x-ndjson"): OpenApiTypes.STR,
            400: OpenApiResponse(description="Bad filter"),
            404: OpenApiResponse(description="Unknown dataset, organization or board"),
        },
    )
    def export(self, request: Request, dataset: str) -> HttpResponse:
        if dataset not in exports.DATASETS:
            raise NotFound("No such export.")
        chosen = exports.DATASETS[dataset]
        organization, board_ids = self.organization_and_boards(request)
        if board_ids is not None and len(board_ids) != 1:
            # An agent on several boards exports one board at a time.
            raise DomainError("Name the board: ?board=<id>.", code="board_required")
        fmt = exports.parse_format(request.query_params.get("format"))
        filters = exports.parse_filters(chosen, organization, request.query_params)
        if board_ids is not None:
            filters["board"] = board_ids[0]
        return exports.streaming_export(request._request, chosen, organization, filters, fmt)
