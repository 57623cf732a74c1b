"""celery beat in production mode (DATABASE_URL set, so settings create no directory) on a fresh
machine: the schedule file's directory does not exist yet and beat must create it, not crash."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

# Reads files and settings only: CI runs it once, in the SQLite run.
pytestmark = pytest.mark.backend_independent

ROOT = Path(__file__).resolve().parents[1]


def test_beat_creates_its_schedule_directory_on_first_start(tmp_path):
    data_dir = tmp_path / "fresh" / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_ALLOW"))}
    env.update(
        DEBUG="0",
        SECRET_KEY="beat-test-only-not-a-secret-" + "x" * 40,
        DATA_DIR=str(data_dir),
        # Production mode; beat itself never queries the database.
        DATABASE_URL="postgres://nobody@127.0.0.1:1/none",
        REDIS_URL=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15",
        CELERY_EMBEDDED_WORKER="0",
        DJANGO_SETTINGS_MODULE="missioncontrol.settings",
    )
    command = [sys.executable, "-m", "celery", "-A", "missioncontrol", "beat", "--loglevel=INFO"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    schedule = data_dir / "celerybeat-schedule"
    try:
        deadline = time.monotonic() + 30
        while not list(data_dir.glob("celerybeat-schedule*")) and time.monotonic() < deadline:
            if process.poll() is not None:
                break
            time.sleep(0.2)
        assert process.poll() is None, process.communicate(timeout=5)[0].decode()[-3000:]
        assert list(data_dir.glob("celerybeat-schedule*")), f"no schedule file beside {schedule}"
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:  # a beat wedged by the error ignores SIGTERM
                process.kill()
                process.wait(5)
