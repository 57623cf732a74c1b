"""docs/api.md's "read the board memory, post progress, answer mentions" curl examples, parsed from
the document and run with curl against the live ASGI server, as an agent would."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from chat.models import ChatMessage
from chat.services import post_message, set_pinned
from core.actors import Actor
from notifications.models import Notification
from tests.activity.log import consumers_inline  # noqa: F401 - the fixture
from tests.agents.factories import agent_with_token

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("consumers_inline")]

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
DOC_HOST = "http://127.0.0.1:8000"


def chat_loop_commands() -> tuple[str, list[str]]:
    """The `AUTH=` line and each curl command (continuation lines joined) of the tested block."""
    text = DOC.read_text()
    section = text.split("### Read the board memory, post progress, answer mentions", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    joined = block.replace("\\\n", " ")
    lines = [
        line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")
    ]
    auth, *commands = lines
    assert auth.startswith("AUTH=") and all(c.startswith("curl ") for c in commands), lines
    return auth, commands


def run(auth: str, command: str, base_url: str, env: dict[str, str]) -> dict:
    script = f"{auth}\n{command.replace(DOC_HOST, base_url)}"
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, (command, result.stderr, result.stdout)
    return json.loads(result.stdout)


def test_the_documented_chat_loop_runs_against_a_live_server(
    asgi_server, organization, board, user, teammate
):
    agent, _token, raw = agent_with_token(organization=organization, name="release-bot", boards=[board])
    rule = post_message(board=board, actor=Actor.for_user(user), body="Never deploy on Fridays.")
    set_pinned(message=rule, actor=Actor.for_user(user), pinned=True)
    post_message(board=board, actor=Actor.for_user(user), body="Chatter nobody needs to answer")
    ask = post_message(board=board, actor=Actor.for_user(teammate), body="@release-bot how is the load test?")
    env = {"PATH": "/usr/bin:/bin", "AGENT_TOKEN": raw, "BOARD": str(board.pk), "LAST_SEEN": "0"}

    auth, commands = chat_loop_commands()
    assert len(commands) == 4
    memory, progress, mentions, answer = (run(auth, c, asgi_server.url, env) for c in commands)

    assert [m["body"] for m in memory["results"]] == ["Never deploy on Fridays."]
    assert progress["author"]["agent_id"] == agent.pk and progress["body"].startswith("Started the load test")
    assert [m["id"] for m in mentions["results"]] == [ask.pk]
    assert answer["mentions"] == [{"kind": "user", "name": "owner", "user_id": user.pk, "agent_id": None}]
    assert ChatMessage.objects.filter(author_agent=agent).count() == 2
    assert Notification.objects.filter(recipient=user, kind="mention").count() == 1
