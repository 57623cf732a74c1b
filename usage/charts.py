"""A stacked bar chart of spend per day, drawn on the server as SVG geometry.

No chart library has landed on main yet (issue 16 vendors one); this keeps the page accessible
without JavaScript: the SVG is labelled and every bar segment has a <title>, and the page shows
the same numbers in a table.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from usage.models import MICROS_PER_DOLLAR

WIDTH = 720
HEIGHT = 220
# Series beyond this many are folded into "other" so the legend stays readable.
MAX_SERIES = 6
OTHER = "other"


@dataclass(frozen=True)
class Segment:
    x: float
    y: float
    width: float
    height: float
    series: int
    title: str


@dataclass(frozen=True)
class SpendChart:
    days: list[date]
    series: list[str]
    segments: list[Segment]
    max_dollars: Decimal
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def is_empty(self) -> bool:
        return not self.segments


def dollars(micros: int) -> Decimal:
    return (Decimal(micros) / MICROS_PER_DOLLAR).quantize(Decimal("0.01"))


def spend_chart(rows: list[tuple[date, str, int]], *, first: date, last: date) -> SpendChart:
    """`rows`: (day, series label, cost in micro-dollars). One bar per day from first to last."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    totals_by_series: dict[str, int] = defaultdict(int)
    for _day, label, micros in rows:
        totals_by_series[label] += micros
    ranked = sorted(totals_by_series, key=lambda label: (-totals_by_series[label], label))
    kept = ranked[:MAX_SERIES]
    series = kept + ([OTHER] if len(ranked) > MAX_SERIES else [])
    per_day: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day, label, micros in rows:
        per_day[day][label if label in kept else OTHER] += micros
    peak = max((sum(values.values()) for values in per_day.values()), default=0)
    segments: list[Segment] = []
    if peak > 0:
        slot = WIDTH / len(days)
        for index, day in enumerate(days):
            top = HEIGHT
            for series_index, label in enumerate(series):
                micros = per_day[day].get(label, 0)
                if micros <= 0:
                    continue
                height = HEIGHT * micros / peak
                top -= height
                segments.append(
                    Segment(
                        x=round(index * slot + slot * 0.1, 2),
                        y=round(top, 2),
                        width=round(slot * 0.8, 2),
                        height=round(height, 2),
                        series=series_index,
                        title=f"{day.isoformat()} · {label}: ${dollars(micros)}",
                    )
                )
    return SpendChart(days=days, series=series, segments=segments, max_dollars=dollars(peak))
