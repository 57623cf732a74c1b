"""`manage.py check --deploy --fail-level WARNING` is clean with the production environment that
docs/security.md documents (the block after `<!-- production-env -->`), so following the
checklist reaches a clean run and the document cannot go stale."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

# Reads files and settings only: CI runs it once, in the SQLite run.
pytestmark = pytest.mark.backend_independent

ROOT = Path(__file__).resolve().parents[1]


def documented_production_env() -> dict[str, str]:
    text = (ROOT / "docs" / "security.md").read_text()
    block = re.search(r"<!-- production-env -->\s*```sh\n(.*?)```", text, re.S)
    assert block, "docs/security.md lost its production-env block"
    env = {}
    for line in block.group(1).splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            # Placeholders (<...>) become random values of the kind they describe.
            env[name.strip()] = secrets.token_urlsafe(50) if value.startswith("<") else value
    return env


def check_deploy(env_overrides: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_ALLOW"))}
    env.update(env_overrides)
    # The database is not contacted by the check; Redis is (agents.W001 warns when the rate-limit
    # backend is unreachable), so the documented host is swapped for this machine's Redis.
    env.update(
        REDIS_URL=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="missioncontrol.settings",
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_documented_production_env_passes_check_deploy_at_warning_level(tmp_path):
    result = check_deploy(documented_production_env(), tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "no issues" in result.stdout


def test_leaving_out_a_checklist_item_fails_the_check(tmp_path):
    env = documented_production_env()
    env.update(SECURE_SSL_REDIRECT="0", HSTS_PRELOAD="0")
    result = check_deploy(env, tmp_path)
    assert result.returncode != 0
    assert "security.W008" in result.stderr and "security.W021" in result.stderr


def test_an_accepted_warning_can_be_silenced(tmp_path):
    env = documented_production_env()
    env.update(HSTS_PRELOAD="0", SILENCED_SYSTEM_CHECKS="security.W021")
    assert check_deploy(env, tmp_path).returncode == 0


def test_the_https_redirect_spares_the_probes(db, settings):
    from django.test import Client

    settings.SECURE_SSL_REDIRECT = True
    client = Client()
    assert client.get("/login/").status_code == 301
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
