"""Usage at scale (issue 20): ingest rate of usage reports, and the usage page and totals API at
N stored reports, on the configured database (PostgreSQL for a meaningful figure).

    DATABASE_URL=postgres://… python -m bench.usage_scale --rows 1000000

Seeds N reports of 20 agents, 5 models, 4 boards x 50 tasks over 90 days straight into the
tables (bulk inserts, the rollup through usage.services.add_to_rollup), then measures in process
(no HTTP server): POST /api/v1/agent/usage with batches of 100 for a few seconds, and the median
of 10 GETs of /usage/ (30 days) and /api/v1/usage/?group_by=… . Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from datetime import timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missioncontrol.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("AGENT_RATE", "1000000/60s")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from agents import services as agent_services  # noqa: E402
from agents.models import Agent  # noqa: E402
from boards.models import Board, Task  # noqa: E402
from core.actors import Actor  # noqa: E402
from core.models import Membership, Organization, Role  # noqa: E402
from usage.models import CostSource, UsageReport  # noqa: E402
from usage.services import add_to_rollup  # noqa: E402

MODELS = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "claude-3-5-haiku", "gemini-1.5-pro"]


def seed(rows: int) -> tuple[Organization, list[Agent], object]:
    from django.contrib.auth import get_user_model

    stamp = int(time.time())
    organization = Organization.objects.create(name=f"usage bench {stamp}", slug=f"usage-bench-{stamp}")
    user = get_user_model().objects.create_user(f"usage-bench-{stamp}", password="bench-only-password-1")
    Membership.objects.create(organization=organization, user=user, role=Role.ADMIN)
    boards = [Board.objects.create(organization=organization, name=f"b{n}", slug=f"b{n}") for n in range(4)]
    tasks = [Task.objects.create(board=board, title=f"t{n}") for board in boards for n in range(50)]
    agents = [Agent.objects.create(organization=organization, name=f"a{n}") for n in range(20)]
    rng = random.Random(20)
    now = timezone.now()
    chunk = 10_000
    for start in range(0, rows, chunk):
        batch = []
        for n in range(start, min(rows, start + chunk)):
            task = rng.choice(tasks)
            batch.append(
                UsageReport(
                    organization=organization,
                    agent=rng.choice(agents),
                    board_id=task.board_id,
                    task=task,
                    model=rng.choice(MODELS),
                    input_tokens=rng.randrange(100, 20_000),
                    output_tokens=rng.randrange(10, 4_000),
                    cached_tokens=rng.randrange(0, 2_000),
                    cost_micros=rng.randrange(100, 50_000),
                    cost_source=CostSource.COMPUTED,
                    occurred_at=now - timedelta(seconds=rng.randrange(90 * 86400)),
                    idempotency_key=f"seed-{n}",
                )
            )
        with transaction.atomic():
            UsageReport.objects.bulk_create(batch, batch_size=chunk)
            add_to_rollup(batch)
    return organization, agents, user


def median_ms(client, url: str, params: dict | None = None, runs: int = 10) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url, params or {})
        assert response.status_code == 200, response.status_code
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--ingest-seconds", type=float, default=10.0)
    args = parser.parse_args()
    started = time.perf_counter()
    organization, agents, user = seed(args.rows)
    seeded_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM usage_usagedaily WHERE organization_id = %s", [organization.pk])
        rollup_rows = cursor.fetchone()[0]

    _token, raw = agent_services.issue_agent_token(agent=agents[0], actor=Actor.system(), name="bench")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    sent, batches, deadline = 0, 0, time.perf_counter() + args.ingest_seconds
    ingest_started = time.perf_counter()
    while time.perf_counter() < deadline:
        reports = [
            {
                "model": MODELS[n % 5],
                "input_tokens": 1000,
                "output_tokens": 100,
                "idempotency_key": f"bench-{batches}-{n}",
            }
            for n in range(100)
        ]
        response = api.post("/api/v1/agent/usage", {"reports": reports}, format="json")
        assert response.status_code == 200, response.content[:500]
        sent += 100
        batches += 1
    ingest_rate = sent / (time.perf_counter() - ingest_started)

    page = Client()
    page.force_login(user)
    session = page.session
    session["current_organization_id"] = organization.pk
    session.save()
    totals = {
        group_by: median_ms(page, "/api/v1/usage/", {"group_by": group_by, "organization": organization.pk})
        for group_by in ("day", "model", "agent", "task")
    }
    print(
        json.dumps(
            {
                "reports": args.rows,
                "rollup_rows": rollup_rows,
                "seed_seconds": round(seeded_s, 1),
                "ingest_reports_per_second": round(ingest_rate),
                "ingest_batches": batches,
                "usage_page_30d_median_ms": median_ms(page, "/usage/"),
                "usage_page_90d_median_ms": median_ms(page, "/usage/", {"days": 90}),
                "totals_api_median_ms": totals,
                "database": connection.vendor,
            }
        )
    )


if __name__ == "__main__":
    main()
