"""Event types recorded by webhooks (inbound) and deliveries/subscriptions (outbound)."""

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


def _delivery_target(event) -> str:
    return detail(event).get("target") or "a subscriber"


def _delivery_link(event, text):
    url = (
        url_or_none("deliveries:delivery-detail", int(event.target_id))
        if str(event.target_id or "").isdigit()
        else None
    )
    return link(url, text)


def _delivery_dead(event):
    d = detail(event)
    attempts = d.get("attempts") or 0
    what = format_html("Delivery of {}", d.get("event_type")) if d.get("event_type") else "A delivery"
    return format_html(
        "{} to {} failed {} time{} and was parked",
        _delivery_link(event, what),
        _delivery_target(event),
        attempts,
        "" if attempts == 1 else "s",
    )


def _delivery_failed(event):
    d = detail(event)
    what = format_html("Delivery of {}", d.get("event_type")) if d.get("event_type") else "A delivery"
    code = format_html(" with HTTP {}", d["last_status_code"]) if d.get("last_status_code") else ""
    return format_html(
        "{} was refused by {}{} and was parked", _delivery_link(event, what), _delivery_target(event), code
    )


def _replayed(event):
    count = detail(event).get("count") or 1
    noun = "delivery" if count == 1 else "deliveries"
    return format_html("{} replayed {} {}", actor(event), count, noun)


def _subscription(phrase: str):
    def sentence(event):
        d = detail(event)
        url = (
            url_or_none("deliveries:subscription-detail", int(event.target_id))
            if (phrase != "deleted" and str(event.target_id or "").isdigit())
            else None
        )
        name = d.get("target_url") or "a subscription"
        return format_html("{} {} the subscription {}", actor(event), phrase, link(url, name))

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
    register_event_type(
        "delivery.failed",
        category="delivery",
        label="Delivery failed",
        on_board_feed=False,
        sentence=_delivery_failed,
    )
    register_event_type(
        "delivery.dead",
        category="delivery",
        label="Delivery dead",
        on_board_feed=False,
        sentence=_delivery_dead,
    )
    register_event_type(
        "delivery.replayed",
        category="delivery",
        label="Deliveries replayed",
        on_board_feed=False,
        sentence=_replayed,
    )
    for verb, label, phrase in (
        ("subscription.created", "Subscription created", "created"),
        ("subscription.updated", "Subscription changed", "changed"),
        ("subscription.secret_rotated", "Subscription secret rotated", "rotated the secret of"),
        ("subscription.deleted", "Subscription deleted", "deleted"),
    ):
        register_event_type(
            verb, category="subscription", label=label, on_board_feed=False, sentence=_subscription(phrase)
        )
    register_event_type(
        "subscription.auto_disabled",
        category="subscription",
        label="Subscription switched off",
        on_board_feed=False,
        sentence=lambda e: format_html(
            "Mission Control switched off {} after {} dead deliveries in a row",
            link(
                url_or_none("deliveries:subscription-detail", int(e.target_id))
                if str(e.target_id or "").isdigit()
                else None,
                "a subscription",
            ),
            detail(e).get("consecutive_dead") or "several",
        ),
    )
