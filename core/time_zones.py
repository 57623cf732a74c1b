"""Time zone names: an organization's (Organization.time_zone), which new schedules and standup
settings start from. IANA names only (zoneinfo), so a typo is refused, not read as UTC."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError

DEFAULT_TIME_ZONE = "UTC"
MAX_TIME_ZONE_LENGTH = 64


@cache
def _names() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(name: object) -> bool:
    """An IANA name zoneinfo knows (Europe/Paris, UTC)."""
    return isinstance(name, str) and name in _names()


def validate_time_zone(value: object) -> None:
    """The model field's validator (admin, forms): the same rule as the services'."""
    if not is_time_zone(value):
        raise ValidationError(
            "%(value)s is not a time zone; use an IANA name such as Europe/Paris.",
            code="invalid_time_zone",
            params={"value": str(value)[:MAX_TIME_ZONE_LENGTH]},
        )
