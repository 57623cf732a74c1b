"""The event types automations emit, each with the sentence the feeds show.

The tasks, comments, chat messages and commands an automation's actions cause are the other
apps' own events, with the automation (or schedule) named as their actor.
"""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import SafeString

from activity.registry import register_category, register_event_type


def _named(done: str, what: str):
    def sentence(event) -> SafeString:
        return format_html("{} {} the {} “{}”", event.actor_label, done, what, event.detail.get("name", ""))

    return sentence


def _fired(what: str):
    def sentence(event) -> SafeString:
        outcomes = event.detail.get("outcomes") or []
        said = "; ".join(str(o) for o in outcomes[:3]) or "nothing to do"
        return format_html("The {} “{}” ran: {}", what, event.detail.get("name", ""), said)

    return sentence


def _skipped(event) -> SafeString:
    return format_html(
        "The schedule “{}” skipped its run: {}", event.detail.get("name", ""), event.detail.get("message", "")
    )


def _stopped(event) -> SafeString:
    return format_html(
        "The automation “{}” was stopped: {}", event.detail.get("name", ""), event.detail.get("message", "")
    )


def _agent_notified(event) -> SafeString:
    return format_html(
        "{} notified {}: {}",
        event.actor_label,
        event.detail.get("agent", ""),
        event.detail.get("message", ""),
    )


def _template(done: str):
    def sentence(event) -> SafeString:
        return format_html(
            "{} {} the {} template “{}”",
            event.actor_label,
            done,
            event.detail.get("kind", ""),
            event.detail.get("name", ""),
        )

    return sentence


def _pipeline_started(event) -> SafeString:
    return format_html(
        "{} started the pipeline “{}” ({} tasks)",
        event.actor_label,
        event.detail.get("name", ""),
        event.detail.get("steps", 0),
    )


def _run_by_hand(event) -> SafeString:
    return format_html("{} ran the schedule “{}” by hand", event.actor_label, event.detail.get("name", ""))


def register() -> None:
    """The automation event types (settings.ACTIVITY_EVENT_TYPES loads this)."""
    register_category("automation", "Automations")
    for verb, label, sentence, on_feed in (
        ("schedule.created", "Schedule added", _named("added", "schedule"), False),
        ("schedule.updated", "Schedule changed", _named("changed", "schedule"), False),
        ("schedule.deleted", "Schedule deleted", _named("deleted", "schedule"), False),
        ("schedule.fired", "Schedule ran", _fired("schedule"), False),
        ("schedule.skipped", "Schedule run skipped", _skipped, True),
        ("schedule.run_by_hand", "Schedule run by hand", _run_by_hand, False),
        ("automation.created", "Automation added", _named("added", "automation"), False),
        ("automation.updated", "Automation changed", _named("changed", "automation"), False),
        ("automation.deleted", "Automation deleted", _named("deleted", "automation"), False),
        ("automation.fired", "Automation ran", _fired("automation"), False),
        ("automation.stopped", "Automation stopped by the loop guard", _stopped, True),
        ("automation.agent_notified", "Agent notified by an automation", _agent_notified, True),
        ("template.saved", "Template saved", _template("saved"), False),
        ("template.deleted", "Template deleted", _template("deleted"), False),
        ("pipeline.started", "Pipeline started", _pipeline_started, True),
    ):
        register_event_type(
            verb, category="automation", label=label, sentence=sentence, on_board_feed=on_feed
        )
