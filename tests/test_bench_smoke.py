"""The benchmark harness cannot rot: `bench.run_all --smoke` runs end to end in production
configuration (PostgreSQL + Redis, gunicorn/uvicorn/nginx subprocesses, wrk) and reports sane figures."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import requires_postgres, requires_redis

ROOT = Path(__file__).resolve().parent.parent


@requires_postgres
@requires_redis
@pytest.mark.skipif(not shutil.which("wrk"), reason="wrk is not installed (.ci/run installs it)")
@pytest.mark.timeout(600)
@pytest.mark.runs_long
def test_every_benchmark_runs_end_to_end_at_its_smallest(tmp_path):
    output = tmp_path / "results.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench.run_all", "--smoke", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(output.read_text())
    assert results["machine"]["cores"] >= 1
    ingest = results["ingest"]
    assert ingest["ingest"]["ok"] > 0 and ingest["ingest"]["status_errors"] == 0
    assert ingest["exact_check"]["rows_match_202s"] is True
    assert ingest["rows_within_in_flight_bound"] is True
    assert ingest["stack_ceiling"]["rate"] > 0 and ingest["server_ceiling"]["rate"] > 0
    for run in results["auth"]["runs"].values():
        assert run["ok"] > 0 and run["status_errors"] == 0
    for run in results["board"]["runs"].values():
        assert run["board_page"]["status"] == 200
        assert run["task_list_api"]["status"] == 200
    assert all(results["board"]["query_count_flat"].values())
    for run in results["live"].values():
        assert run["accepted"] > 0 and run["lost"] == 0
    for key in ("one_worker", "recovery"):  # two workers: the full run only
        assert results["outbound"][key]["complete"] is True
    assert "webhook ingest" in result.stdout
    for server in ("gunicorn", "uvicorn", "layout"):
        for name, run in results["serving"]["servers"][server].items():
            assert run["ok"] > 0 and run["status_errors"] == 0, (server, name)
            assert run["cpu_ms_per_request"] > 0, (server, name)
    assert set(results["targets"]) >= {"ingest_cpu_ms", "agent_get_cpu_ms", "healthz_cpu_ms"}
    assert ingest["ingest"]["postgres_cpu_ms_per_request"] is not None
    usage = results["usage"]
    assert usage["reports"] > 0 and usage["ingest"]["reports_per_second"] > 0
    assert all(run["median_ms"] > 0 for run in usage["usage_page"].values())
    assert all(run["median_ms"] > 0 for run in usage["totals_api"].values())
