"""Alerts: what the activity listener adds to every event, and how long one beat sweep takes.

    DATABASE_URL=postgres://… REDIS_URL=redis://… .venv/bin/python -m bench.alerts

Works in a scratch organization it creates (and deletes) in the configured database:
- listener: N events recorded through record_activity with and without the alerts listener
  registered (no rule matches, the usual case: one cache read per event);
- sweep: RULES rules over the catalogue's time conditions, AGENTS agents (a third silent) and
  TASKS tasks, evaluated by one sweep_rules() (the beat task), twice: opening, then steady.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missioncontrol.settings")
os.environ.setdefault("DEBUG", "1")
django.setup()

from django.db import transaction  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from activity import following  # noqa: E402
from activity.services import record_activity  # noqa: E402
from agents.models import Agent  # noqa: E402
from alerts import services  # noqa: E402
from boards.models import Board, Task  # noqa: E402
from core.actors import Actor  # noqa: E402
from core.models import Membership, Organization, Role  # noqa: E402

EVENTS = int(os.environ.get("BENCH_EVENTS", "2000"))
RULES = int(os.environ.get("BENCH_RULES", "100"))
AGENTS = int(os.environ.get("BENCH_AGENTS", "300"))
TASKS = int(os.environ.get("BENCH_TASKS", "3000"))


def record_events(organization, board, count: int) -> list[float]:
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        with transaction.atomic():
            record_activity(
                organization=organization,
                board=board,
                actor=Actor.system(),
                verb="comment.added",
                target_type="task",
                target_id=1,
            )
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def summary(timings: list[float]) -> str:
    ordered = sorted(timings)
    return (
        f"mean {statistics.mean(ordered):.3f} ms, p50 {ordered[len(ordered) // 2]:.3f} ms, "
        f"p99 {ordered[int(len(ordered) * 0.99)]:.3f} ms"
    )


def main() -> None:
    from django.contrib.auth import get_user_model

    stamp = int(time.time())
    organization = Organization.objects.create(name=f"bench-alerts-{stamp}", slug=f"bench-alerts-{stamp}")
    admin = get_user_model().objects.create(username=f"bench-alerts-{stamp}")
    Membership.objects.create(organization=organization, user=admin, role=Role.ADMIN)
    board = Board.objects.create(organization=organization, name="bench", slug="bench")
    try:
        actor = Actor.for_user(admin)
        services.create_rule(
            actor=actor,
            organization=organization,
            name="unrelated",
            condition="dead_letters",
            params={"threshold": 5, "window_minutes": 60},
        )
        # The alerts trigger is a consumer of the log now (activity.following): the write only
        # records; the consumer's cost per event is measured on its own, as the worker pays it.
        alerts_consumer = following.consumer_named("alerts")
        record_events(organization, board, 100)  # warm up connections and the trigger cache
        following.follow(alerts_consumer)
        # As in production: only the live publisher after each commit, the rest left to a worker
        # (none here, so the alerts consumer's backlog is measured below on its own).
        following.enqueue_follow = lambda: None
        with override_settings(ACTIVITY_CONSUMERS_INLINE=False):
            writes = record_events(organization, board, EVENTS)
        started = time.perf_counter()
        followed = following.follow(alerts_consumer, max_batches=EVENTS)
        per_event = (time.perf_counter() - started) * 1000 / max(followed, 1)
        print(f"record_activity x{EVENTS} (consumers follow the log afterwards): {summary(writes)}")
        print(f"alerts consumer: {followed} events followed, {per_event:.3f} ms per event")

        now = timezone.now()
        Agent.objects.bulk_create(
            [
                Agent(
                    organization=organization,
                    name=f"agent-{n}",
                    last_seen_at=now - timedelta(minutes=30 if n % 3 == 0 else 0),
                )
                for n in range(AGENTS)
            ]
        )
        Task.objects.bulk_create(
            [
                Task(board=board, title=f"task {n}", status=("blocked", "review", "inbox")[n % 3])
                for n in range(TASKS)
            ]
        )
        kinds = [
            ("agent_offline", {"minutes": 10}),
            ("task_in_column", {"column": "blocked", "hours": 1}),
            ("approval_waiting", {"hours": 2}),
            ("webhook_silence", {"hours": 6}),
            ("dead_letters", {"threshold": 3, "window_minutes": 60}),
        ]
        for n in range(RULES):
            condition, params = kinds[n % len(kinds)]
            services.create_rule(
                actor=actor, organization=organization, name=f"rule {n}", condition=condition, params=params
            )
        for label in ("first sweep (opens incidents)", "second sweep (steady state)"):
            started = time.perf_counter()
            services.sweep_rules(now=now + timedelta(hours=2))
            print(
                f"{label}, {RULES} rules, {AGENTS} agents, {TASKS} tasks: "
                f"{time.perf_counter() - started:.2f} s"
            )
        print(f"open incidents: {organization.incidents.count()}")
    finally:
        organization.delete()
        admin.delete()


if __name__ == "__main__":
    main()
