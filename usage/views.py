"""The usage page: spend per day stacked by model or agent, the top agents and tasks, CSV export."""

from __future__ import annotations

import csv
from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from agents.models import Agent
from boards.models import Task
from core.access import current_organization
from usage.charts import dollars, spend_chart
from usage.models import UsageDaily

RANGES = (7, 30, 90)
STACKS = ("model", "agent")


def _choice(value: str | None, allowed: tuple, default):
    return next((option for option in allowed if str(option) == value), default)


@login_required
def usage_page(request: HttpRequest) -> HttpResponse:
    organization = current_organization(request)
    days = _choice(request.GET.get("days"), RANGES, 30)
    stack = _choice(request.GET.get("stack"), STACKS, "model")
    context = {"organization": organization, "days": days, "stack": stack, "ranges": RANGES, "stacks": STACKS}
    if organization is None:
        return render(request, "usage/usage.html", context)
    last = timezone.now().date()
    first = last - timedelta(days=days - 1)
    rollup = UsageDaily.objects.of_organization(organization.pk).between(first, last)
    field = "model" if stack == "model" else "agent_id"
    per_day = list(rollup.values("day", field).annotate(cost=Sum("cost_micros")).order_by())
    agent_names = dict(Agent.objects.filter(organization=organization).values_list("pk", "name"))

    def label(row) -> str:
        return (
            row["model"] if stack == "model" else agent_names.get(row["agent_id"], f"agent {row['agent_id']}")
        )

    chart = spend_chart([(row["day"], label(row), row["cost"]) for row in per_day], first=first, last=last)
    top_agents = [
        {**row, "name": agent_names.get(row["agent_id"], ""), "cost": dollars(row["cost_micros"])}
        for row in rollup.totals_by("agent")[:10]
    ]
    top_tasks = [
        {**row, "cost": dollars(row["cost_micros"])}
        for row in rollup.exclude(task_key=0).totals_by("task")[:10]
    ]
    titles = dict(
        Task.objects.filter(
            board__organization=organization, pk__in=[row["task_key"] for row in top_tasks]
        ).values_list("pk", "title")
    )
    for row in top_tasks:
        row["title"] = titles.get(row["task_key"], f"task {row['task_key']} (deleted)")
    daily_totals = [
        {"day": day, "cost": dollars(sum(row["cost"] for row in per_day if row["day"] == day))}
        for day in chart.days
    ]
    context.update(
        chart=chart,
        top_agents=top_agents,
        top_tasks=top_tasks,
        daily_totals=daily_totals,
        total=dollars(sum(row["cost"] for row in per_day)),
    )
    return render(request, "usage/usage.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def usage_csv(request: HttpRequest) -> HttpResponse:
    """The rollup rows of the chosen range, one per day, agent, model, board and task."""
    organization = current_organization(request)
    days = _choice(request.GET.get("days"), RANGES, 30)
    last = timezone.now().date()
    rows = (
        UsageDaily.objects.none()
        if organization is None
        else UsageDaily.objects.of_organization(organization.pk).between(
            last - timedelta(days=days - 1), last
        )
    )
    writer = csv.writer(_Echo())
    header = [
        "day",
        "agent_id",
        "agent",
        "model",
        "board_id",
        "task_id",
        "reports",
        "input_tokens",
        "output_tokens",
        "cached_tokens",
        "cost_usd",
        "unpriced_reports",
    ]

    def lines():
        yield writer.writerow(header)
        for row in (
            rows.select_related("agent").order_by("day", "agent_id", "model").iterator(chunk_size=2000)
        ):
            yield writer.writerow(
                [
                    row.day.isoformat(),
                    row.agent_id,
                    row.agent.name,
                    row.model,
                    row.board_key or "",
                    row.task_key or "",
                    row.reports,
                    row.input_tokens,
                    row.output_tokens,
                    row.cached_tokens,
                    str(dollars(row.cost_micros)),
                    row.unpriced_reports,
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="usage-{last.isoformat()}-{days}d.csv"'
    return response
