"""The run that promises PostgreSQL and Redis (REQUIRE_SERVICES=1) cannot pass by skipping:
a mistyped service URL stops it before any test, and a test that skips for a missing tool fails.
Each case runs pytest in a subprocess with tests/ci_plugin.py loaded, as `make test` does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import requires_postgres, requires_redis

ROOT = Path(__file__).resolve().parent.parent

SKIPPING_TESTS = """
import pytest

def test_that_needs_a_missing_tool():
    pytest.skip("nginx is not installed")

def test_for_the_embedded_default_only():
    pytest.skip("runs on the other backend: the embedded SQLite database only")

def test_that_runs():
    pass
"""


def run_pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_sample.py").write_text(SKIPPING_TESTS)
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    # Only the plugin under test: no Django, no third-party plugins (seconds saved per run).
    child_env.update(PYTHONPATH=str(ROOT), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", **env)
    ini = tmp_path / "pytest.ini"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.ci_plugin", "-c", str(ini), "-rA", "test_sample.py"],
        cwd=tmp_path,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    ("database_url", "redis_url", "complaint"),
    [
        ("postgres://postgres@127.0.0.1:1/test", "redis://127.0.0.1:6379/0", "PostgreSQL at DATABASE_URL"),
        ("postgress://postgres@127.0.0.1:5432/test", "redis://127.0.0.1:6379/0", "not a postgres:// URL"),
        ("postgres://postgres@127.0.0.1:1/test", "redis://127.0.0.1:1/0", "Redis at REDIS_URL"),
    ],
)
def test_a_mistyped_service_url_stops_the_run_before_any_test(tmp_path, database_url, redis_url, complaint):
    result = run_pytest(tmp_path, REQUIRE_SERVICES="1", DATABASE_URL=database_url, REDIS_URL=redis_url)
    assert result.returncode != 0
    assert complaint in result.stderr
    assert "test_that_runs" not in result.stdout


@requires_postgres
@requires_redis
def test_a_skip_fails_when_services_are_promised_unless_it_is_for_the_other_backend(tmp_path):
    result = run_pytest(
        tmp_path,
        REQUIRE_SERVICES="1",
        DATABASE_URL=os.environ["DATABASE_URL"],
        REDIS_URL=os.environ["REDIS_URL"],
    )
    assert result.returncode == 1, result.stdout[-2000:]
    assert "FAILED" in result.stdout and "REQUIRE_SERVICES=1 and this test skipped" in result.stdout
    assert "1 failed, 1 passed, 1 skipped" in result.stdout


@pytest.mark.backend_independent
def test_the_same_skips_stay_skips_without_the_promise(tmp_path):
    result = run_pytest(tmp_path, REQUIRE_SERVICES="")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "1 passed, 2 skipped" in result.stdout
