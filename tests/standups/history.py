"""A fixed history built through the services at fixed times, for the standup tests.

The day under test is 2026-12-03 in Europe/Paris (UTC+1): it runs from 2026-12-02 23:00 UTC to
2026-12-03 23:00 UTC, so events just after local midnight carry the previous UTC date and those
just before it the same one: a standup that used UTC days would get both wrong.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from unittest import mock

from agents.services import create_agent
from boards import services as board_services
from boards.models import Approval, Board, Task
from core.actors import Actor
from standups import services as standup_services
from usage.services import UsageItem, record_usage

DAY = date(2026, 12, 3)
TIME_ZONE = "Europe/Paris"


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@contextmanager
def clock(when: datetime):
    """Django's clock at `when`: every auto_now_add (events, rows) is stamped with it."""
    with mock.patch("django.utils.timezone.now", return_value=when):
        yield


@dataclass
class History:
    board: Board
    gated: Board
    agent: object
    tasks: dict[str, Task]


def build(*, organization, board, user, teammate) -> History:
    """Seven tasks, one approval decided and one pending, usage on both sides of both midnights."""
    owner, mate = Actor.for_user(user), Actor.for_user(teammate)
    with clock(utc(11, 20, 9)):
        standup_services.update_standup_settings(actor=owner, organization=organization, time_zone=TIME_ZONE)
        gated = board_services.create_board(
            organization=organization, actor=owner, name="Gated", require_approval_for_done=True
        )
        agent = create_agent(
            organization=organization,
            actor=owner,
            name="release-bot",
            boards=[board, gated],
            is_board_lead=True,
        )
    bot = Actor.for_agent(agent)
    tasks: dict[str, Task] = {}

    def move(name: str, actor: Actor, *statuses: str) -> None:
        for status in statuses:
            tasks[name] = board_services.move_task(task=tasks[name], actor=actor, status=status)

    # The day before (local): work started, one task blocked, one finished.
    with clock(utc(12, 2, 22)):
        tasks["notes"] = board_services.create_task(board=board, actor=owner, title="Write release notes")
        move("notes", bot, "in_progress")
        tasks["old"] = board_services.create_task(
            board=board, actor=owner, title="Old blocker", status="blocked"
        )
        tasks["shipped"] = board_services.create_task(board=board, actor=owner, title="Already shipped")
        move("shipped", owner, "in_progress", "review", "done")
    # 00:30 local on the day (still Dec 2 in UTC): the agent finishes the notes.
    with clock(utc(12, 2, 23, 30)):
        move("notes", bot, "review", "done")
    with clock(utc(12, 3, 9)):
        tasks["login"] = board_services.create_task(board=board, actor=mate, title="Fix login")
        move("login", mate, "in_progress")
    with clock(utc(12, 3, 10)):
        move("login", mate, "blocked")
    # The gated board: one approval still pending at the end of the day, one approved on it.
    with clock(utc(12, 3, 11)):
        tasks["keys"] = board_services.create_task(board=gated, actor=owner, title="Rotate keys")
        move("keys", bot, "in_progress", "review", "done")
        tasks["ship"] = board_services.create_task(board=gated, actor=owner, title="Ship 2.0")
        move("ship", bot, "in_progress", "review", "done")
    with clock(utc(12, 3, 15)):
        approval = Approval.objects.get(task=tasks["ship"], status="pending")
        board_services.decide_approval(approval=approval, actor=owner, approve=True)
        scratch = board_services.create_task(board=board, actor=owner, title="Scratch")
        board_services.delete_task(task=scratch, actor=owner)
    # 23:30 local: started on the day, finished after midnight (the next day).
    with clock(utc(12, 3, 22, 30)):
        tasks["late"] = board_services.create_task(board=board, actor=mate, title="Late task")
        move("late", mate, "in_progress")
    with clock(utc(12, 3, 23, 10)):
        move("late", mate, "review", "done")

    def report(
        key: str, when: datetime, task: Task, cost: str | None, model: str = "claude-sonnet-4"
    ) -> None:
        with clock(when):
            record_usage(
                agent=agent,
                items=[
                    UsageItem(
                        model=model,
                        idempotency_key=key,
                        occurred_at=when,
                        cost=Decimal(cost) if cost is not None else None,
                        task=task,
                    )
                ],
            )

    report("before", utc(12, 2, 22, 30), tasks["notes"], "7.00")  # 23:30 local, the day before
    report("first", utc(12, 2, 23, 15), tasks["notes"], "0.50")  # 00:15 local, on the day
    report("gated", utc(12, 3, 12), tasks["keys"], "1.00")
    report("unpriced", utc(12, 3, 13), tasks["notes"], None, model="mystery-model")
    report("after", utc(12, 3, 23, 30), tasks["notes"], "5.00")  # 00:30 local, the next day
    return History(board=board, gated=gated, agent=agent, tasks=tasks)
