"""The readiness reports and the webhook inbox-task maker are seams in the settings style of the
others (docs/architecture.md, "Seams"): the lower app reads a dotted path from settings, and
nothing registers one from an AppConfig.ready() or on import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from infra import health
from webhooks import inbox

# Reads settings and files, calls fakes: CI runs it once, in the SQLite run.
pytestmark = pytest.mark.backend_independent

ROOT = Path(__file__).resolve().parent.parent
CALLS = []


def fake_report() -> dict:
    return {"status": "ok", "fake": True}


def fake_maker(**kwargs) -> tuple[int, str]:
    CALLS.append(kwargs)
    return 7, kwargs["title"]


def test_the_readiness_reports_are_exactly_the_listed_ones(settings):
    listed = settings.READINESS_REPORTS
    assert health.readiness_reports() == {name: import_string(path) for name, path in listed}
    apps_with_reports = {p.parent.name for p in ROOT.glob("*/readiness.py")}
    assert apps_with_reports == {path.split(".")[0] for _name, path in listed}


@pytest.mark.django_db
def test_readyz_shows_the_reports_settings_list_and_only_those(client, settings):
    settings.READINESS_REPORTS = [("fake", "tests.test_seams.fake_report")]
    assert client.get("/readyz").json()["reports"] == {"fake": {"status": "ok", "fake": True}}
    settings.READINESS_REPORTS = []
    assert "reports" not in client.get("/readyz").json()


def test_the_inbox_task_maker_is_the_one_settings_names(settings):
    assert inbox.inbox_task_maker() is import_string("webhook_rules.inbox.make_inbox_task")
    settings.WEBHOOK_INBOX_TASK_MAKER = "tests.test_seams.fake_maker"
    CALLS.clear()
    assert inbox.make_inbox_task(board=None, actor=None, title="t", description="d") == (7, "t")
    assert CALLS == [{"board": None, "actor": None, "title": "t", "description": "d"}]
    settings.WEBHOOK_INBOX_TASK_MAKER = ""
    with pytest.raises(ImproperlyConfigured):
        inbox.make_inbox_task(board=None, actor=None, title="t", description="d")


def test_no_app_config_registers_anything_from_ready():
    """A ready() may import signal receivers and Celery tasks or load the settings-listed event
    types; it calls no register_* of another app's seam (the style this replaced)."""
    for path in ROOT.glob("*/apps.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "ready":
                called = {
                    call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
                    for call in ast.walk(node)
                    if isinstance(call, ast.Call)
                }
                seams = {name for name in called if name.startswith("register_")}
                assert not seams, f"{path.parent.name}'s ready() registers {seams}: list it in settings"
