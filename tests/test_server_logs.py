"""Production-mode logs of a real uvicorn process: with LOG_FORMAT=json every line is one JSON
object, uvicorn's own lines and tracebacks included, and Django's request errors carry the
request id the response was given."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

# Reads files and settings only: CI runs it once, in the SQLite run.
pytestmark = pytest.mark.backend_independent

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_real_server_logs_only_json_lines_with_request_ids(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_ALLOW"))}
    # Production mode (LOG_FORMAT defaults to json there); the static manifest of a real build.
    env.update(
        DEBUG="0",
        SECRET_KEY="log-test-only-not-a-secret-" + "x" * 40,
        ALLOWED_HOSTS="127.0.0.1",
        STATIC_ROOT=str(tmp_path / "static"),
        DATA_DIR=str(tmp_path),
        DATABASE_URL="",
        REDIS_URL="",
        CELERY_EMBEDDED_WORKER="0",
        DJANGO_SETTINGS_MODULE="missioncontrol.settings",
    )
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "tests.asgi_with_failures:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--lifespan",
        "off",
        "--log-level",
        "info",
    ]
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
                break
            except httpx.HTTPError:
                assert process.poll() is None and time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.1)
        page = httpx.get(
            f"http://127.0.0.1:{port}/test-page-boom", headers={"X-Request-ID": "req-log-test-0001"}
        )
        assert page.status_code == 500
        api = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/test-api-boom", headers={"X-Request-ID": "req-log-test-0002"}
        )
        assert api.status_code == 500
        assert httpx.get(f"http://127.0.0.1:{port}/test-asgi-boom").status_code == 500
    finally:
        process.terminate()
        output = process.communicate(timeout=15)[0].decode()

    lines = [line for line in output.splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"a log line is not JSON: {line!r}\n{output[-3000:]}") from None
    by_logger = {}
    for record in records:
        by_logger.setdefault(record["logger"], []).append(record)
    # uvicorn's own lines: start-up and the traceback of an exception outside Django.
    assert any(
        "Uvicorn running" in r["message"] or "Started server" in r["message"]
        for r in records
        if r["logger"].startswith("uvicorn")
    ), output[-3000:]
    crash = [r for r in by_logger.get("uvicorn.error", []) if "Exception in ASGI application" in r["message"]]
    assert crash and "RuntimeError: failed outside Django" in crash[0]["exc_info"]
    # Django's own error line for the failing view, with the request's id.
    errors = by_logger["django.request"]
    assert sorted(r["request_id"] for r in errors) == ["req-log-test-0001", "req-log-test-0002"], errors
    assert "secret-detail-that-must-not-leak" in errors[0]["exc_info"]  # the log may hold it; responses not
