"""Board scale: the board page and the task list API at growing task counts, timed in-process
with the production settings, with their query counts (which must not grow).

`python -m bench.board_scale 100 1000 10000` (run by bench.run_all in the benchmark database)
prints one JSON line.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import django

REPEATS = 5


def measure(client, url: str) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings = []
    queries = 0
    status = 0
    for _ in range(REPEATS):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, HTTP_HOST="127.0.0.1")
            timings.append((time.perf_counter() - started) * 1000)
        queries = len(captured.captured_queries)
        status = response.status_code
    return {"status": status, "median_ms": round(statistics.median(timings), 1), "queries": queries}


def main(counts: list[int]) -> dict:
    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from bench.seed import tasks
    from boards.models import Board

    board = Board.objects.get(organization__slug="bench")
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    results = {}
    for count in counts:
        tasks(str(count))
        results[str(count)] = {
            "board_page": measure(client, f"/boards/{board.pk}/"),
            "task_list_api": measure(client, f"/api/v1/tasks/?board={board.pk}&limit=200"),
        }
    return results


if __name__ == "__main__":
    print(json.dumps(main([int(arg) for arg in sys.argv[1:]])))
