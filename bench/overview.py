"""Overview render time at 10,000 tasks and 100,000 activity events, in production settings
(PostgreSQL), timed in-process with the Django test client, with its query count.

    python -m bench.overview                 # 10,000 tasks, 100,000 events (the issue's figure)
    python -m bench.overview 1000 10000      # smaller, e.g. to compare query counts
    python -m bench.overview --reuse         # measure again without seeding

Uses its own database (BENCH_OVERVIEW_DATABASE, default mc_bench_overview), dropped and made
again each run. Rows are bulk-inserted with timestamps spread over the last 90 days (the services'
per-row work is not what is measured); the rollup is then caught up the way beat does it, and that
backfill is timed too. Prints one JSON line.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

DATABASE = os.environ.get("BENCH_OVERVIEW_DATABASE", "mc_bench_overview")
REPEATS = 9
BOARDS = 5
AGENTS = 20
SEED = 16


def configure(database: str, *, fresh: bool = True) -> None:
    """Production settings on a (fresh) database of our own, then Django and the schema."""
    import psycopg

    from bench.harness import PG_ADMIN_URL, production_env

    if fresh:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{database}"')
    os.environ.update(
        production_env(
            DATABASE_URL=PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}",
            # Its own static root: other benchmarks may be collecting into the shared one.
            STATIC_ROOT=str(Path(tempfile.gettempdir()) / f"mc-bench-static-{database}"),
        )
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)


class backdated:
    """Lets bulk_create keep the created_at we set (auto_now_add would stamp "now")."""

    def __init__(self, *models) -> None:
        self.fields = [model._meta.get_field("created_at") for model in models]

    def __enter__(self):
        for f in self.fields:
            f.auto_now_add = False

    def __exit__(self, *exc):
        for f in self.fields:
            f.auto_now_add = True


def seed(task_total: int, event_total: int) -> dict:
    from django.contrib.auth import get_user_model

    from activity.models import ActivityEvent
    from agents.models import Agent
    from boards.models import Board, Task
    from core.actors import ActorKind
    from core.models import Membership, Organization, Role
    from deliveries.models import Delivery
    from webhooks.models import BoardWebhook, WebhookPayload, WebhookRefusalCount

    rng = random.Random(SEED)
    now = datetime.datetime.now(datetime.UTC)
    user = get_user_model().objects.create_user(username="bench", password="bench-password-1234")
    organization = Organization.objects.create(name="Bench", slug="bench")
    Membership.objects.create(organization=organization, user=user, role=Role.ADMIN)
    boards = Board.objects.bulk_create(
        [Board(organization=organization, name=f"Board {i}", slug=f"board-{i}") for i in range(BOARDS)]
    )
    agents = Agent.objects.bulk_create(
        [
            Agent(
                organization=organization,
                name=f"agent-{i}",
                last_seen_at=now - datetime.timedelta(minutes=i * 7),
            )
            for i in range(AGENTS)
        ]
    )
    webhooks = BoardWebhook.objects.bulk_create(
        [BoardWebhook(board=b, description=f"ci {b.name}") for b in boards]
    )

    def at(days_ago: float) -> datetime.datetime:
        return now - datetime.timedelta(days=days_ago)

    tasks, lives = [], []
    for n in range(task_total):
        created = rng.uniform(0, 90)
        stage = rng.choices(["inbox", "in_progress", "review", "done", "blocked"], [2, 2, 1, 6, 1])[0]
        board = boards[n % BOARDS]
        agent = agents[n % AGENTS] if stage in ("in_progress", "review") else None
        tasks.append(
            Task(
                board=board,
                title=f"Task {n}",
                status=stage,
                position=float(n),
                created_at=at(created),
                assignee_agent=agent,
            )
        )
        lives.append((created, stage))
    with backdated(Task):
        tasks = Task.objects.bulk_create(tasks, batch_size=2000)

    events: list[ActivityEvent] = []

    def event(task, verb, days_ago, **detail):
        events.append(
            ActivityEvent(
                organization=organization,
                board_id=task.board_id,
                actor_kind=ActorKind.USER,
                actor_user=user,
                actor_label="bench",
                verb=verb,
                target_type="task",
                target_id=str(task.pk),
                detail={"task_id": task.pk, **detail},
                created_at=at(days_ago),
            )
        )

    path = {
        "inbox": [],
        "in_progress": ["in_progress"],
        "review": ["in_progress", "review"],
        "done": ["in_progress", "review", "done"],
        "blocked": ["blocked"],
    }
    for task, (created, stage) in zip(tasks, lives, strict=True):
        event(task, "task.created", created, status="inbox")
        previous, when = "inbox", created
        for to in path[stage]:
            when = max(when - rng.uniform(0.01, 3), 0)
            event(task, "task.status_changed", when, **{"from": previous, "to": to})
            previous = to
    while len(events) < event_total:  # the rest: comments, webhooks, presence, as a live log has
        task = tasks[rng.randrange(len(tasks))]
        event(task, rng.choice(["comment.added", "task.updated", "webhook.received"]), rng.uniform(0, 90))
    with backdated(ActivityEvent):
        ActivityEvent.objects.bulk_create(events[:event_total], batch_size=5000)
    payloads = [
        WebhookPayload(webhook=webhooks[i % BOARDS], board=boards[i % BOARDS], body=b"{}")
        for i in range(2000)
    ]
    WebhookPayload.objects.bulk_create(payloads, batch_size=2000)
    WebhookRefusalCount.objects.bulk_create(
        [
            WebhookRefusalCount(
                webhook=w,
                board_id=w.board_id,
                day=(now - datetime.timedelta(days=d)).date(),
                reason="invalid_signature",
                count=d + 1,
            )
            for w in webhooks
            for d in range(30)
        ]
    )
    Delivery.objects.bulk_create(
        [
            Delivery(
                organization=organization,
                board=boards[i % BOARDS],
                agent=agents[i % AGENTS],
                target_url="https://example.com/hook",
                event_type="task.created",
                status=rng.choice(["succeeded", "succeeded", "succeeded", "dead", "pending"]),
            )
            for i in range(5000)
        ],
        batch_size=2000,
    )
    return {"tasks": Task.objects.count(), "events": ActivityEvent.objects.count()}


def measure(client, url: str) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, HTTP_HOST="127.0.0.1")  # warm: templates, the rollup's no-op refresh
    timings, cpu, db, queries, status = [], [], [], 0, 0
    for _ in range(REPEATS):
        with CaptureQueriesContext(connection) as captured:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url, HTTP_HOST="127.0.0.1")
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        queries, status = len(captured.captured_queries), response.status_code
        db.append(sum(float(query["time"]) for query in captured.captured_queries) * 1000)
    timings.sort()
    return {
        "status": status,
        "median_ms": round(statistics.median(timings), 1),
        "max_ms": round(timings[-1], 1),
        # This process's CPU, and the wall time spent waiting on PostgreSQL: on a loaded machine
        # the wall time above is mostly waiting for a core.
        "median_cpu_ms": round(statistics.median(cpu), 1),
        "median_db_ms": round(statistics.median(db), 1),
        "queries": queries,
    }


def main(task_total: int, event_total: int, *, reuse: bool = False) -> dict:
    """Seed and measure; `reuse` measures the database the last run left (no seeding)."""
    configure(DATABASE, fresh=not reuse)
    from django.contrib.auth import get_user_model
    from django.test import Client

    from activity.models import ActivityEvent
    from boards.models import Task
    from overview.rollup import refresh_task_flows

    started = time.perf_counter()
    seeded = (
        {"tasks": Task.objects.count(), "events": ActivityEvent.objects.count()}
        if reuse
        else seed(task_total, event_total)
    )
    seed_s = time.perf_counter() - started
    started = time.perf_counter()
    backfill = refresh_task_flows(batches=10**6)
    backfill_s = time.perf_counter() - started
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    pages = {f"overview_{days}d": measure(client, f"/overview/?days={days}") for days in (7, 30, 90)}
    pages["numbers_fragment_90d"] = measure(client, "/overview/numbers/?days=90")
    pages["fleet_fragment"] = measure(client, "/overview/fleet/")
    pages["metrics_kpis_api_30d"] = measure(client, "/api/v1/metrics/kpis?days=30")
    return {
        "seeded": seeded,
        "seed_seconds": round(seed_s, 1),
        "rollup_backfill": {"events_read": backfill.events_read, "seconds": round(backfill_s, 2)},
        "pages": pages,
        "render_under_300ms": all(
            p["median_ms"] < 300 for k, p in pages.items() if k.startswith("overview_")
        ),
    }


if __name__ == "__main__":
    reuse = "--reuse" in sys.argv
    counts = [int(arg) for arg in sys.argv[1:] if arg != "--reuse"] or [10_000, 100_000]
    print(json.dumps(main(*counts, reuse=reuse)))
