"""`make run`'s first-run .env: random, private, never overwritten, and read by every command."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.local_env import write_local_env

# Reads files and settings only: CI runs it once, in the SQLite run.
pytestmark = pytest.mark.backend_independent

ROOT = Path(__file__).resolve().parent.parent


def test_it_writes_a_random_key_once_and_never_overwrites(tmp_path):
    path = tmp_path / ".env"
    assert write_local_env(path) is True
    first = path.read_text()
    assert "DEBUG=0" in first and "LOCAL_INSTALL=1" in first
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert write_local_env(path) is False
    assert path.read_text() == first
    other = tmp_path / "other.env"
    write_local_env(other)
    key = next(line for line in first.splitlines() if line.startswith("SECRET_KEY="))
    assert key not in other.read_text() and len(key) > 50


def test_manage_py_commands_start_with_debug_off_from_the_file_alone(tmp_path):
    path = tmp_path / ".env"
    write_local_env(path)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"}
    }
    env.update(ENV_FILE=str(path), DJANGO_SETTINGS_MODULE="missioncontrol.settings")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.DEBUG, settings.SESSION_COOKIE_SECURE, settings.LOCAL_INSTALL)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "True"]
