"""Production mode refuses unsafe settings with a one-line message naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Reads files and settings only: CI runs it once, in the SQLite run.
pytestmark = pytest.mark.backend_independent

ROOT = Path(__file__).resolve().parent.parent
STRONG_KEY = "k" * 20 + "9f8e7d6c5b4a3210fedcba98"


def start_django(**env_overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}
    env.update(env_overrides)
    env["DJANGO_SETTINGS_MODULE"] = "missioncontrol.settings"
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_refuses_the_example_secret_key_in_production():
    result = start_django(DEBUG="0", ALLOWED_HOSTS="mc.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr.strip().splitlines()[-1]


def test_it_refuses_a_short_secret_key_in_production():
    result = start_django(DEBUG="0", SECRET_KEY="short", ALLOWED_HOSTS="mc.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_it_refuses_empty_allowed_hosts_in_production():
    result = start_django(DEBUG="0", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="")
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr.strip().splitlines()[-1]


def test_it_starts_in_production_with_safe_values():
    result = start_django(DEBUG="0", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="mc.example.com")
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_it_accepts_the_example_key_in_debug_mode():
    result = start_django(DEBUG="1")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe"),
        ("REQUEST_LOG_SLOW_MS", "fast"),
        ("WEBHOOK_INGEST_RATE", "sixty"),
        ("RATE_LIMIT_BACKEND", "memcached"),
        ("TRUSTED_PROXY_COUNT", "-1"),
    ],
)
def test_it_names_the_variable_with_a_malformed_value(variable, value):
    result = start_django(**{"DEBUG": "1", variable: value})
    assert result.returncode != 0
    assert variable in result.stderr


def test_every_environment_variable_is_documented_in_env_example():
    import re

    settings_source = (ROOT / "missioncontrol" / "settings.py").read_text()
    read = set(re.findall(r'env_(?:str|bool|int|float|list|rate)\(\s*"([A-Z0-9_]+)"', settings_source))
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert read, "no environment reads found; the pattern is stale"
    assert read - documented == set(), "add these to .env.example with a comment and safe default"


def test_the_channel_layer_shards_over_every_listed_redis():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print([host['address'] for host in settings.CHANNEL_LAYERS['default']['CONFIG']['hosts']])"
    )
    env = {
        **os.environ,
        "DEBUG": "1",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "CHANNEL_LAYER_REDIS_URLS": "redis://10.0.0.1:6379/0,redis://10.0.0.2:6379/0",
        "DJANGO_SETTINGS_MODULE": "missioncontrol.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['redis://10.0.0.1:6379/0', 'redis://10.0.0.2:6379/0']"


@pytest.mark.parametrize(("statement_ms", "starts"), [("29999", True), ("30000", False), ("0", True)])
def test_the_statement_timeout_must_be_shorter_than_the_proxy_timeout(statement_ms, starts):
    result = start_django(
        DEBUG="1",
        DATABASE_URL="postgres://mc@127.0.0.1:9/unused",  # never connected: settings only
        SERVER_TIMEOUT_SECONDS="30",
        DB_STATEMENT_TIMEOUT_MS=statement_ms,
    )
    assert (result.returncode == 0) is starts, result.stderr[-500:]
    if not starts:
        assert "DB_STATEMENT_TIMEOUT_MS (30000) must be shorter than SERVER_TIMEOUT_SECONDS" in result.stderr
