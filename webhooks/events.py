"""Event types recorded by inbound webhooks: payloads received and replayed, webhook settings."""

from __future__ import annotations

from django.utils.html import format_html

from activity.registry import actor, detail, link, quoted, register_event_type, task_link, url_or_none


def _webhook_name(event) -> str:
    d = detail(event)
    return d.get("webhook_name") or d.get("description") or event.actor_label or "A webhook"


def _payload_link(event, text: str = "payload") -> str:
    payload_id = detail(event).get("payload_id") or event.target_id
    url = url_or_none("webhooks:payload-detail", int(payload_id)) if str(payload_id or "").isdigit() else None
    return link(url, text)


def _received(event):
    d = detail(event)
    kind = format_html(" ({})", d["event"]) if d.get("event") else ""
    if d.get("task_id"):
        return format_html(
            "{} sent a {}{}: created {}", _webhook_name(event), _payload_link(event), kind, task_link(event)
        )
    return format_html("{} sent a {}{}", _webhook_name(event), _payload_link(event), kind)


def _webhook(phrase: str):
    def sentence(event):
        d = detail(event)
        url = (
            url_or_none("webhooks:webhook-detail", int(event.target_id))
            if (phrase != "deleted" and str(event.target_id or "").isdigit())
            else None
        )
        name = d.get("description") or "a webhook"
        return format_html("{} {} the webhook {}", actor(event), phrase, link(url, quoted(name, "")))

    return sentence


def register() -> None:
    register_event_type("webhook.received", category="webhook", label="Webhook received", sentence=_received)
    register_event_type(
        "webhook.replayed",
        category="webhook",
        label="Webhook payload replayed",
        sentence=lambda e: format_html(
            "{} replayed a {} from {}", actor(e), _payload_link(e), _webhook_name(e)
        ),
    )
    for verb, label, phrase in (
        ("webhook.created", "Webhook created", "created"),
        ("webhook.updated", "Webhook changed", "changed"),
        ("webhook.secret_rotated", "Webhook secret rotated", "rotated the secret of"),
        ("webhook.deleted", "Webhook deleted", "deleted"),
    ):
        register_event_type(
            verb, category="webhook", label=label, on_board_feed=False, sentence=_webhook(phrase)
        )
