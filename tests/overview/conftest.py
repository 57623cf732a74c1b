"""A fixed history for the overview's numbers: tasks moved through the real services at set
times, so every KPI has a value worked out by hand (see test_metrics.py)."""

from __future__ import annotations

import datetime
from contextlib import contextmanager
from unittest import mock

import pytest

from boards import services
from boards.models import TaskStatus
from core.actors import Actor
from overview.metrics import Period, Scope
from overview.rollup import refresh_task_flows
from tests.factories import BoardFactory

UTC = datetime.UTC
# "Now" for the fixed history: the 7-day period is [03-04 00:00, 03-11 00:00), the previous one
# [02-25 00:00, 03-04 00:00).
NOW = datetime.datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
HOUR = 3600.0


def moment(day: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 3) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


@contextmanager
def clock(when: datetime.datetime):
    """Rows created inside get `when` as their auto_now_add time."""
    with mock.patch("django.utils.timezone.now", return_value=when):
        yield


class History:
    """Writes a task's life at given times through boards.services."""

    def __init__(self, board, actor) -> None:
        self.board = board
        self.actor = actor

    def task(
        self, title: str, created: datetime.datetime, *moves: tuple[str, datetime.datetime], status=None
    ):
        with clock(created):
            task = services.create_task(
                board=self.board, actor=self.actor, title=title, status=status or TaskStatus.INBOX
            )
        for to, when in moves:
            with clock(when):
                task = services.move_task(task=task, actor=self.actor, status=to)
        return task


@pytest.fixture
def history(board, user):
    return History(board, Actor.for_user(user))


@pytest.fixture
def period():
    return Period.ending_today(7, now=NOW)


@pytest.fixture
def scope(organization):
    return Scope(organization_id=organization.pk)


IP, RV, DN, IB, BL = (
    TaskStatus.IN_PROGRESS,
    TaskStatus.REVIEW,
    TaskStatus.DONE,
    TaskStatus.INBOX,
    TaskStatus.BLOCKED,
)


@pytest.fixture
def fixed_history(history, organization, user, outsider, other_organization):
    """The tasks of test_metrics' expectations (cycle / lead in hours in the comments)."""
    h = history
    tasks = {
        # plain: cycle 48, lead 50
        "plain": h.task("plain", moment(5, 8), (IP, moment(5, 10)), (RV, moment(6, 10)), (DN, moment(7, 10))),
        # reopened and done again: counts once, at the later done; cycle 96 (first start), lead 97
        "reopened": h.task(
            "reopened",
            moment(4, 1),
            (IP, moment(4, 2)),
            (RV, moment(4, 3)),
            (DN, moment(4, 4)),
            (IP, moment(5, 0)),
            (RV, moment(8, 0)),
            (DN, moment(8, 2)),
        ),
        # moved back from review: cycle from the first start, 6; lead 7
        "moved_back": h.task(
            "moved back",
            moment(6, 0),
            (IP, moment(6, 1)),
            (RV, moment(6, 2)),
            (IP, moment(6, 3)),
            (RV, moment(6, 5)),
            (DN, moment(6, 7)),
        ),
        # never in progress (blocked -> review -> done): no cycle time; lead 3
        "never_started": h.task(
            "never started", moment(7, 0), (BL, moment(7, 1)), (RV, moment(7, 2)), (DN, moment(7, 3))
        ),
        # done exactly at the period's start: in this period; cycle 12, lead 24
        "at_start": h.task(
            "at start", moment(3, 0), (IP, moment(3, 12)), (RV, moment(3, 13)), (DN, moment(4, 0))
        ),
        # done a second before the period: the previous period; cycle 12, lead 24
        "before_start": h.task(
            "before start",
            moment(2, 23, 59, 59),
            (IP, moment(3, 11, 59, 59)),
            (RV, moment(3, 12)),
            (DN, moment(3, 23, 59, 59)),
        ),
        # done, then reopened and still open: not done in any period; work in progress
        "reopened_open": h.task(
            "reopened open",
            moment(5, 0),
            (IP, moment(5, 1)),
            (RV, moment(5, 2)),
            (DN, moment(6, 0)),
            (IP, moment(9, 0)),
        ),
        # previous period: cycle 24, lead 25
        "previous": h.task(
            "previous",
            moment(26, 0, month=2),
            (IP, moment(26, 1, month=2)),
            (RV, moment(26, 2, month=2)),
            (DN, moment(27, 1, month=2)),
        ),
        "waiting": h.task("waiting", moment(9, 0)),
        "blocked": h.task("blocked", moment(9, 0), (BL, moment(9, 1))),
    }
    # Another organization's done task must count nowhere here.
    other_board = BoardFactory(organization=other_organization, name="Other", slug="other")
    History(other_board, Actor.for_user(outsider)).task(
        "elsewhere", moment(5, 0), (IP, moment(5, 1)), (RV, moment(5, 2)), (DN, moment(5, 3))
    )
    refresh_task_flows(batches=10)
    return tasks
