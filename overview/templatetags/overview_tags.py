"""Formatting for the overview's figures."""

from __future__ import annotations

from django import template

register = template.Library()

MISSING = "–"  # noqa: RUF001 - an en dash: "no value yet"


def format_duration(seconds: float) -> str:
    """Two significant units at most: "45 s", "12 min", "3.5 h", "2 d 4 h"."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        hours = seconds / 3600
        return f"{hours:.1f} h".replace(".0 h", " h")
    days, rest = divmod(seconds, 86400)
    hours = round(rest / 3600)
    return f"{days:.0f} d {hours} h" if hours else f"{days:.0f} d"


@register.filter
def kpi_value(value, unit: str = "") -> str:
    if value is None:
        return MISSING
    if unit == "seconds":
        return format_duration(float(value))
    if unit == "ratio":
        return f"{value * 100:.1f}%".replace(".0%", "%")
    if unit == "per_day":
        return f"{value:g}/day"
    return f"{value:g}" if isinstance(value, float) else str(value)


@register.filter
def attention_total(groups) -> int:
    return sum(group.total for group in groups)
