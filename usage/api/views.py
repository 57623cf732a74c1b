"""`GET /api/v1/usage/` (totals for people and their tools). Totals read only the daily rollup,
never the raw reports. Agents report usage through the agent API (agent_api: POST /agent/usage)."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from core.access import current_organization, require_role
from core.api.views import HumanAPIMixin
from core.models import Organization
from infra.exceptions import NotFound
from usage.api import serializers as s
from usage.models import GROUP_BY_FIELDS, MICROS_PER_DOLLAR, UsageDaily, rollup_for

# Grouping by task can yield many rows: the biggest first, this many at most.
MAX_TOTAL_ROWS = 1000


def _labels(group_by: str, keys: list, organization_id: int) -> dict:
    """Names of the keys, read through the organization's own relations: another organization's
    agent, board or task gets no label."""
    organization = Organization.objects.filter(pk=organization_id)
    if group_by == "agent":
        rows = organization.filter(agents__pk__in=keys).values_list("agents__pk", "agents__name")
    elif group_by == "board":
        rows = organization.filter(boards__pk__in=keys).values_list("boards__pk", "boards__name")
    elif group_by == "task":
        rows = organization.filter(boards__tasks__pk__in=keys).values_list(
            "boards__tasks__pk", "boards__tasks__title"
        )
    else:
        return {}
    return dict(rows)


class UsageTotalsView(HumanAPIMixin, GenericAPIView):
    queryset = UsageDaily.objects.none()  # for the schema generator; reads are scoped below
    serializer_class = s.UsageTotalSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("group_by", str, enum=sorted(GROUP_BY_FIELDS), description="default: day"),
            OpenApiParameter("from", str, description="first day, YYYY-MM-DD (UTC)"),
            OpenApiParameter("to", str, description="last day, YYYY-MM-DD (UTC), included"),
            OpenApiParameter("organization", int, description="default: the current organization"),
        ],
        responses=s.usage_totals_schema(),
    )
    def get(self, request: Request) -> Response:
        query = s.UsageQuerySerializer(
            data={
                "group_by": request.query_params.get("group_by", "day"),
                "first": request.query_params.get("from"),
                "last": request.query_params.get("to"),
                "organization": request.query_params.get("organization"),
            }
        )
        if not query.is_valid():
            names = {"first": "from", "last": "to"}
            raise ValidationError({names.get(field, field): errors for field, errors in query.errors.items()})
        params = query.validated_data
        organization_id = self.organization_id(params["organization"])
        group_by = params["group_by"]
        field = GROUP_BY_FIELDS[group_by]
        rows = list(
            rollup_for(group_by)
            .objects.of_organization(organization_id)
            .between(params["first"], params["last"])
            .totals_by(group_by)[: MAX_TOTAL_ROWS + 1]
        )
        truncated = len(rows) > MAX_TOTAL_ROWS
        rows = rows[:MAX_TOTAL_ROWS]
        labels = _labels(group_by, [row[field] for row in rows], organization_id)
        results = [
            {
                "key": str(row[field]),
                "label": str(labels.get(row[field], row[field] if group_by in ("model", "day") else "")),
                "reports": row["reports"],
                "input_tokens": row["input_tokens"],
                "output_tokens": row["output_tokens"],
                "cached_tokens": row["cached_tokens"],
                "cost": str(Decimal(row["cost_micros"]) / MICROS_PER_DOLLAR),
                "unpriced_reports": row["unpriced_reports"],
            }
            for row in rows
        ]
        return Response(
            {
                "organization": organization_id,
                "group_by": group_by,
                "from": params["first"],
                "to": params["last"],
                "currency": "USD",
                "truncated": truncated,
                "results": s.UsageTotalSerializer(results, many=True).data,
            }
        )

    def organization_id(self, requested: int | None) -> int:
        if requested is not None:
            return require_role(user=self.request.user, organization=requested).organization_id
        organization = current_organization(self.request)
        if organization is None:
            raise NotFound("Not found.")
        return organization.pk
