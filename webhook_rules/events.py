"""The event types webhook rules emit, each with the sentence the feeds show.

register() is listed in settings.ACTIVITY_EVENT_TYPES.
Tasks that rules create, change, close or comment emit the boards app's own task.* events.
"""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import SafeString

from activity.registry import register_event_type


def _webhook(event) -> str:
    return event.detail.get("webhook") or f"webhook {event.detail.get('webhook_id', '')}".strip()


def _rule_sentence(done: str):
    def sentence(event) -> SafeString:
        return format_html(
            "{} {} the rule “{}” of {}",
            event.actor_label,
            done,
            event.detail.get("name", ""),
            _webhook(event),
        )

    return sentence


def _preset_applied(event) -> SafeString:
    return format_html(
        "{} added the {} preset ({} rules) to {}",
        event.actor_label,
        event.detail.get("preset", ""),
        event.detail.get("rules", 0),
        _webhook(event),
    )


def _mappings_changed(event) -> SafeString:
    return format_html("{} changed the label and login tables of {}", event.actor_label, _webhook(event))


def _failed(event) -> SafeString:
    retry = " (it will be tried once more)" if event.detail.get("will_retry") else ""
    return format_html(
        "The rule “{}” failed on payload #{}: {}{}",
        event.detail.get("rule") or "?",
        event.detail.get("payload_id", ""),
        event.detail.get("message", ""),
        retry,
    )


def _agent_notified(event) -> SafeString:
    return format_html(
        "The rule “{}” notified the agent about payload #{}",
        event.detail.get("rule", ""),
        event.detail.get("payload_id", ""),
    )


def _reapplied(event) -> SafeString:
    return format_html(
        "{} ran the rules again on payload #{}", event.actor_label, event.detail.get("payload_id", "")
    )


def register() -> None:
    """Called in order from settings.ACTIVITY_EVENT_TYPES (activity.registry.load_event_types)."""
    register_event_type(
        "webhook_rule.created",
        category="webhooks",
        label="Webhook rule added",
        sentence=_rule_sentence("added"),
        on_board_feed=False,
    )
    register_event_type(
        "webhook_rule.updated",
        category="webhooks",
        label="Webhook rule changed",
        sentence=_rule_sentence("changed"),
        on_board_feed=False,
    )
    register_event_type(
        "webhook_rule.deleted",
        category="webhooks",
        label="Webhook rule deleted",
        sentence=_rule_sentence("deleted"),
        on_board_feed=False,
    )
    register_event_type(
        "webhook_rule.preset_applied",
        category="webhooks",
        label="Webhook preset applied",
        sentence=_preset_applied,
        on_board_feed=False,
    )
    register_event_type(
        "webhook_rule.mappings_changed",
        category="webhooks",
        label="Webhook tables changed",
        sentence=_mappings_changed,
        on_board_feed=False,
    )
    register_event_type(
        "webhook_rule.failed", category="webhooks", label="Webhook rule failed", sentence=_failed
    )
    register_event_type(
        "webhook_rule.agent_notified",
        category="webhooks",
        label="Agent notified by a rule",
        sentence=_agent_notified,
    )
    register_event_type(
        "webhook_rule.reapplied",
        category="webhooks",
        label="Webhook rules re-applied",
        sentence=_reapplied,
        on_board_feed=False,
    )
