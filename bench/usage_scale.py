"""Usage at scale (issue 20): ingest rate of usage reports, and the usage page and totals API at
N stored reports, on the configured database (PostgreSQL for a meaningful figure).

    python -m bench.run_all --only usage                               # fresh database, production settings
    DATABASE_URL=postgres://… python -m bench.usage_scale --rows 1000000   # an already migrated database

Seeds N reports of 20 agents, 5 models, 4 boards x 50 tasks over 90 days straight into the
tables (on PostgreSQL one COPY, then the rollup in one INSERT … SELECT … GROUP BY; elsewhere bulk
inserts and usage.services.add_to_rollup), then measures in process (no HTTP server):
POST /api/v1/agent/usage with batches of 100 for a few seconds, and the median of 10 GETs of
/usage/ (30 and 90 days) and /api/v1/usage/?group_by=… . Beside each figure, per request: this
process's CPU (Django and the test client), the time spent waiting for the database and the
query count. `--existing` measures the newest organization an earlier run seeded (no new rows),
for trying a fix without seeding again. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missioncontrol.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("AGENT_RATE", "1000000/60s")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Sum  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from agents import services as agent_services  # noqa: E402
from agents.models import Agent  # noqa: E402
from boards.models import Board, Task  # noqa: E402
from core.actors import Actor  # noqa: E402
from core.models import Membership, Organization, Role  # noqa: E402
from usage.models import CostSource, UsageReport  # noqa: E402
from usage.services import _ROLLUPS, add_to_rollup  # noqa: E402

MODELS = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "claude-3-5-haiku", "gemini-1.5-pro"]
DAYS = 90
INGEST_BATCH = 100
RUNS = 10
SEED_METHODS = {"postgresql": "copy"}
# A rollup key column as computed from a stored report (what add_to_rollup does in Python).
KEY_SQL = {
    "organization_id": "organization_id",
    "day": "(occurred_at AT TIME ZONE 'UTC')::date",
    "agent_id": "agent_id",
    "model": "model",
    "board_key": "coalesce(board_id, 0)",
    "task_key": "coalesce(task_id, 0)",
}
# Both hosts are in the bench's ALLOWED_HOSTS and in the production configuration run_all uses.
HOST = "127.0.0.1"


def _report_rows(rows: int, *, organization: Organization, agents: list[Agent], tasks: list[Task]):
    """(agent, board, task, model, tokens…, cost, occurred_at, key) at random, reproducibly."""
    rng = random.Random(20)
    now = timezone.now()
    agent_ids = [agent.pk for agent in agents]
    task_pairs = [(task.pk, task.board_id) for task in tasks]
    for n in range(rows):
        task_id, board_id = rng.choice(task_pairs)
        yield (
            rng.choice(agent_ids),
            board_id,
            task_id,
            rng.choice(MODELS),
            rng.randrange(100, 20_000),
            rng.randrange(10, 4_000),
            rng.randrange(0, 2_000),
            rng.randrange(100, 50_000),
            now - timedelta(seconds=rng.randrange(DAYS * 86400)),
            f"seed-{n}",
        )


def _seed_copy(rows: int, *, organization: Organization, agents: list[Agent], tasks: list[Task]) -> None:
    """PostgreSQL: the reports in one COPY and each rollup add_to_rollup writes from them in one
    INSERT … SELECT … GROUP BY (minutes for 1,000,000 rows where the ORM took an hour on a busy
    machine): the UTC day, 0 for no board or task, reports without a cost as unpriced."""
    table = UsageReport._meta.db_table
    columns = (
        "organization_id, agent_id, board_id, task_id, model, input_tokens, output_tokens, "
        "cached_tokens, cost_micros, occurred_at, idempotency_key, model_known, cost_source, "
        "received_at"
    )
    sums = (
        "count(*), sum(input_tokens), sum(output_tokens), sum(cached_tokens), "
        "coalesce(sum(cost_micros), 0), count(*) FILTER (WHERE cost_micros IS NULL)"
    )
    received_at = timezone.now()
    tail = (True, CostSource.COMPUTED.value, received_at)
    with transaction.atomic(), connection.cursor() as cursor:
        # Django's cursor wrapper hands attributes through to psycopg's cursor (psycopg 3: copy()).
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in _report_rows(rows, organization=organization, agents=agents, tasks=tasks):
                copy.write_row((organization.pk, *row, *tail))
        for model, key_columns, _key_of in _ROLLUPS:
            positions = ", ".join(str(n) for n in range(1, len(key_columns) + 1))
            cursor.execute(
                f"INSERT INTO {model._meta.db_table} ({', '.join(key_columns)}, "  # noqa: S608 - model names only
                "reports, input_tokens, output_tokens, cached_tokens, cost_micros, unpriced_reports) "
                f"SELECT {', '.join(KEY_SQL[column] for column in key_columns)}, {sums} "
                f"FROM {table} WHERE organization_id = %s GROUP BY {positions}",
                [organization.pk],
            )
    # What autovacuum would have done long before a table holds this much: planner statistics
    # and the visibility map (index-only scans). Measuring without it measures the bulk load.
    with connection.cursor() as cursor:
        for model in [UsageReport, *(rollup for rollup, _columns, _key_of in _ROLLUPS)]:
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def _seed_orm(rows: int, *, organization: Organization, agents: list[Agent], tasks: list[Task]) -> None:
    agents_by_id = {agent.pk: agent for agent in agents}
    tasks_by_id = {task.pk: task for task in tasks}
    chunk = 10_000
    batch: list[UsageReport] = []
    generated = _report_rows(rows, organization=organization, agents=agents, tasks=tasks)
    for agent_id, board_id, task_id, model, inp, out, cached, cost, occurred_at, key in generated:
        batch.append(
            UsageReport(
                organization=organization,
                agent=agents_by_id[agent_id],
                board_id=board_id,
                task=tasks_by_id[task_id],
                model=model,
                input_tokens=inp,
                output_tokens=out,
                cached_tokens=cached,
                cost_micros=cost,
                cost_source=CostSource.COMPUTED,
                occurred_at=occurred_at,
                idempotency_key=key,
            )
        )
        if len(batch) == chunk:
            with transaction.atomic():
                UsageReport.objects.bulk_create(batch, batch_size=chunk)
                add_to_rollup(batch)
            batch = []
    if batch:
        with transaction.atomic():
            UsageReport.objects.bulk_create(batch, batch_size=chunk)
            add_to_rollup(batch)


def seed(rows: int) -> tuple[Organization, list[Agent], object]:
    from django.contrib.auth import get_user_model

    stamp = int(time.time())
    organization = Organization.objects.create(name=f"usage bench {stamp}", slug=f"usage-bench-{stamp}")
    user = get_user_model().objects.create_user(f"usage-bench-{stamp}", password="bench-only-password-1")
    Membership.objects.create(organization=organization, user=user, role=Role.ADMIN)
    boards = [Board.objects.create(organization=organization, name=f"b{n}", slug=f"b{n}") for n in range(4)]
    tasks = [Task.objects.create(board=board, title=f"t{n}") for board in boards for n in range(50)]
    agents = [Agent.objects.create(organization=organization, name=f"a{n}") for n in range(20)]
    fill = _seed_copy if SEED_METHODS.get(connection.vendor) == "copy" else _seed_orm
    fill(rows, organization=organization, agents=agents, tasks=tasks)
    for model, _columns, _key_of in _ROLLUPS:  # a rollup the seed missed would be measured empty
        counted = model.objects.filter(organization=organization).aggregate(n=Sum("reports"))["n"]
        assert counted == rows, f"{model.__name__} counts {counted} reports of {rows}"
    return organization, agents, user


def existing() -> tuple[Organization, list[Agent], object]:
    from django.contrib.auth import get_user_model

    organization = Organization.objects.filter(slug__startswith="usage-bench-").latest("pk")
    user = get_user_model().objects.get(username=organization.slug)
    return organization, list(Agent.objects.filter(organization=organization).order_by("pk")), user


class Meter:
    """This process's CPU (Django and the test client) and the wall time spent waiting for the
    database (where the aggregates run), per request, in milliseconds, with the query count.

    Database time is wall time: PostgreSQL may run a query in parallel worker processes, which
    exit before their CPU could be read, so server-side CPU per request is not measured."""

    def __enter__(self) -> Meter:
        self.db_seconds, self.queries = 0.0, 0
        self._wrapper = connection.execute_wrapper(self._time_query)
        self._wrapper.__enter__()
        self.before = time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.process_seconds = time.process_time() - self.before
        self._wrapper.__exit__(*exc)

    def _time_query(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.db_seconds += time.perf_counter() - started
            self.queries += 1

    def per_request(self, requests: int) -> dict:
        return {
            "cpu_ms_per_request": round(self.process_seconds * 1000 / requests, 2),
            "db_ms_per_request": round(self.db_seconds * 1000 / requests, 1),
            "queries_per_request": round(self.queries / requests, 1),
        }


def timed_gets(client, url: str, params: dict | None = None, runs: int = RUNS) -> dict:
    client.get(url, params or {})  # warm: first-request imports and template compilation
    timings = []
    with Meter() as meter:
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(url, params or {})
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
    return {
        "median_ms": round(statistics.median(timings), 1),
        "max_ms": round(max(timings), 1),
        **meter.per_request(runs),
    }


def ingest(agent: Agent, seconds: float) -> dict:
    _token, raw = agent_services.issue_agent_token(agent=agent, actor=Actor.system(), name="bench")
    api = APIClient(HTTP_HOST=HOST)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    sent, batches, timings = 0, 0, []
    with Meter() as meter:
        started = time.perf_counter()
        deadline = started + seconds
        while time.perf_counter() < deadline:
            reports = [
                {
                    "model": MODELS[n % len(MODELS)],
                    "input_tokens": 1000,
                    "output_tokens": 100,
                    "idempotency_key": f"bench-{batches}-{n}",
                }
                for n in range(INGEST_BATCH)
            ]
            posted = time.perf_counter()
            response = api.post("/api/v1/agent/usage", {"reports": reports}, format="json")
            timings.append((time.perf_counter() - posted) * 1000)
            assert response.status_code == 200, response.content[:500]
            sent += INGEST_BATCH
            batches += 1
        elapsed = time.perf_counter() - started
    return {
        "reports_per_second": round(sent / elapsed),
        "batches": batches,
        "batch_size": INGEST_BATCH,
        "median_batch_ms": round(statistics.median(timings), 1),
        **meter.per_request(batches),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--ingest-seconds", type=float, default=10.0)
    parser.add_argument("--existing", action="store_true", help="measure the last seed again")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.existing:
        organization, agents, user = existing()
    else:
        organization, agents, user = seed(args.rows)
        print(f"seeded {args.rows} reports", file=sys.stderr, flush=True)
    seeded_s = time.perf_counter() - started
    reports = UsageReport.objects.filter(organization=organization).count() if args.existing else args.rows
    rollup_rows = {
        model.__name__: model.objects.filter(organization=organization).count()
        for model, _columns, _key_of in _ROLLUPS
    }

    ingested = ingest(agents[0], args.ingest_seconds)

    page = Client(HTTP_HOST=HOST)
    page.force_login(user)
    session = page.session
    session["current_organization_id"] = organization.pk
    session.save()
    result = {
        "reports": reports,
        "rollup_rows": rollup_rows,
        "seed_seconds": None if args.existing else round(seeded_s, 1),
        "seed_method": "existing" if args.existing else SEED_METHODS.get(connection.vendor, "orm"),
        "ingest": ingested,
        "usage_page": {
            "30d": timed_gets(page, "/usage/"),
            "90d": timed_gets(page, "/usage/", {"days": 90}),
        },
        # No from/to: every stored day, as a tool asking for the totals would by default.
        "totals_api": {
            group_by: timed_gets(
                page, "/api/v1/usage/", {"group_by": group_by, "organization": organization.pk}
            )
            for group_by in ("day", "model", "agent", "task")
        },
        "database": connection.vendor,
        "debug": os.environ.get("DEBUG"),
    }
    return result


if __name__ == "__main__":
    print(json.dumps(main()))
