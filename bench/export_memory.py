"""Peak memory of an activity export: 1,000,000 rows streamed as CSV (and JSON lines) through the
real view, against PostgreSQL in production settings.

    python -m bench.export_memory              # 1,000,000 events (the issue's figure)
    python -m bench.export_memory 100000       # smaller

Seeds its own database (BENCH_EXPORT_DATABASE, default mc_bench_export) with COPY, then runs each
export in a fresh child process that reads the whole response and reports its peak RSS
(ru_maxrss) next to the RSS it had before the request: bounded memory means the growth stays the
same whether 100,000 or 1,000,000 rows go through. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

DATABASE = os.environ.get("BENCH_EXPORT_DATABASE", "mc_bench_export")


def _env() -> dict[str, str]:
    import tempfile
    from pathlib import Path

    from bench.harness import PG_ADMIN_URL, production_env

    return production_env(
        DATABASE_URL=PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE}",
        STATIC_ROOT=str(Path(tempfile.gettempdir()) / f"mc-bench-static-{DATABASE}"),
        EXPORT_MAX_ROWS="10000000",
    )


def seed(rows: int) -> dict:
    import psycopg

    from bench.harness import PG_ADMIN_URL

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    os.environ.update(_env())
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from boards.models import Board
    from core.models import Membership, Organization, Role

    call_command("migrate", "--noinput", verbosity=0)
    user = get_user_model().objects.create_user(username="bench", password="bench-password-1234")
    organization = Organization.objects.create(name="Bench", slug="bench")
    Membership.objects.create(organization=organization, user=user, role=Role.ADMIN)
    board = Board.objects.create(organization=organization, name="Bench board", slug="bench-board")
    started = time.perf_counter()
    columns = (
        "organization_id, board_id, actor_kind, actor_label, verb, target_type, target_id, detail, "
        "request_id, created_at"
    )
    with (
        connection.cursor() as cursor,
        cursor.connection.cursor().copy(f"COPY boards_activityevent ({columns}) FROM STDIN") as copy,
    ):
        for n in range(rows):
            copy.write_row(
                (
                    organization.pk,
                    board.pk,
                    "user",
                    "bench",
                    "task.status_changed",
                    "task",
                    str(n),
                    json.dumps({"task_id": n, "title": f"=Task {n}", "from": "review", "to": "done"}),
                    "",
                    "2026-01-01T00:00:00+00:00",
                )
            )
    return {"rows": rows, "seed_seconds": round(time.perf_counter() - started, 1)}


def current_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def child(fmt: str) -> None:
    """In a fresh process: one export through the view, read to the end; print bytes and RSS."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    # Warm up imports and the connection with a one-row export.
    b"".join(
        client.get(
            f"/overview/exports/activity/?format={fmt}&limit=1", HTTP_HOST="127.0.0.1"
        ).streaming_content
    )
    before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    response = client.get(f"/overview/exports/activity/?format={fmt}", HTTP_HOST="127.0.0.1")
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "format": fmt,
                "status": response.status_code,
                "lines": lines,
                "bytes": size,
                "seconds": round(seconds, 1),
                "rows_per_second": round(lines / seconds),
                "rss_before_mb": round(before_kb / 1024, 1),
                "peak_rss_mb": round(peak_kb / 1024, 1),
                "growth_mb": round((peak_kb - before_kb) / 1024, 1),
                "rss_after_mb": current_rss_mb(),
            }
        )
    )


def run_child(fmt: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "bench.export_memory", "--child", fmt],
        env={**_env(), "PYTHONPATH": os.getcwd()},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(rows: int) -> dict:
    seeded = seed(rows)
    return {"seeded": seeded, "exports": [run_child("csv"), run_child("jsonl")]}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    else:
        print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)))
