"""`manage.py demo --json`: the shape scripts rely on, idempotency, and secret rotation."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from agents.models import Agent
from boards.models import Board, Task
from tests.agent_tokens import authenticate_agent_token
from webhooks.models import BoardWebhook
from webhooks.services import webhook_secrets

ID_KEYS = {
    "base_url",
    "organization_id",
    "board_id",
    "webhook_id",
    "webhook_url",
    "agent_id",
    "admin_username",
}
SECRET_KEYS = {"webhook_secret", "agent_token", "admin_password"}


def run_demo(*args: str) -> dict:
    out = StringIO()
    call_command("demo", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def row_counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (Board, Agent, BoardWebhook, Task))


@pytest.mark.django_db
def test_first_run_prints_ids_and_every_secret_once(settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    first = run_demo()
    assert set(first) == ID_KEYS | SECRET_KEYS
    assert first["webhook_url"] == (
        f"http://127.0.0.1:8000/api/v1/boards/{first['board_id']}/webhooks/{first['webhook_id']}"
    )
    assert authenticate_agent_token(first["agent_token"]).agent_id == first["agent_id"]
    webhook = BoardWebhook.objects.get(pk=first["webhook_id"])
    assert webhook_secrets(webhook) == [first["webhook_secret"]]
    assert Task.objects.filter(board_id=first["board_id"]).count() == 3


@pytest.mark.django_db
def test_a_second_run_changes_nothing_and_prints_only_ids():
    first = run_demo()
    counts = row_counts()
    second = run_demo()
    assert set(second) == ID_KEYS
    assert {k: second[k] for k in ID_KEYS} == {k: first[k] for k in ID_KEYS}
    assert counts == row_counts()
    assert authenticate_agent_token(first["agent_token"]) is not None


@pytest.mark.django_db
def test_rotate_secrets_issues_new_ones_and_the_old_stop_working():
    first = run_demo()
    rotated = run_demo("--rotate-secrets")
    assert set(rotated) == ID_KEYS | {"webhook_secret", "agent_token"}
    assert rotated["agent_token"] != first["agent_token"]
    assert rotated["webhook_secret"] != first["webhook_secret"]
    assert authenticate_agent_token(first["agent_token"]) is None
    assert authenticate_agent_token(rotated["agent_token"]) is not None
    webhook = BoardWebhook.objects.get(pk=first["webhook_id"])
    assert webhook_secrets(webhook) == [rotated["webhook_secret"]]


@pytest.mark.django_db
def test_the_admin_password_comes_from_the_environment_when_set(monkeypatch):
    monkeypatch.setenv("MC_ADMIN_PASSWORD", "a-chosen-password-123")
    result = run_demo()
    assert "admin_password" not in result
    from django.contrib.auth import authenticate

    assert authenticate(username="admin", password="a-chosen-password-123") is not None


@pytest.mark.django_db
def test_reset_admin_password_sets_and_prints_a_new_one():
    from django.contrib.auth import authenticate

    first = run_demo()
    reset = run_demo("--reset-admin-password")
    assert set(reset) == ID_KEYS | {"admin_password"}
    assert reset["admin_password"] != first["admin_password"]
    assert authenticate(username="admin", password=first["admin_password"]) is None
    assert authenticate(username="admin", password=reset["admin_password"]) is not None


@pytest.mark.django_db
def test_the_human_output_links_follow_the_public_base_url(settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9123"
    out = StringIO()
    call_command("demo", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:9123/boards/" in text and "--reset-admin-password" in text


@pytest.mark.django_db
def test_the_first_run_prints_the_secrets_last_in_a_frame(settings):
    out = StringIO()
    call_command("demo", stdout=out)
    lines = out.getvalue().rstrip("\n").splitlines()
    frame = [i for i, line in enumerate(lines) if line.startswith("+-")]
    assert len(frame) == 3 and frame[-1] == len(lines) - 1  # the frame closes the output
    inside = lines[frame[1] + 1 : frame[2]]
    assert [line.split()[:2] for line in inside] == [
        ["|", "admin"],
        ["|", "agent"],
        ["|", "webhook"],
    ]
    assert all(line.endswith("|") and len(line) == len(lines[frame[0]]) for line in inside)
    assert "Shown once" in lines[frame[0] + 1]
    again = StringIO()
    call_command("demo", stdout=again)
    assert "+-" not in again.getvalue() and "already set up" in again.getvalue()
