"""Usage under concurrent requests on real PostgreSQL: idempotency and the rollup hold."""

from __future__ import annotations

import random
import threading

import pytest
from django.db import connection
from django.db.models import Count, Sum
from rest_framework.test import APIClient

from tests.agents.factories import agent_with_token, bearer
from tests.conftest import requires_postgres
from usage.models import UsageDaily, UsageDailyByAgent, UsageDailyByTask, UsageReport

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

URL = "/api/v1/agent/usage"


def _post_all(raw: str, batches: list[list[dict]], barrier: threading.Barrier, outcomes: list) -> None:
    client = APIClient()
    client.credentials(**bearer(raw))
    try:
        barrier.wait(timeout=20)
        for batch in batches:
            response = client.post(URL, {"reports": batch}, format="json")
            outcomes.append((response.status_code, response.json()))
    finally:
        connection.close()


def _sums_by_agent_and_model(manager, *, reports) -> dict:
    rows = manager.values("agent_id", "model").annotate(
        reports=reports,
        input_tokens=Sum("input_tokens"),
        output_tokens=Sum("output_tokens"),
        cached_tokens=Sum("cached_tokens"),
        cost_micros=Sum("cost_micros"),
    )
    return {(row["agent_id"], row["model"]): row for row in rows}


def _run(workers: list[tuple[str, list[list[dict]]]]) -> list:
    barrier = threading.Barrier(len(workers))
    outcomes: list = []
    threads = [
        threading.Thread(target=_post_all, args=(raw, batches, barrier, outcomes)) for raw, batches in workers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def test_twenty_concurrent_identical_posts_count_once(organization, board, settings):
    settings.AGENT_RATE = "10000/60s"
    _agent, _token, raw = agent_with_token(organization=organization, name="racer", boards=[board])
    same = [{"model": "gpt-4o", "input_tokens": 1000, "output_tokens": 10, "idempotency_key": "retry-me"}]
    outcomes = _run([(raw, [same])] * 20)
    assert [status for status, _ in outcomes] == [200] * 20
    assert sorted(body["accepted"] for _, body in outcomes) == [0] * 19 + [1]
    assert len({body["reports"][0]["id"] for _, body in outcomes}) == 1  # every answer names the same report
    assert UsageReport.objects.count() == 1
    rollup = UsageDaily.objects.get()
    assert (rollup.reports, rollup.input_tokens, rollup.output_tokens) == (1, 1000, 10)


def test_the_rollup_equals_a_recomputation_after_a_random_concurrent_workload(organization, board, settings):
    """Eight agents' workers post overlapping batches (shared keys are retries, so duplicates too)
    for a few models and days at once; the rollup must equal the raw reports summed afresh."""
    settings.AGENT_RATE = "10000/60s"
    rng = random.Random(1414)
    raws = [agent_with_token(organization=organization, name=f"w{n}", boards=[board])[2] for n in range(4)]
    workers = []
    for n in range(8):
        raw = raws[n % 4]  # two workers per agent: their keys overlap
        batches = [
            [
                {
                    "model": rng.choice(["gpt-4o", "gpt-4o-mini", "unpriced-model"]),
                    "input_tokens": rng.randrange(0, 5000),
                    "output_tokens": rng.randrange(1, 5000),
                    "cached_tokens": rng.randrange(0, 100),
                    "idempotency_key": f"k{rng.randrange(60)}",
                }
                for _ in range(rng.randrange(1, 20))
            ]
            for _ in range(6)
        ]
        workers.append((raw, batches))
    outcomes = _run(workers)
    assert {status for status, _ in outcomes} == {200}

    recomputed = _sums_by_agent_and_model(UsageReport.objects, reports=Count("id"))
    for rollup in (UsageDaily, UsageDailyByAgent):
        rolled = _sums_by_agent_and_model(rollup.objects, reports=Sum("reports"))
        assert rolled.keys() == recomputed.keys()
        for key, row in recomputed.items():
            for column in ("reports", "input_tokens", "output_tokens", "cached_tokens"):
                assert rolled[key][column] == row[column], (rollup.__name__, key, column)
            assert rolled[key]["cost_micros"] == (row["cost_micros"] or 0), (rollup.__name__, key)
    by_task = UsageDailyByTask.objects.aggregate(reports=Sum("reports"), cost=Sum("cost_micros"))
    raw = UsageReport.objects.aggregate(reports=Count("id"), cost=Sum("cost_micros"))
    assert (by_task["reports"], by_task["cost"]) == (raw["reports"], raw["cost"] or 0)
    accepted = sum(body["accepted"] for _, body in outcomes)
    assert accepted == UsageReport.objects.count()
