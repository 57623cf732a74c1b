"""Search latency on PostgreSQL: p50/p99 of global search over 100,000 tasks and 100,000 webhook
payloads (plus the activity and board documents around them), with the query plans.

    createdb -h 127.0.0.1 -U postgres h17_bench   # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h17_bench DEBUG=1 \\
        python -m bench.search --tasks 100000 --payloads 100000 [--output bench/search-results.json]

Seeding writes rows in bulk (the services would take an hour for 200,000 objects): the documents
carry what search.services' builders would write for these rows (a task: its title, and its
description as the body; a payload: "<webhook> · <event>", and the event name and body text),
and their vectors come from the same expression as PostgresBackend.store. The timed call is
search.queries.search_documents (ranked ids, rows, existence checks, highlighting), as the page
and the API run it, for a member of the organization. Text is drawn from a Zipf-like vocabulary,
so common words match tens of thousands of documents and rare ones a handful.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time

import django

BATCH = 5000
REPEATS = 30
TECH_WORDS = (  # noqa: SIM905 - one readable paragraph of words
    "deploy release rollback build pipeline staging production cluster node pod container image "
    "database migration index query latency timeout retry webhook agent token secret rotate "
    "backup restore monitor alert incident outage cache queue worker scheduler cron billing "
    "invoice customer ledger payment refund report dashboard metric error exception crash"
).split()
# Each query names what it exercises; "billnig" has no full-text match and falls to trigrams.
QUERIES = {
    "common word": "deploy",
    "stemmed form": "deploying",
    "two words": "database migration",
    "phrase": '"rollback production"',
    "rare word": "ledger refund",
    "excluded word": "alert -incident",
    "misspelled (trigram)": "billnig",
}


def vocabulary(rng: random.Random, size: int = 5000) -> list[str]:
    syllables = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"]
    made_up = sorted({"".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(size)})
    rng.shuffle(made_up)
    # The real words sit from rank 50 on: common enough that "deploy" matches thousands of
    # documents, not so common that it is in nearly all of them (as a stop word would be).
    return made_up[:50] + TECH_WORDS + made_up[50:]


def sentence(rng: random.Random, words: list[str], weights: list[float], low: int, high: int) -> str:
    return " ".join(rng.choices(words, weights=weights, k=rng.randint(low, high)))


def seed(task_count: int, payload_count: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.urls import reverse

    from boards.models import Board, Task
    from core.models import Membership, Organization, Role
    from search.backends import PostgresBackend
    from search.models import SearchDocument, SearchKind
    from webhooks.models import BoardWebhook, WebhookPayload

    organization, _ = Organization.objects.get_or_create(
        slug="search-bench", defaults={"name": "Search bench"}
    )
    user, _ = get_user_model().objects.get_or_create(username="search-bench")
    Membership.objects.get_or_create(organization=organization, user=user, defaults={"role": Role.ADMIN})
    boards = [
        Board.objects.get_or_create(organization=organization, slug=f"b{n}", defaults={"name": f"Board {n}"})[
            0
        ]
        for n in range(10)
    ]
    webhook = BoardWebhook.objects.filter(board=boards[0]).first() or BoardWebhook.objects.create(
        board=boards[0], description="GitHub CI"
    )
    rng = random.Random(17)
    words = vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    existing_tasks = Task.objects.filter(board__organization=organization).count()
    existing_payloads = WebhookPayload.objects.filter(webhook=webhook).count()
    started = time.perf_counter()
    for start in range(existing_tasks, task_count, BATCH):
        with transaction.atomic():
            tasks = Task.objects.bulk_create(
                Task(
                    board=boards[i % len(boards)],
                    title=sentence(rng, words, weights, 3, 8).capitalize(),
                    description=sentence(rng, words, weights, 15, 60),
                    position=float(i),
                )
                for i in range(start, min(start + BATCH, task_count))
            )
            SearchDocument.objects.bulk_create(
                SearchDocument(
                    organization=organization,
                    board_id=t.board_id,
                    kind=SearchKind.TASK,
                    object_id=t.pk,
                    title=t.title,
                    body=t.description,
                    url=reverse("boards:task-detail", args=[t.board_id, t.pk]),
                )
                for t in tasks
            )
    for start in range(existing_payloads, payload_count, BATCH):
        with transaction.atomic():
            bodies = [
                {
                    "event": rng.choice(("push", "workflow_run", "deployment", "issues")),
                    "message": sentence(rng, words, weights, 10, 30),
                }
                for _ in range(start, min(start + BATCH, payload_count))
            ]
            payloads = WebhookPayload.objects.bulk_create(
                WebhookPayload(
                    webhook=webhook,
                    board=webhook.board,
                    body=json.dumps(b).encode(),
                    payload=b,
                    content_type="application/json",
                    headers={"x-github-event": b["event"]},
                )
                for b in bodies
            )
            SearchDocument.objects.bulk_create(
                SearchDocument(
                    organization=organization,
                    board_id=p.board_id,
                    kind=SearchKind.PAYLOAD,
                    object_id=p.pk,
                    title=f"GitHub CI · {p.headers['x-github-event']}",
                    body=f"{p.headers['x-github-event']}\n{bytes(p.body).decode()}",
                    url=reverse("webhooks:payload-detail", args=[p.pk]),
                )
                for p in payloads
            )
    seeded_s = time.perf_counter() - started
    started = time.perf_counter()
    SearchDocument.objects.filter(organization=organization, vector__isnull=True).update(
        vector=PostgresBackend().vector()
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE search_searchdocument")
    return {
        "organization": organization,
        "user": user,
        "seed_seconds": round(seeded_s, 1),
        "vector_seconds": round(time.perf_counter() - started, 1),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def explain(user) -> dict[str, str]:
    from django.db import transaction

    from search.backends import PostgresBackend
    from search.queries import documents_for_user

    backend = PostgresBackend()
    documents = documents_for_user(user)
    plans = {
        f"fulltext {text}": backend.fulltext(documents, text)[:20].explain(analyze=True, buffers=True)
        for text in ("ledger refund", "deploy")
    }
    with transaction.atomic():
        backend.lowered_threshold()
        plans["trigram billnig"] = backend.similar_titles(documents, "billnig")[:20].explain(
            analyze=True, buffers=True
        )
    return plans


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--payloads", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--output", default="")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missioncontrol.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from search.models import SearchDocument
    from search.queries import documents_for_user, search_documents

    if connection.vendor != "postgresql":
        sys.exit("bench.search measures PostgreSQL: set DATABASE_URL=postgres://…")
    call_command("migrate", verbosity=0)
    world = seed(args.tasks, args.payloads)
    user = world["user"]
    per_query: dict[str, dict] = {}
    everything: list[float] = []
    for label, text in QUERIES.items():
        search_documents(documents_for_user(user), text)  # warm the cache and the plan
        timings = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            hits = search_documents(documents_for_user(user), text)
            timings.append((time.perf_counter() - started) * 1000)
        everything += timings
        per_query[label] = {
            "query": text,
            "hits": len(hits),
            "p50_ms": round(statistics.median(timings), 1),
            "p99_ms": round(percentile(timings, 0.99), 1),
        }
    results = {
        # Other processes share this machine's cores: the load says how quiet the run was.
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cores": os.cpu_count(),
        "documents": SearchDocument.objects.filter(organization=world["organization"]).count(),
        "tasks": args.tasks,
        "payloads": args.payloads,
        "repeats_per_query": args.repeats,
        "seed_seconds": world["seed_seconds"],
        "vector_seconds": world["vector_seconds"],
        "p50_ms": round(statistics.median(everything), 1),
        "p99_ms": round(percentile(everything, 0.99), 1),
        "queries": per_query,
        "plans": explain(user),
    }
    if args.output:
        with open(args.output, "w") as handle:
            json.dump(results, handle, indent=1)
    return results


if __name__ == "__main__":
    results = main()
    plans = results.pop("plans")
    print(json.dumps(results, indent=1))
    for label, plan in plans.items():
        print(f"\n--- EXPLAIN ANALYZE: {label}\n{plan}")
