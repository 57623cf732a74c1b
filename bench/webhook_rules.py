"""Webhook rules: the worker's time and queries per GitHub `issues` payload with the GitHub
preset (opened creates a task, labeled updates it, closed moves it to done), timed in-process.

`DJANGO_SETTINGS_MODULE=missioncontrol.settings python -m bench.webhook_rules 100` (in a migrated
database, e.g. DATABASE_URL=postgres://…)
prints one JSON line. Ingest itself pays one indexed EXISTS query and one broker publish per
payload for rules; everything measured here happens in the worker.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import uuid

import django


def issues_event(action: str, number: int, **issue) -> dict:
    """The parts of GitHub's `issues` delivery the preset reads."""
    return {
        "action": action,
        "issue": {
            "number": number,
            "title": f"Issue {number}",
            "body": "Steps to reproduce…",
            "html_url": f"https://github.com/bench/repo/issues/{number}",
            "user": {"login": "octocat"},
            "labels": [],
            "assignee": None,
            "state": "open",
            "pull_request": None,
            **issue,
        },
        "repository": {"full_name": "bench/repo"},
        "sender": {"login": "octocat"},
    }


def main(count: int) -> dict:
    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from boards.models import Board
    from core.actors import Actor
    from core.models import Membership, Organization, Role
    from webhook_rules import services as rules
    from webhooks import services as webhooks

    suffix = uuid.uuid4().hex[:8]
    organization = Organization.objects.create(name=f"rules {suffix}", slug=f"rules-{suffix}")
    admin = get_user_model().objects.create(username=f"rules-{suffix}")
    Membership.objects.create(organization=organization, user=admin, role=Role.ADMIN)
    board = Board.objects.create(organization=organization, name="rules", slug=f"rules-{suffix}")
    webhook, _ = webhooks.create_webhook(board=board, actor=Actor.for_user(admin), description="bench")
    rules.apply_preset(webhook=webhook, actor=Actor.for_user(admin), preset="github")

    kinds = {
        "opened_creates": lambda n: issues_event("opened", n),
        "labeled_updates": lambda n: issues_event("labeled", n, labels=[{"name": "bug"}]),
        "closed_moves_to_done": lambda n: issues_event("closed", n, state="closed"),
    }
    timings: dict[str, list[float]] = {kind: [] for kind in kinds}
    queries: dict[str, int] = {}
    for number in range(1, count + 1):
        for kind, build in kinds.items():
            body = json.dumps(build(number)).encode()
            payload = webhooks.ingest_webhook_payload(
                webhook=webhook,
                body=body,
                content_type="application/json",
                headers={"x-github-event": "issues"},
            ).payload
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                rules.apply_rules(payload_id=payload.pk)
                timings[kind].append((time.perf_counter() - started) * 1000)
            queries[kind] = len(captured.captured_queries)
    return {
        kind: {
            "payloads": len(values),
            "p50_ms": round(statistics.median(values), 1),
            "p95_ms": round(sorted(values)[max(0, int(len(values) * 0.95) - 1)], 1),
            "queries": queries[kind],
        }
        for kind, values in timings.items()
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)))
