"""With PROMETHEUS_MULTIPROC_DIR, one scrape aggregates the counters of every web process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

COUNT_ONE_REQUEST = (
    "from infra.metrics import HTTP_REQUESTS;"
    "HTTP_REQUESTS.labels(method='GET', route='/x', status='200').inc()"
)
SCRAPE = (
    "import django; django.setup();"
    "from prometheus_client import generate_latest;"
    "from ops.metrics_view import process_registry;"
    "print(generate_latest(process_registry()).decode())"
)


def run(code: str, multiproc_dir: Path) -> str:
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir),
        "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "missioncontrol.settings",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_counters_of_separate_processes_are_summed(tmp_path):
    run(COUNT_ONE_REQUEST, tmp_path)
    run(COUNT_ONE_REQUEST, tmp_path)
    body = run(SCRAPE, tmp_path)
    assert 'mc_http_requests_total{method="GET",route="/x",status="200"} 2.0' in body
