"""Event types recorded by alerts: rules, incidents and test notifications."""

from __future__ import annotations

from django.utils.html import format_html

from activity.registry import actor, detail, link, quoted, register_category, register_event_type, url_or_none


def _rule(event):
    d = detail(event)
    rule_id = d.get("rule_id")
    url = url_or_none("alerts:rule-edit", int(rule_id)) if str(rule_id or "").isdigit() else None
    return link(url, quoted(d.get("rule_name") or d.get("name"), "an alert rule"))


def _incident(event):
    d = detail(event)
    url = (
        url_or_none("alerts:incident-detail", int(event.target_id))
        if str(event.target_id or "").isdigit()
        else None
    )
    return link(url, d.get("subject_label") or "an incident")


def _rule_change(phrase: str):
    def sentence(event):
        return format_html("{} {} the alert rule {}", actor(event), phrase, _rule(event))

    return sentence


def _fired(event):
    again = " again after a snooze" if detail(event).get("refired") else ""
    return format_html(
        "Alert {} fired{} for {}: {}", _rule(event), again, _incident(event), detail(event).get("summary", "")
    )


def _resolved(event):
    return format_html("Alert {} resolved for {}", _rule(event), _incident(event))


def _acknowledged(event):
    return format_html("{} acknowledged the alert {} for {}", actor(event), _rule(event), _incident(event))


def _snoozed(event):
    return format_html(
        "{} snoozed the alert {} for {} ({} minutes)",
        actor(event),
        _rule(event),
        _incident(event),
        detail(event).get("minutes", "?"),
    )


def _test_sent(event):
    return format_html(
        "{} sent a test notification of {} by {}",
        actor(event),
        _rule(event),
        detail(event).get("channel", "a channel"),
    )


def register() -> None:
    register_category("alert", "Alerts")
    for name, label, sentence in (
        ("alert.rule_created", "Alert rule created", _rule_change("created")),
        ("alert.rule_updated", "Alert rule changed", _rule_change("changed")),
        ("alert.rule_deleted", "Alert rule deleted", _rule_change("deleted")),
        ("alert.fired", "Alert fired", _fired),
        ("alert.resolved", "Alert resolved", _resolved),
        ("alert.acknowledged", "Alert acknowledged", _acknowledged),
        ("alert.snoozed", "Alert snoozed", _snoozed),
        ("alert.test_sent", "Alert test sent", _test_sent),
    ):
        register_event_type(name, category="alert", label=label, sentence=sentence, on_board_feed=False)
