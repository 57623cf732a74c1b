"""Where an incident is announced: in the app, by email, and by signed webhook.

- In-app: the incident itself (the alerts page, the badge in the header, live through the
  activity stream). When a notifications app is installed and offers
  `notifications.services.notify(...)`, its operators and admins are also notified through it
  (`notify_bell` below is the one place that calls it).
- Email: Django's email backend (EMAIL_* settings), sent by a Celery task after commit.
- Webhook: the rule's subscription gets the `alert.*` event through the deliveries outbox,
  Standard Webhooks-signed, with retries and dead letters (deliveries.outbound).

Each send leaves a line on the incident's timeline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import transaction
from django.urls import reverse

from activity.models import ActivityEvent
from core.models import Membership, Role
from deliveries.outbound import deliver_event_to_subscription
from infra.exceptions import DomainError

if TYPE_CHECKING:
    from alerts.models import AlertRule, Incident

logger = logging.getLogger(__name__)

CHANNELS = ("in_app", "email", "webhook")


def _notifications_notify() -> Callable[..., Any] | None:
    """notifications.services.notify when the notifications app is installed, else None."""
    if not apps.is_installed("notifications"):
        return None
    from notifications import services  # a sibling feature app, present only when installed

    return getattr(services, "notify", None)


def notify_bell(
    *,
    organization_id: int,
    board_id: int | None,
    title: str,
    excerpt: str,
    url: str,
    target_type: str,
    target_id: int,
) -> int:
    """Notify the organization's operators and admins in the app (the bell); how many were asked.

    notifications.services.notify(recipients, kind="alert", ...) drops non-members and people
    who muted the board itself.
    """
    notify = _notifications_notify()
    if notify is None:
        return 0
    recipients = list(
        Membership.objects.filter(
            organization_id=organization_id, role__in=[Role.OPERATOR, Role.ADMIN]
        ).values_list("user_id", flat=True)
    )
    rows = notify(
        recipients=recipients,
        kind="alert",
        title=title,
        organization=organization_id,
        board=board_id,
        excerpt=excerpt,
        url=url,
        actor_label="Mission Control",
        target_type=target_type,
        target_id=target_id,
    )
    return len(rows or [])


def _title(incident: Incident, kind: str) -> str:
    prefix = "Resolved" if kind == "resolved" else "Firing"
    return f"[{prefix}] {incident.rule.name}: {incident.subject_label}"


def notify(*, incident: Incident, event: ActivityEvent, kind: str) -> None:
    """Announce a fired or resolved incident on every channel of its rule (inside the transaction).

    Acknowledged incidents still announce their resolution; snoozed ones announce nothing until
    the snooze runs out.
    """
    from alerts.models import EntryKind, IncidentEntry

    rule = incident.rule
    title = _title(incident, kind)
    entries = []
    if rule.notify_in_app:
        try:
            count = notify_bell(
                organization_id=incident.organization_id,
                board_id=incident.board_id,
                title=title,
                excerpt=incident.summary,
                url=reverse("alerts:incident-detail", args=[incident.pk]),
                target_type="incident",
                target_id=incident.pk,
            )
            if count:
                entries.append(("in_app", {"recipients": count}))
        except Exception as exc:
            logger.warning("alert %s: in-app notification failed: %s", incident.pk, type(exc).__name__)
    if rule.email_recipients:
        transaction.on_commit(lambda: _enqueue_email(incident.pk, kind))
        entries.append(("email", {"recipients": len(rule.email_recipients)}))
    if rule.subscription_id:
        delivery = deliver_event_to_subscription(event, rule.subscription)
        entries.append(
            (
                "webhook",
                {"delivery_id": delivery.pk if delivery else None, "subscription_id": rule.subscription_id},
            )
        )
    IncidentEntry.objects.bulk_create(
        [
            IncidentEntry(
                incident=incident,
                kind=EntryKind.NOTIFIED,
                actor_label="Mission Control",
                reason=f"{kind} via {channel}",
                detail={"channel": channel, **detail},
            )
            for channel, detail in entries
        ]
    )


def _enqueue_email(incident_id: int, kind: str) -> None:
    from alerts.tasks import send_incident_email

    try:
        send_incident_email.delay(incident_id, kind)
    except Exception:
        logger.warning("alert %s: could not enqueue the email", incident_id, exc_info=True)


def email_body(incident: Incident, kind: str) -> tuple[str, str]:
    subject = _title(incident, kind)
    lines = [
        incident.summary,
        "",
        f"Rule: {incident.rule.name}",
        f"State: {incident.state}",
        f"Opened: {incident.opened_at:%Y-%m-%d %H:%M} UTC",
    ]
    if incident.resolved_at:
        lines.append(f"Resolved: {incident.resolved_at:%Y-%m-%d %H:%M} UTC")
    return subject, "\n".join(lines)


def check_channel(rule: AlertRule, channel: str) -> None:
    if channel not in CHANNELS:
        raise DomainError(
            f"Unknown channel {channel!r}; one of {', '.join(CHANNELS)}.", code="unknown_channel"
        )
    if channel == "email" and not rule.email_recipients:
        raise DomainError("This rule has no email recipients.", code="channel_not_configured")
    if channel == "webhook" and not rule.subscription_id:
        raise DomainError("This rule has no webhook subscription.", code="channel_not_configured")


def send_test(*, rule: AlertRule, channel: str, event: ActivityEvent) -> None:
    title = f"[Test] {rule.name}"
    if channel == "in_app":
        notify_bell(
            organization_id=rule.organization_id,
            board_id=rule.board_id,
            title=title,
            excerpt="A test notification for this alert rule.",
            url=reverse("alerts:rule-edit", args=[rule.pk]),
            target_type="alertrule",
            target_id=rule.pk,
        )
    elif channel == "email":
        rule_id = rule.pk
        transaction.on_commit(lambda: _enqueue_test_email(rule_id))
    elif channel == "webhook":
        deliver_event_to_subscription(event, rule.subscription)


def _enqueue_test_email(rule_id: int) -> None:
    from alerts.tasks import send_test_email

    try:
        send_test_email.delay(rule_id)
    except Exception:
        logger.warning("alert rule %s: could not enqueue the test email", rule_id, exc_info=True)
