"""The overview's numbers: KPIs with their previous period, and the chart series.

Every figure is an aggregate query (COUNT / GROUP BY / ORDER BY ... LIMIT 1 OFFSET k) over an
indexed range; no query returns more rows than there are days x boards in the window, so the
page costs the same with ten tasks or a million. Definitions (docs/overview.md):

- done: tasks whose move to done that still holds falls in the period (a reopened task leaves
  its period until it is done again; a task done twice counts once, at the later time);
- throughput: done / days in the period;
- cycle time: first move to in progress -> done (tasks never in progress have none);
- lead time: created -> done;
- percentiles: nearest rank (the value at rank ceil(q x n) of the sorted values);
- webhooks received: payloads stored; refused: signature, size, disabled and invalid refusals of
  known webhooks;
- delivery success rate: succeeded / (succeeded + dead) of deliveries created in the period;
  pending and retrying ones are not decided yet.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Aggregate, Count, FloatField, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from boards.models import Board, Task, TaskStatus
from deliveries.models import Delivery, DeliveryStatus
from infra.charts import Chart, ChartSeries
from overview.models import TaskFlow
from webhooks.models import WebhookPayload, WebhookRefusalCount

PERIOD_DAYS = (7, 30, 90)
DEFAULT_PERIOD_DAYS = 7
HOUR = 3600.0
DAY = 24 * HOUR
# Cycle-time histogram buckets: (label, upper bound in seconds, exclusive).
CYCLE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 1 h", HOUR),
    ("1-4 h", 4 * HOUR),
    ("4-24 h", DAY),
    ("1-3 d", 3 * DAY),
    ("3-7 d", 7 * DAY),
    ("≥ 7 d", math.inf),
)
# The cumulative-flow diagrams drawn at most (the busiest boards in scope).
CFD_BOARDS_MAX = 6
WIP_STATUSES = (TaskStatus.INBOX, TaskStatus.IN_PROGRESS, TaskStatus.REVIEW, TaskStatus.BLOCKED)


@dataclass(frozen=True)
class Scope:
    """An organization, optionally narrowed to some of its boards."""

    organization_id: int
    board_ids: tuple[int, ...] | None = None

    def boards(self, queryset: QuerySet, field_name: str = "board_id") -> QuerySet:
        return (
            queryset if self.board_ids is None else queryset.filter(**{f"{field_name}__in": self.board_ids})
        )


@dataclass(frozen=True)
class Period:
    """[start, end): `days` days up to `end` (midnight UTC for the overview's periods)."""

    days: int
    end: datetime.datetime

    @property
    def start(self) -> datetime.datetime:
        return self.end - datetime.timedelta(days=self.days)

    def previous(self) -> Period:
        return Period(days=self.days, end=self.start)

    def dates(self) -> list[datetime.date]:
        """The calendar days (UTC) the period touches, oldest first."""
        first = self.start.date()
        last = (self.end - datetime.timedelta(microseconds=1)).date()
        return [first + datetime.timedelta(days=i) for i in range((last - first).days + 1)]

    @classmethod
    def ending_today(cls, days: int, now: datetime.datetime | None = None) -> Period:
        """The last `days` calendar days (UTC) including today: periods align with the per-day
        charts and counters, and the previous period never shares a day with this one."""
        now = now or timezone.now()
        today = now.astimezone(datetime.UTC).date()
        end = datetime.datetime.combine(
            today + datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC
        )
        return cls(days=days, end=end)


@dataclass(frozen=True)
class FlowFigures:
    done: int
    throughput_per_day: float
    cycle_median_seconds: float | None
    cycle_p90_seconds: float | None
    lead_median_seconds: float | None
    lead_p90_seconds: float | None
    cycle_buckets: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    value: float | int | None
    previous: float | int | None
    unit: str = ""  # "", "per_day", "seconds", "ratio"
    # True when a higher value is good news (tasks done), False when it is bad (cycle time).
    higher_is_better: bool = True

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def trend(self) -> str:
        """ "up", "down" or "flat": the direction of the change, for the arrow."""
        change = self.change
        if not change:
            return "flat"
        return "up" if change > 0 else "down"

    @property
    def good(self) -> bool | None:
        change = self.change
        if not change:
            return None
        return (change > 0) == self.higher_is_better


@dataclass(frozen=True)
class Overview:
    period: Period
    kpis: list[Kpi]
    wip: dict[str, int]
    charts: list[Chart] = field(default_factory=list)


def nearest_rank(queryset: QuerySet, field_name: str, count: int, fraction: float) -> float | None:
    """The value at rank ceil(fraction x count) of `field_name` in ascending order: one
    `ORDER BY … LIMIT 1 OFFSET k`, the same on SQLite and PostgreSQL."""
    if count == 0:
        return None
    rank = max(math.ceil(fraction * count), 1)
    return queryset.order_by(field_name, "pk").values_list(field_name, flat=True)[rank - 1]


class PercentileDisc(Aggregate):
    """PostgreSQL's percentile_disc: the first value whose cumulative share reaches `fraction`,
    i.e. the nearest rank; NULLs are ignored (tasks never started have no cycle time)."""

    function = "percentile_disc"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: str, fraction: float, **extra) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


PERCENTILES = (
    ("cycle_median_seconds", "cycle_seconds", 0.5),
    ("cycle_p90_seconds", "cycle_seconds", 0.9),
    ("lead_median_seconds", "lead_seconds", 0.5),
    ("lead_p90_seconds", "lead_seconds", 0.9),
)


def _within(field_name: str, period: Period) -> Q:
    return Q(**{f"{field_name}__gte": period.start, f"{field_name}__lt": period.end})


def _spanning(queryset: QuerySet, field_name: str, periods: Sequence[Period]) -> QuerySet:
    start = min(period.start for period in periods)
    end = max(period.end for period in periods)
    return queryset.filter(**{f"{field_name}__gte": start, f"{field_name}__lt": end})


def _bucket_aggregates(within: Q) -> dict[str, Count]:
    aggregates, lower = {}, 0.0
    for i, (_, upper) in enumerate(CYCLE_BUCKETS):
        bucket = (
            Q(cycle_seconds__gte=lower)
            if upper == math.inf
            else Q(cycle_seconds__gte=lower, cycle_seconds__lt=upper)
        )
        aggregates[f"bucket_{i}"] = Count("pk", filter=within & bucket)
        lower = upper
    return aggregates


def flow_figures(scope: Scope, *periods: Period) -> list[FlowFigures]:
    """Done, throughput, the four percentiles and the cycle-time histogram for each period: one
    query on PostgreSQL (the percentiles are aggregates), on SQLite one plus a LIMIT 1 OFFSET k
    per percentile."""
    flows = scope.boards(TaskFlow.objects.filter(organization_id=scope.organization_id))
    postgres = connection.vendor == "postgresql"
    aggregates = {}
    for i, period in enumerate(periods):
        within = _within("done_at", period)
        aggregates[f"done_{i}"] = Count("pk", filter=within)
        aggregates[f"cycled_{i}"] = Count("cycle_seconds", filter=within)
        aggregates.update({f"{key}_{i}": value for key, value in _bucket_aggregates(within).items()})
        if postgres:
            for key, field_name, fraction in PERCENTILES:
                aggregates[f"{key}_{i}"] = PercentileDisc(field_name, fraction, filter=within)
    row = _spanning(flows, "done_at", periods).aggregate(**aggregates)
    figures = []
    for i, period in enumerate(periods):
        done = row[f"done_{i}"]
        if postgres:
            ranks = {key: row[f"{key}_{i}"] for key, _, _ in PERCENTILES}
        else:
            in_period = flows.done_between(period.start, period.end)
            counts = {"cycle_seconds": row[f"cycled_{i}"], "lead_seconds": done}
            ranks = {
                key: nearest_rank(
                    in_period.filter(**{f"{field_name}__isnull": False}),
                    field_name,
                    counts[field_name],
                    fraction,
                )
                for key, field_name, fraction in PERCENTILES
            }
        buckets = [row[f"bucket_{b}_{i}"] for b in range(len(CYCLE_BUCKETS))]
        figures.append(
            FlowFigures(
                done=done, throughput_per_day=round(done / period.days, 2), cycle_buckets=buckets, **ranks
            )
        )
    return figures


def work_in_progress(scope: Scope) -> dict[str, int]:
    """Open tasks per column now (done is not work in progress)."""
    tasks = scope.boards(Task.objects.filter(board__organization_id=scope.organization_id))
    counts = dict(
        tasks.filter(status__in=WIP_STATUSES)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in WIP_STATUSES}


def webhook_days(
    scope: Scope, start: datetime.datetime, end: datetime.datetime
) -> dict[datetime.date, list[int]]:
    """[stored, refused] per day from `start` to `end`: two grouped queries that give both the
    webhook KPIs of both periods and the webhook-volume chart."""
    days: dict[datetime.date, list[int]] = {}
    payloads = scope.boards(WebhookPayload.objects.filter(board__organization_id=scope.organization_id))
    for row in (
        payloads.filter(received_at__gte=start, received_at__lt=end)
        .annotate(day=TruncDate("received_at"))
        .values("day")
        .annotate(n=Count("pk"))
    ):
        days.setdefault(_as_date(row["day"]), [0, 0])[0] += row["n"]
    refusals = scope.boards(WebhookRefusalCount.objects.filter(board__organization_id=scope.organization_id))
    for row in (
        refusals.filter(day__gte=start.date(), day__lt=end.date()).values("day").annotate(n=Sum("count"))
    ):
        days.setdefault(row["day"], [0, 0])[1] += row["n"]
    return days


def webhook_figures(
    scope: Scope, *periods: Period, days: dict[datetime.date, list[int]] | None = None
) -> list[dict[str, int]]:
    """Payloads stored and refusals counted, per period."""
    if days is None:
        days = webhook_days(scope, min(p.start for p in periods), max(p.end for p in periods))
    figures = []
    for period in periods:
        counts = [days.get(day, [0, 0]) for day in period.dates()]
        figures.append({"received": sum(c[0] for c in counts), "refused": sum(c[1] for c in counts)})
    return figures


def delivery_figures(scope: Scope, *periods: Period) -> list[dict[str, int | float | None]]:
    """Deliveries succeeded and dead per period, and the success rate among those decided."""
    deliveries = scope.boards(Delivery.objects.filter(organization_id=scope.organization_id))
    aggregates = {}
    for i, period in enumerate(periods):
        within = _within("created_at", period)
        aggregates[f"succeeded_{i}"] = Count("pk", filter=within & Q(status=DeliveryStatus.SUCCEEDED))
        aggregates[f"dead_{i}"] = Count("pk", filter=within & Q(status=DeliveryStatus.DEAD))
    row = _spanning(deliveries, "created_at", periods).aggregate(**aggregates)
    figures = []
    for i in range(len(periods)):
        succeeded, dead = row[f"succeeded_{i}"], row[f"dead_{i}"]
        rate = round(succeeded / (succeeded + dead), 4) if succeeded + dead else None
        figures.append({"succeeded": succeeded, "dead": dead, "success_rate": rate})
    return figures


def kpis(
    scope: Scope,
    period: Period,
    *,
    flows: list[FlowFigures] | None = None,
    days: dict[datetime.date, list[int]] | None = None,
) -> list[Kpi]:
    """Every KPI for the period, each with its value for the period before (pass figures already
    read for the charts to read nothing twice)."""
    now_flow, before_flow = flows or flow_figures(scope, period, period.previous())
    now_hooks, before_hooks = webhook_figures(scope, period, period.previous(), days=days)
    now_sent, before_sent = delivery_figures(scope, period, period.previous())
    return [
        Kpi("tasks_done", "Tasks done", now_flow.done, before_flow.done),
        Kpi(
            "throughput_per_day",
            "Throughput",
            now_flow.throughput_per_day,
            before_flow.throughput_per_day,
            "per_day",
        ),
        *[
            Kpi(
                key,
                label,
                getattr(now_flow, key),
                getattr(before_flow, key),
                "seconds",
                higher_is_better=False,
            )
            for key, label in (
                ("cycle_median_seconds", "Cycle time, median"),
                ("cycle_p90_seconds", "Cycle time, p90"),
                ("lead_median_seconds", "Lead time, median"),
                ("lead_p90_seconds", "Lead time, p90"),
            )
        ],
        Kpi("webhooks_received", "Webhooks received", now_hooks["received"], before_hooks["received"]),
        Kpi(
            "webhooks_refused",
            "Webhooks refused",
            now_hooks["refused"],
            before_hooks["refused"],
            higher_is_better=False,
        ),
        Kpi(
            "delivery_success_rate",
            "Delivery success",
            now_sent["success_rate"],
            before_sent["success_rate"],
            "ratio",
        ),
    ]


# --- charts ---------------------------------------------------------------------------------------


def _day_labels(period: Period) -> list[str]:
    return [day.isoformat() for day in period.dates()]


def _day_index(period: Period) -> dict[datetime.date, int]:
    return {day: i for i, day in enumerate(period.dates())}


def _as_date(value) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


def daily_per_board(scope: Scope, period: Period, field_name: str) -> dict[int, list[int]]:
    """Task flows whose `field_name` (created_at, started_at, done_at) falls on each day of the
    period, per board: one grouped query (board, day)."""
    rows = (
        scope.boards(TaskFlow.objects.filter(organization_id=scope.organization_id))
        .filter(_within(field_name, period))
        .annotate(day=TruncDate(field_name))
        .values("day", "board_id")
        .annotate(n=Count("pk"))
    )
    index = _day_index(period)
    per_board: dict[int, list[int]] = {}
    for row in rows:
        per_board.setdefault(row["board_id"], [0] * len(index))[index[_as_date(row["day"])]] += row["n"]
    return per_board


def throughput_chart(
    scope: Scope, period: Period, boards: dict[int, str], done_daily: dict[int, list[int]] | None = None
) -> Chart:
    """Tasks done per day, stacked by board."""
    per_board = done_daily if done_daily is not None else daily_per_board(scope, period, "done_at")
    index = _day_index(period)
    series = [
        ChartSeries(boards.get(board_id, f"Board {board_id}"), values)
        for board_id, values in sorted(per_board.items(), key=lambda item: boards.get(item[0], ""))
    ]
    return Chart(
        id="chart-throughput",
        title="Throughput per day, by board",
        kind="bars",
        stacked=True,
        x=_day_labels(period),
        series=series or [ChartSeries("Done", [0] * len(index))],
        x_label="Day",
        y_label="Tasks done",
    )


def cumulative_flow_charts(
    scope: Scope, period: Period, boards: dict[int, str], done_daily: dict[int, list[int]] | None = None
) -> list[Chart]:
    """Per board: how many tasks had arrived, started and finished by the end of each day.

    The gaps between the lines are the work waiting, in progress and done; a widening band is a
    queue building up. Three grouped queries (four without the throughput chart's done per day)
    whatever the number of boards or days.
    """
    flows = scope.boards(TaskFlow.objects.filter(organization_id=scope.organization_id))
    before = flows.values("board_id").annotate(
        arrived=Count("pk", filter=Q(created_at__lt=period.start)),
        started=Count("pk", filter=Q(started_at__lt=period.start)),
        done=Count("pk", filter=Q(done_at__lt=period.start)),
        recent=Count("pk", filter=Q(created_at__gte=period.start) | Q(done_at__gte=period.start)),
    )
    baseline = {row["board_id"]: row for row in before}
    shown = sorted(baseline, key=lambda board_id: (-baseline[board_id]["recent"], boards.get(board_id, "")))
    shown = shown[:CFD_BOARDS_MAX]
    days = len(period.dates())
    daily = {
        "created_at": daily_per_board(scope, period, "created_at"),
        "started_at": daily_per_board(scope, period, "started_at"),
        "done_at": done_daily if done_daily is not None else daily_per_board(scope, period, "done_at"),
    }
    charts = []
    for board_id in shown:
        start = baseline[board_id]
        lines = [
            ChartSeries(label, _running_total(start[key], daily[name].get(board_id, [0] * days)))
            for label, key, name in (
                ("Arrived", "arrived", "created_at"),
                ("Started", "started", "started_at"),
                ("Done", "done", "done_at"),
            )
        ]
        charts.append(
            Chart(
                id=f"chart-cfd-{board_id}",
                title=f"Cumulative flow: {boards.get(board_id, board_id)}",
                kind="area",
                x=_day_labels(period),
                series=lines,
                x_label="Day",
                y_label="Tasks",
            )
        )
    return charts


def _running_total(start: int, increments: Sequence[int]) -> list[int]:
    total, values = start, []
    for increment in increments:
        total += increment
        values.append(total)
    return values


def cycle_time_histogram(scope: Scope, period: Period, figures: FlowFigures | None = None) -> Chart:
    figures = figures or flow_figures(scope, period)[0]
    return Chart(
        id="chart-cycle-time",
        title="Cycle time",
        kind="histogram",
        x=[label for label, _ in CYCLE_BUCKETS],
        series=[ChartSeries("Tasks", figures.cycle_buckets)],
        x_label="Cycle time",
        y_label="Tasks",
    )


def webhook_volume_chart(
    scope: Scope, period: Period, days: dict[datetime.date, list[int]] | None = None
) -> Chart:
    """Webhook payloads per day by outcome: stored, or refused (signature, size, disabled...)."""
    if days is None:
        days = webhook_days(scope, period.start, period.end)
    counts = [days.get(day, [0, 0]) for day in period.dates()]
    return Chart(
        id="chart-webhooks",
        title="Webhooks by outcome",
        kind="bars",
        stacked=True,
        x=_day_labels(period),
        series=[
            ChartSeries("Stored", [c[0] for c in counts]),
            ChartSeries("Refused", [c[1] for c in counts]),
        ],
        x_label="Day",
        y_label="Payloads",
    )


def overview(scope: Scope, period: Period, boards: dict[int, str] | None = None) -> Overview:
    """Everything the overview's numbers show; each aggregate read once. `boards` (id -> name)
    saves a query when the caller has them."""
    if boards is None:
        boards = dict(
            scope.boards(Board.objects.filter(organization_id=scope.organization_id), "pk").values_list(
                "pk", "name"
            )
        )
    flows = flow_figures(scope, period, period.previous())
    days = webhook_days(scope, period.previous().start, period.end)
    done_daily = daily_per_board(scope, period, "done_at")
    charts = [
        throughput_chart(scope, period, boards, done_daily),
        cycle_time_histogram(scope, period, flows[0]),
        webhook_volume_chart(scope, period, days),
        *cumulative_flow_charts(scope, period, boards, done_daily),
    ]
    return Overview(
        period=period,
        kpis=kpis(scope, period, flows=flows, days=days),
        wip=work_in_progress(scope),
        charts=charts,
    )
