"""Cron expressions: validation (croniter), wording (cron-descriptor), slots in a time zone.

Slots are computed in the schedule's time zone (so "0 9 * * *" is 09:00 there, summer and
winter) and stored in UTC.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cron_descriptor import Options, get_description
from croniter import croniter

from infra.exceptions import DomainError

MAX_CRON_LENGTH = 100
# Finer than a minute is not a schedule but a loop: croniter's optional seconds field is refused.
FIELDS = 5


def clean_time_zone(name: str) -> str:
    name = (name or "").strip() or "UTC"
    if len(name) > 64:
        raise DomainError("A time zone name is at most 64 characters.", code="invalid_time_zone")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(
            f"Unknown time zone “{name}” (use a name such as Europe/Paris).", code="invalid_time_zone"
        ) from None
    return name


def clean_cron(expression: str) -> str:
    expression = " ".join((expression or "").split())
    if len(expression) > MAX_CRON_LENGTH:
        raise DomainError(f"A cron expression is at most {MAX_CRON_LENGTH} characters.", code="too_long")
    if len(expression.split(" ")) != FIELDS or not croniter.is_valid(expression):
        raise DomainError(
            f"“{expression[:MAX_CRON_LENGTH]}” is not a cron expression of five fields "
            "(minute hour day-of-month month day-of-week), e.g. 0 9 * * 1-5.",
            code="invalid_cron",
        )
    try:
        croniter(expression).get_next(dt.datetime)
    except Exception:  # croniter's "no such date" errors: 31 February is valid syntax, never a slot
        raise DomainError(
            f"“{expression}” never comes round (check the day and month).", code="invalid_cron"
        ) from None
    return expression


def describe(expression: str) -> str:
    """“At 09:00, Monday through Friday”: the pages show this beside the expression."""
    options = Options()
    options.use_24hour_time_format = True
    try:
        return get_description(expression, options)
    except Exception:  # the library's errors are its own; a stored expression was already checked
        return expression


def next_slots(expression: str, time_zone: str, *, after: dt.datetime, count: int = 5) -> list[dt.datetime]:
    """The next `count` slots strictly after `after`, as aware datetimes in the time zone."""
    it = croniter(expression, after.astimezone(ZoneInfo(time_zone)))
    return [it.get_next(dt.datetime) for _ in range(count)]


def latest_slot(expression: str, time_zone: str, *, at: dt.datetime) -> dt.datetime:
    """The newest slot at or before `at`."""
    # get_prev is strictly before its start: start just after `at` so a slot at `at` counts.
    local = at.astimezone(ZoneInfo(time_zone)).replace(microsecond=0) + dt.timedelta(seconds=1)
    return croniter(expression, local).get_prev(dt.datetime)


def slots_between(
    expression: str, time_zone: str, *, first: dt.datetime, last: dt.datetime, limit: int = 10000
) -> int:
    """How many slots lie in [first, last] (counted up to `limit`: only a figure for the run row)."""
    it = croniter(expression, first.astimezone(ZoneInfo(time_zone)) - dt.timedelta(seconds=1))
    count = 0
    while count < limit and it.get_next(dt.datetime) <= last:
        count += 1
    return count


def time_zone_names() -> list[str]:
    return sorted(available_timezones())
