"""The spend chart: cost per day stacked by model or agent, as a infra.charts.Chart
(drawn by static/js/charts.js with uPlot, with the same numbers as a table for screen readers)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from infra.charts import Chart, ChartSeries
from usage.models import MICROS_PER_DOLLAR

CHART_ID = "usage-spend-chart"
# Series beyond this many are folded into "other" so the legend stays readable (six chart colours).
MAX_SERIES = 5
OTHER = "other"


def spend_chart(rows: list[tuple[date, str, int]], *, first: date, last: date, stack: str = "model") -> Chart:
    """`rows`: (day, series label, cost in micro-dollars). One stacked bar per day, first to last."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    totals_by_series: dict[str, int] = defaultdict(int)
    for _day, label, micros in rows:
        totals_by_series[label] += micros
    ranked = sorted(totals_by_series, key=lambda label: (-totals_by_series[label], label))
    kept = ranked[:MAX_SERIES]
    labels = kept + ([OTHER] if len(ranked) > MAX_SERIES else [])
    per_day: dict[tuple[date, str], int] = defaultdict(int)
    for day, label, micros in rows:
        per_day[day, label if label in kept else OTHER] += micros
    return Chart(
        id=CHART_ID,
        title=f"Spend per day (USD), stacked by {stack}",
        kind="bars",
        stacked=True,
        x=[day.isoformat() for day in days],
        series=[
            ChartSeries(label, [round(per_day[day, label] / MICROS_PER_DOLLAR, 2) for day in days])
            for label in labels
        ],
        x_label="Day",
        y_label="USD",
    )
