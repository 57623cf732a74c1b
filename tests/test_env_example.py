"""`.env.example` is a file a shell can source, and production settings boot from it as shipped.

The drill found `LOG_FORMAT=` (empty) turning production logs to plain text, the e-mail
settings defined twice with conflicting values, and lines `sh` could not parse (a cron
expression, an address in angle brackets).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / ".env.example"
STRONG_KEY = "k" * 20 + "9f8e7d6c5b4a3210fedcba98"
PRINT_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "import infra.metrics as m; m.HTTP_REQUESTS.labels('GET', '/', '200').inc(); "
    "print(json.dumps({n: str(getattr(s, n)) for n in ("
    "'DEBUG', 'LOG_FORMAT', 'BACKUP_SCHEDULE', 'DEFAULT_FROM_EMAIL', 'EMAIL_BACKEND', 'EMAIL_PORT', "
    "'WEB_CONCURRENCY', 'DB_STATEMENT_TIMEOUT_MS')}))"
)


def in_a_shell_sourcing_the_example(command: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """A fresh `sh`: only PATH and HOME from here, then `set -a; . ./.env.example`, then the two
    values the README says to set before production (a real key, the host names)."""
    script = (
        "set -eu; set -a; . ./.env.example; "
        f"SECRET_KEY={STRONG_KEY}; ALLOWED_HOSTS=mc.example.com; DATA_DIR={tmp_path}; "
        "BACKUP_DIR=$DATA_DIR/backups; ENV_FILE=; DJANGO_SETTINGS_MODULE=missioncontrol.settings; set +a; "
        + command
    )
    return subprocess.run(
        ["sh", "-c", script],
        cwd=ROOT,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def metric_files() -> set[Path]:
    return set(ROOT.glob("*.db"))


def test_the_example_is_sourceable_and_boots_production_settings(tmp_path):
    before = metric_files()
    result = in_a_shell_sourcing_the_example(f'{sys.executable} -c "{PRINT_SETTINGS}"', tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    # PROMETHEUS_MULTIPROC_DIR= (blank) must not make prometheus_client write into the checkout.
    assert metric_files() - before == set()
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] == "False"
    assert values["LOG_FORMAT"] == "json"  # production logs are JSON lines
    assert values["BACKUP_SCHEDULE"] == "0 2 * * *"
    assert values["DEFAULT_FROM_EMAIL"] == "Mission Control <mission-control@localhost>"
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"  # no EMAIL_HOST
    assert values["DB_STATEMENT_TIMEOUT_MS"] == "10000"


def test_the_deploy_check_passes_on_the_example(tmp_path):
    result = in_a_shell_sourcing_the_example(
        f"{sys.executable} manage.py check --deploy --fail-level ERROR", tmp_path
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_every_variable_is_defined_once():
    names = re.findall(r"^([A-Z0-9_]+)=", EXAMPLE.read_text(), re.MULTILINE)
    assert [name for name in set(names) if names.count(name) > 1] == []


def test_blank_means_the_default_for_every_reader(monkeypatch):
    from missioncontrol import settings as settings_module

    monkeypatch.setenv("LOG_FORMAT", "")
    assert settings_module.env_str("LOG_FORMAT", "json") == "json"
    monkeypatch.setenv("LOG_FORMAT", "  ")
    assert settings_module.env_str("LOG_FORMAT", "json") == "json"
    monkeypatch.setenv("LOG_FORMAT", "text")
    assert settings_module.env_str("LOG_FORMAT", "json") == "text"
