"""The event-type registry: every verb the code emits reads as a sentence, never as debug output."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils.safestring import SafeString

from activity import registry
from activity.models import ActivityEvent
from deliveries.outbound import DEAD_LETTER_STATUSES

# Reads files and settings only: CI runs it once, in the SQLite run.
pytestmark = pytest.mark.backend_independent

ROOT = Path(__file__).resolve().parents[2]
APP_DIRS = (
    "boards",
    "agents",
    "webhooks",
    "missioncontrol",
    "infra",
    "activity",
    "core",
    "deliveries",
    "ops",
    "chat",
    "alerts",
    "usage",
    "search",
    "teams",
    "gateways",
)
# verb="task.created" in record_activity calls and in helpers that pass a verb along.
VERB_LITERAL = re.compile(r"""\bverb\s*=\s*["']([a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*)["']""")


def emitted_verbs() -> set[str]:
    verbs: set[str] = set()
    for app in APP_DIRS:
        for path in (ROOT / app).rglob("*.py") if (ROOT / app).is_dir() else ():
            if "migrations" in path.parts:
                continue
            verbs.update(VERB_LITERAL.findall(path.read_text()))
    # `verb=f"delivery.{delivery.status}"` for each dead-letter status.
    verbs.update(f"delivery.{status}" for status in DEAD_LETTER_STATUSES)
    return verbs


def unsaved_event(verb: str, detail: dict | None = None, **fields) -> ActivityEvent:
    values = {
        "organization_id": 1,
        "board_id": 1,
        "actor_kind": "user",
        "actor_label": "ana",
        "target_type": "",
        "target_id": "",
        "detail": detail or {},
        "verb": verb,
    }
    values.update(fields)
    return ActivityEvent(pk=1, **values)


def test_every_verb_the_code_emits_is_registered():
    verbs = emitted_verbs()
    assert len(verbs) > 40  # the scan found the code base, not an empty folder
    missing = sorted(v for v in verbs if not registry.is_registered(v))
    assert missing == []


@pytest.mark.parametrize("event_type", registry.event_types(), ids=lambda t: t.name)
def test_every_registered_type_renders_a_sentence_without_its_verb(event_type):
    for detail in (
        {},
        {
            "title": "Run load test",
            "task_id": 7,
            "name": "release-bot",
            "agent_id": 3,
            "payload_id": 9,
            "webhook_name": "GitHub",
            "attempts": 5,
            "target": "chat-relay",
        },
    ):
        sentence = event_type.sentence(unsaved_event(event_type.name, detail, target_id="4"))
        assert isinstance(sentence, SafeString)
        assert sentence.strip()
        assert event_type.name not in sentence


def test_every_category_has_a_human_name():
    for key, label in registry.categories():
        assert label[0].isupper() and "." not in label, key


def test_it_rejects_a_type_registered_twice():
    with pytest.raises(ValueError, match="twice"):
        registry.register_event_type("task.created", category="task", label="x", sentence=str)


def test_it_rejects_a_name_that_is_not_dotted():
    with pytest.raises(ValueError, match="dotted"):
        registry.register_event_type("TaskCreated", category="task", label="x", sentence=str)


def test_describe_escapes_detail_values():
    event = unsaved_event("task.created", {"title": "<script>x</script>", "task_id": 7})
    html = registry.describe(event)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_describe_falls_back_for_an_unknown_verb():
    html = registry.describe(unsaved_event("legacy.thing"))
    assert html == "ana recorded legacy.thing"


def test_describe_falls_back_when_a_sentence_fails(caplog):
    registry.register_event_type("test.broken", category="ops", label="Broken", sentence=lambda e: 1 / 0)
    try:
        assert registry.describe(unsaved_event("test.broken")) == "ana recorded test.broken"
    finally:
        registry._types.pop("test.broken")


def test_the_claim_sentence_names_the_agent_and_links_the_task():
    event = unsaved_event(
        "task.claimed",
        {"task_id": 7, "title": "Run load test"},
        actor_kind="agent",
        actor_label="release-bot",
        actor_agent_id=3,
    )
    html = registry.describe(event)
    assert html == (
        '<a href="/agents/3/">release-bot</a> claimed '
        '<a href="/boards/1/tasks/7/">\u2018Run load test\u2019</a>'
    )


def test_the_webhook_sentence_links_the_payload_and_the_task():
    event = unsaved_event(
        "webhook.received",
        {"payload_id": 9, "webhook_name": "GitHub", "event": "issues", "task_id": 7, "title": "Build is red"},
        actor_kind="webhook",
        actor_label="webhook 1",
        target_id="9",
    )
    assert registry.describe(event) == (
        'GitHub sent a <a href="/webhooks/payloads/9/">payload</a> (issues): created '
        '<a href="/boards/1/tasks/7/">\u2018Build is red\u2019</a>'
    )


def test_the_dead_delivery_sentence_says_how_often_it_failed():
    event = unsaved_event(
        "delivery.dead",
        {"event_type": "task.created", "attempts": 5, "target": "chat-relay"},
        actor_kind="system",
        target_id="12",
    )
    assert registry.describe(event) == (
        '<a href="/deliveries/12/">Delivery of task.created</a> to chat-relay failed 5 times and was parked'
    )


def test_board_feed_verbs_are_work_not_presence_or_sign_ins():
    verbs = registry.board_feed_verbs()
    assert {"task.created", "chat.message_posted", "approval.decided", "webhook.received"} <= set(verbs)
    assert not {"agent.presence_changed", "auth.login", "delivery.dead"} & set(verbs)
    # A comment is a message of the task's thread: its post is the feed's line, not its
    # `comment.added` as well (the task's history shows that one).
    assert "comment.added" not in verbs


def test_choices_group_types_by_human_category():
    groups = dict(registry.choices())
    assert ("task.status_changed", "Task moved") in groups["Tasks"]


def test_event_types_are_registered_only_from_the_settings_list(monkeypatch, settings):
    """One registration style: importing an app's events module registers nothing; the functions
    in settings.ACTIVITY_EVENT_TYPES do, in that order (so the menus' categories follow it)."""
    import importlib

    from django.utils.module_loading import import_string

    monkeypatch.setattr(registry, "_types", {})
    for path in settings.ACTIVITY_EVENT_TYPES:
        importlib.reload(importlib.import_module(path.rsplit(".", 1)[0]))
    assert registry._types == {}, "an events module registers on import"
    for path in settings.ACTIVITY_EVENT_TYPES:
        before = len(registry._types)
        import_string(path)()
        assert len(registry._types) > before, f"{path} registered nothing"
    apps_with_events = {p.parent.name for p in ROOT.glob("*/events.py")}
    assert apps_with_events == {path.split(".")[0] for path in settings.ACTIVITY_EVENT_TYPES}
