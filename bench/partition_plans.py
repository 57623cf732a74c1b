"""Query plans of the reads that page or replay the partitioned logs, on a seeded PostgreSQL.

`DATABASE_URL=postgres://… python -m bench.partition_plans [events]` creates a scratch database,
migrates it, spreads `events` activity events (default 300,000) and a tenth as many delivery
attempts over six months, then prints EXPLAIN (ANALYZE, BUFFERS) of:
- the board feed (newest events of one board, a page of 50),
- websocket/SSE replay (events of a board after an id, oldest first, bounded),
- the organization feed after an id,
- the delivery timeline (attempts of one delivery),
- the payload list of one webhook (not partitioned; shown for comparison),
and writes them to bench/partition_plans.txt. Each plan must show index scans on the
partitions (a Merge Append of per-partition index scans for the id-ordered reads), never a
sequential scan of the whole log.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import django

OUT = Path(__file__).with_name("partition_plans.txt")


def scratch_database_url() -> str:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("needs DATABASE_URL=postgres://… (the plans are about PostgreSQL partitions)")
    parsed = urlparse(base)
    return parsed._replace(path="/mc_partition_plans").geturl()


def main(events: int) -> None:
    url = scratch_database_url()
    import psycopg

    admin = urlparse(url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS mc_partition_plans")
        conn.execute("CREATE DATABASE mc_partition_plans")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missioncontrol.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from django.utils import timezone

    from infra import partitions

    this_month = partitions.month_start(timezone.now())
    with connection.cursor() as cursor:
        # As if beat had kept the partitions ahead for the six months the seed spans.
        for table, column in (
            ("boards_activityevent", "created_at"),
            ("webhooks_deliveryattempt", "started_at"),
        ):
            for offset in range(-6, 1):
                partitions.create_month_partition(
                    cursor,
                    partitions.PartitionedTable(table, column),
                    partitions.add_months(this_month, offset),
                )
        seed(cursor, events)
        cursor.execute("ANALYZE")
        board_id, org_id, middle_id, delivery_id, webhook_id = ids(cursor)
        queries = {
            "board feed (page of 50)": (
                "SELECT * FROM boards_activityevent WHERE board_id = %s ORDER BY id DESC LIMIT 50",
                [board_id],
            ),
            "replay after an id (bounded)": (
                "SELECT * FROM boards_activityevent WHERE board_id = %s AND id > %s "
                "AND created_at >= now() - interval '7 days' ORDER BY id DESC LIMIT 1001",
                [board_id, middle_id],
            ),
            "organization feed after an id": (
                "SELECT * FROM boards_activityevent WHERE organization_id = %s AND id > %s "
                "ORDER BY id DESC LIMIT 50",
                [org_id, middle_id],
            ),
            "delivery timeline": (
                "SELECT * FROM webhooks_deliveryattempt WHERE delivery_id = %s ORDER BY started_at, id",
                [delivery_id],
            ),
            "payload list of a webhook (not partitioned)": (
                "SELECT id, received_at FROM webhooks_webhookpayload WHERE webhook_id = %s "
                "ORDER BY id DESC LIMIT 50",
                [webhook_id],
            ),
        }
        lines = [
            f"{events:,} activity events over 6 monthly partitions; "
            f"PostgreSQL {connection.pg_version // 10000}; {time.strftime('%Y-%m-%d')}\n"
        ]
        for title, (sql, params) in queries.items():
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON) " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            lines.append(f"== {title}\n{sql}\n{plan}\n")
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


def seed(cursor, events: int) -> None:
    cursor.execute(
        "INSERT INTO boards_organization (name, slug, created_at) VALUES ('Bench', 'bench', now()) "
        "RETURNING id"
    )
    org_id = cursor.fetchone()[0]
    cursor.execute(
        "INSERT INTO boards_board (organization_id, name, slug, description, archived, created_at, "
        "updated_at, require_approval_for_done, require_comment_for_review, agents_can_create_tasks) "
        "SELECT %s, 'Board ' || g, 'board-' || g, '', false, now(), now(), false, false, true "
        "FROM generate_series(1, 20) g",
        [org_id],
    )
    # Spread over the last six months: each month lands in its own partition.
    cursor.execute(
        "INSERT INTO boards_activityevent (organization_id, board_id, actor_kind, actor_label, verb, "
        "target_type, target_id, detail, request_id, created_at) "
        "SELECT %s, (SELECT min(id) FROM boards_board) + (g %% 20), 'system', 'system', 'task.created', "
        "'task', g::text, '{}'::jsonb, '', now() - ((%s - g) * (interval '150 days' / %s)) "
        "FROM generate_series(1, %s) g",
        [org_id, events, events, events],
    )
    cursor.execute(
        "INSERT INTO webhooks_delivery (organization_id, target_url, event_type, payload, status, "
        "attempt_count, created_at, updated_at) SELECT %s, 'https://example.test/', 'task.created', "
        "'{}'::jsonb, 'succeeded', 1, now(), now() FROM generate_series(1, %s)",
        [org_id, max(events // 100, 1)],
    )
    cursor.execute(
        "INSERT INTO webhooks_deliveryattempt (delivery_id, number, started_at, duration_ms, error_class, "
        "error_message, response_excerpt) SELECT (SELECT min(id) FROM webhooks_delivery) + (g %% %s), 1, "
        "now() - (g * interval '1 minute'), 5, '', '', '' FROM generate_series(1, %s) g",
        [max(events // 100, 1), max(events // 10, 1)],
    )
    cursor.execute(
        "INSERT INTO webhooks_boardwebhook (board_id, description, enabled, secret_ciphertext, "
        "previous_secret_ciphertext, signature_header, creates_task, task_title_template, created_at) "
        "SELECT min(id), 'bench', true, '', '', '', false, '', now() FROM boards_board"
    )


def ids(cursor) -> tuple[int, int, int, int, int]:
    cursor.execute("SELECT min(id), min(organization_id) FROM boards_board")
    board_id, org_id = cursor.fetchone()
    cursor.execute("SELECT percentile_disc(0.9) WITHIN GROUP (ORDER BY id) FROM boards_activityevent")
    middle_id = cursor.fetchone()[0]
    cursor.execute("SELECT min(id) FROM webhooks_delivery")
    delivery_id = cursor.fetchone()[0]
    cursor.execute("SELECT min(id) FROM webhooks_boardwebhook")
    webhook_id = cursor.fetchone()[0]
    return board_id, org_id, middle_id, delivery_id, webhook_id


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300_000)
