"""Chart data for pages: one shape for the JSON block static/js/charts.js draws and the table
screen readers get instead (docs/charts.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from django.utils.html import format_html_join
from django.utils.safestring import SafeString

ChartKind = Literal["bars", "lines", "area", "histogram"]


@dataclass(frozen=True)
class ChartSeries:
    label: str
    values: Sequence[float | int]


@dataclass(frozen=True)
class Chart:
    """A chart over labelled x positions (days, buckets); every series has one value per label."""

    id: str
    title: str
    kind: ChartKind
    x: Sequence[str]
    series: Sequence[ChartSeries] = field(default_factory=tuple)
    stacked: bool = False
    x_label: str = ""
    y_label: str = ""
    # Whether the y axis starts at 0; None means yes for counts (bars, histogram, area), while a
    # line may zoom in on its range. A count axis from 0.8 makes one bar look like nothing.
    y_zero: bool | None = None
    # At most this many pixels per x label (None: the chart fills its box): a chart of a few
    # categories (people, not days) stays compact instead of putting its bars at the far edges.
    slot_px: int | None = None

    def __post_init__(self) -> None:
        for series in self.series:
            if len(series.values) != len(self.x):
                raise ValueError(
                    f"series {series.label!r} has {len(series.values)} values for {len(self.x)} labels"
                )

    @property
    def starts_at_zero(self) -> bool:
        return self.y_zero if self.y_zero is not None else self.kind in ("bars", "histogram", "area")

    @property
    def data(self) -> dict:
        """What the JSON block holds (rendered with |json_script:chart.id)."""
        return {
            "kind": self.kind,
            "stacked": self.stacked,
            "x": list(self.x),
            "x_label": self.x_label,
            "y_label": self.y_label,
            "y_zero": self.starts_at_zero,
            "slot_px": self.slot_px,
            "series": [{"label": series.label, "values": list(series.values)} for series in self.series],
        }

    @property
    def rows(self) -> list[tuple[str, list[float | int]]]:
        """The table fallback: one row per x label with each series' value."""
        return [(label, [series.values[i] for series in self.series]) for i, label in enumerate(self.x)]

    @property
    def table_body(self) -> SafeString:
        """The rows of the table fallback as escaped HTML (a template loop over every cell of a
        90-day chart costs more than the queries behind it)."""
        return format_html_join(
            "",
            '<tr><th scope="row">{}</th>{}</tr>',
            (
                (label, format_html_join("", "<td>{}</td>", ((value,) for value in values)))
                for label, values in self.rows
            ),
        )
