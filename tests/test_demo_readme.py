"""The README's "Try it" example works as written: its `eval "$(python manage.py demo …)"` line
sets every variable the rest of the block uses, with the URL of the PORT the server runs on and
the secrets that are live (the drill found port 8000 whatever PORT was, and no secrets)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = "18237"  # never listened on: only printed into URLs
CHECK = """
import os, sys
sys.path.insert(0, os.getcwd())
import django
django.setup()
from tests.agent_tokens import authenticate_agent_token
from webhooks.models import BoardWebhook
from webhooks.services import webhook_secrets
webhook_id = int(os.environ["WEBHOOK_URL"].rstrip("/").rsplit("/", 1)[1])
assert webhook_secrets(BoardWebhook.objects.get(pk=webhook_id)) == [os.environ["WEBHOOK_SECRET"]]
assert authenticate_agent_token(os.environ["AGENT_TOKEN"]) is not None
print("live")
"""


def try_it_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Try it", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_gets_live_values_for_the_port_in_use(tmp_path):
    block = try_it_block()
    [eval_line] = [line for line in block.splitlines() if line.startswith("eval ")]
    used = set(re.findall(r"\$([A-Z_]+)\b|\$\{([A-Z_]+)\}", block.replace(eval_line, "")))
    used = {name for pair in used for name in pair if name} - {"BODY", "SIG"}
    assert used == {"WEBHOOK_SECRET", "WEBHOOK_URL", "AGENT_TOKEN", "BASE_URL"}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL"} and not key.startswith("PYTEST")
    }
    env.update(
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}",
        ENV_FILE="",
        DEBUG="1",
        DATA_DIR=str(tmp_path),
        PORT=PORT,
        CELERY_EMBEDDED_WORKER="0",
        DJANGO_SETTINGS_MODULE="missioncontrol.settings",
    )
    check = tmp_path / "check_live.py"
    check.write_text(CHECK)
    script = (
        "set -eu; python manage.py migrate --noinput -v 0; python manage.py demo > /dev/null; "
        f"{eval_line}; "
        'for name in BASE_URL WEBHOOK_URL WEBHOOK_SECRET AGENT_TOKEN; do eval "echo $name=\\$$name"; done; '
        f"python {check}"
    )
    result = subprocess.run(
        ["sh", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stdout[-1500:] + result.stderr[-2500:]
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert values["BASE_URL"] == f"http://127.0.0.1:{PORT}"
    assert values["WEBHOOK_URL"].startswith(f"http://127.0.0.1:{PORT}/api/v1/boards/")
    assert values["WEBHOOK_SECRET"] and values["AGENT_TOKEN"]
    assert result.stdout.strip().endswith("live")  # the secrets the example uses are the live ones
