"""Outbound deliveries: activity events fanned out to subscriptions and push-mode agents.

The Delivery table is an outbox. Rows are written in the transaction of the event that causes
them and enqueued on commit; a worker claims a row with a conditional UPDATE (status pending,
lock free or expired, attempt due) that also counts the attempt, sends, and records the
outcome. A worker killed mid-send leaves a lock that expires, after which the redelivered task
message (acks_late) or the beat sweeper sends again under the same webhook-id; a row that
succeeded is never claimed again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

# The project's Celery app (missioncontrol/celery.py) as Celery's current app (its Django fix-up
# makes it the default of every thread): the project package is the top, nothing below imports it.
from celery import current_app as celery_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from activity import registry
from activity.models import ActivityEvent
from activity.payloads import activity_payload
from activity.services import record_activity, update_and_record
from agents.models import Agent, AgentStatus
from boards.models import Board
from core.access import authorize
from core.actors import Actor, ActorKind
from core.encryption import SecretUnreadable, decrypt_secret, encrypt_secret
from core.models import Membership, Organization, Role
from core.signing import STANDARD_WEBHOOK_SECRET_PREFIX, standard_webhook_signature
from deliveries import sending as http
from deliveries.models import Delivery, DeliveryAttempt, DeliveryStatus, Subscription
from infra import outbound_guard
from infra.exceptions import Conflict, DomainError, NotFound, PermissionDenied
from infra.metrics import DELIVERIES, DELIVERY_LATENCY

logger = logging.getLogger(__name__)

# Events about deliveries and subscriptions are never delivered themselves: a dead delivery's
# event would otherwise create deliveries that can die and create events, without end.
NON_DELIVERABLE_PREFIXES = ("delivery.", "subscription.")
# A Retry-After beyond this is not honoured in full: a receiver cannot park a delivery for days.
RETRY_AFTER_CAP_SECONDS = 3600
# The sweeper leaves recently due rows alone: their countdown message is probably on its way.
SWEEP_GRACE = timedelta(seconds=60)
DEAD_LETTER_STATUSES = (DeliveryStatus.DEAD, DeliveryStatus.FAILED)
_AGENT_KEY_CONTEXT = b"missioncontrol:agent-callback-signing:v1:"
# The name deliveries.tasks.deliver_webhook is registered under (kept from before the move:
# messages already in the broker during an upgrade carry it).
DELIVER_TASK_NAME = "webhooks.tasks.deliver_webhook"


class TargetRefused(DomainError):
    """A subscription URL the SSRF guard refuses; raised at save time."""

    code = "unsafe_target"


# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------


def generate_subscription_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return STANDARD_WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def agent_signing_secret(agent_id: int) -> str:
    """The secret that signs pushes to an agent's callback URL, derived, never stored.

    HMAC-SHA256(SHA-256(context + SECRET_KEY), "agent:<id>") in the `whsec_` form, so the agent
    verifies with any Standard Webhooks library. Derivation keeps Agent (another app) unchanged
    and needs no backfill; rotating SECRET_KEY rotates every agent's signing secret.
    """
    key = hashlib.sha256(_AGENT_KEY_CONTEXT + settings.SECRET_KEY.encode()).digest()
    digest = hmac.new(key, f"agent:{agent_id}".encode(), hashlib.sha256).digest()
    return STANDARD_WEBHOOK_SECRET_PREFIX + base64.b64encode(digest).decode()


def signing_secret_for(delivery: Delivery) -> str:
    if delivery.subscription_id is not None:
        return decrypt_secret(delivery.subscription.secret_ciphertext)
    return agent_signing_secret(delivery.agent_id)


def signed_headers(delivery: Delivery, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """Standard Webhooks headers; webhook-id is the delivery id, the same on every retry."""
    msg_id = str(delivery.pk)
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_webhook_signature(
            signing_secret_for(delivery), msg_id, timestamp, body
        ),
    }


# ---------------------------------------------------------------------------------------------
# Fan-out
# ---------------------------------------------------------------------------------------------


def event_is_deliverable(verb: str) -> bool:
    return not verb.startswith(NON_DELIVERABLE_PREFIXES)


def event_is_subscribable(verb: str) -> bool:
    """A subscription names registered, deliverable types: a typo would silently never fire."""
    return registry.is_registered(verb) and event_is_deliverable(verb)


def subscribable_event_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Registry choices grouped by category, for the subscription forms."""
    return [
        (category, [(name, f"{label} ({name})") for name, label in types if event_is_deliverable(name)])
        for category, types in registry.choices()
        if any(event_is_deliverable(name) for name, _ in types)
    ]


def delivery_payload(event: ActivityEvent) -> dict[str, Any]:
    """Standard Webhooks envelope around the same event dict the live streams carry."""
    return {"type": event.verb, "timestamp": event.created_at.isoformat(), "data": activity_payload(event)}


def create_deliveries_for_event(event: ActivityEvent, agent_ids: Iterable[int] = ()) -> list[Delivery]:
    """Called by record_activity inside the writing transaction; deliveries are sent on commit.

    Cheap on the hot path: one query for subscriptions (plus one for agents when the event
    names some) when nobody is subscribed; one bulk insert otherwise.
    """
    if not event_is_deliverable(event.verb):
        return []
    subscriptions = Subscription.objects.filter(enabled=True, organization_id=event.organization_id)
    if event.board_id is None:
        subscriptions = subscriptions.filter(board__isnull=True)
    else:
        subscriptions = subscriptions.filter(Q(board__isnull=True) | Q(board_id=event.board_id))
    targets: list[dict[str, Any]] = [
        {"subscription_id": sub_id, "target_url": url}
        for sub_id, url, types in subscriptions.values_list("id", "target_url", "event_types")
        if not types or event.verb in types
    ]
    agent_ids = list(agent_ids)
    if agent_ids:
        agents = (
            Agent.objects.filter(
                pk__in=agent_ids, organization_id=event.organization_id, status=AgentStatus.ACTIVE
            )
            .exclude(callback_url="")
            .values_list("id", "callback_url")
        )
        targets += [{"agent_id": agent_id, "target_url": url} for agent_id, url in agents]
    if not targets:
        return []
    now = timezone.now()
    payload = delivery_payload(event)
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(
                organization_id=event.organization_id,
                board_id=event.board_id,
                event_type=event.verb,
                payload=payload,
                next_attempt_at=now,
                **target,
            )
            for target in targets
        ]
    )
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: enqueue_deliveries(ids))
    return deliveries


def subscription_receives(subscription: Subscription, event: ActivityEvent) -> bool:
    """Whether the fan-out above already sends `event` to `subscription` (same rule as its query)."""
    return (
        event_is_deliverable(event.verb)
        and subscription.enabled
        and subscription.organization_id == event.organization_id
        and (subscription.board_id is None or subscription.board_id == event.board_id)
        and (not subscription.event_types or event.verb in subscription.event_types)
    )


def deliver_event_to_subscription(event: ActivityEvent, subscription: Subscription) -> Delivery | None:
    """Send one event to one chosen subscription (an alert rule routes its incidents this way),
    in the event's transaction, with the outbox's retries and dead letters.

    None when the subscription is disabled, belongs elsewhere, or already gets the event from the
    fan-out: a receiver must not see the same event twice under two webhook-ids.
    """
    if not subscription.enabled or subscription.organization_id != event.organization_id:
        return None
    if subscription_receives(subscription, event):
        return None
    delivery = Delivery.objects.create(
        organization_id=event.organization_id,
        board_id=event.board_id,
        subscription=subscription,
        target_url=subscription.target_url,
        event_type=event.verb,
        payload=delivery_payload(event),
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(lambda: enqueue_deliveries([delivery.pk]))
    return delivery


def enqueue_deliveries(delivery_ids: Iterable[int], *, countdown: float | None = None) -> None:
    """Hand deliveries to the broker. A broker outage loses nothing: the sweeper re-enqueues."""
    # Looked up by its wire name in Celery's registry (deliveries.tasks is imported by
    # DeliveriesConfig.ready): tasks.py calls this module, so importing it here would be a loop.
    deliver_webhook = celery_app.tasks[DELIVER_TASK_NAME]
    for delivery_id in delivery_ids:
        try:
            deliver_webhook.apply_async((delivery_id,), countdown=countdown)
        except Exception:  # the row is the source of truth; the sweeper covers a lost message
            logger.warning(
                "could not enqueue delivery %s; the sweeper will retry", delivery_id, exc_info=True
            )


# ---------------------------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------------------------


def lock_lease() -> timedelta:
    """How long a claim holds: longer than one send can take, short enough to recover a crash."""
    return timedelta(seconds=settings.DELIVERY_TIMEOUT_SECONDS * 2 + 5)


def max_countdown() -> float:
    """Longer retries are left to the sweeper alone (next_attempt_at is in the row).

    Redis hands an unacked message to another worker after the visibility timeout, and a
    countdown message stays unacked until it runs: a 6-hour countdown would be redelivered
    every hour. Half the visibility timeout keeps every countdown message single.
    """
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    return float(options.get("visibility_timeout", 3600)) / 2


def claim_delivery(delivery_id: int) -> Delivery | None:
    """Claim a due, pending, unlocked delivery for one attempt; None if someone else has it.

    One conditional UPDATE decides the race between duplicate task messages, the sweeper and a
    second worker: only one of them changes the row, the others see 0 rows and stop.
    """
    now = timezone.now()
    lease = now + lock_lease()
    claimed = (
        Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        # A message may arrive a little early (clock skew); a second is tolerated.
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + timedelta(seconds=1)))
        .update(locked_until=lease, attempt_count=F("attempt_count") + 1, updated_at=now)
    )
    if not claimed:
        return None
    return Delivery.objects.select_related("subscription", "agent").get(pk=delivery_id)


def retry_delay(attempt_number: int, retry_after: float | None) -> float | None:
    """Seconds until the next attempt, or None when the schedule is exhausted (dead).

    Jitter (up to +20%) spreads retries of many deliveries to one recovering receiver.
    Retry-After, when given, replaces the scheduled delay, capped and at least one second.
    """
    schedule = settings.DELIVERY_RETRY_SCHEDULE
    if attempt_number > len(schedule):
        return None
    if retry_after is not None:
        return float(min(max(retry_after, 1.0), RETRY_AFTER_CAP_SECONDS))
    base = schedule[attempt_number - 1]
    return base + random.uniform(0, base * 0.2)


def is_retryable(result: http.SendResult) -> bool:
    if result.refused:
        return False
    if result.status_code is None:
        return True  # network error or timeout
    return result.status_code in (408, 429) or result.status_code >= 500


def attempt_delivery(*, delivery_id: int) -> Delivery | None:
    """One attempt: claim, sign, POST, record. Returns the delivery, or None if not claimed."""
    delivery = claim_delivery(delivery_id)
    if delivery is None:
        return None
    number = delivery.attempt_count
    lease = delivery.locked_until
    refusal = _current_target(delivery)
    if number > len(settings.DELIVERY_RETRY_SCHEDULE) + 1:
        # Earlier claims never finished (the worker died each time, e.g. killed for memory):
        # stop here instead of crashing workers forever; a replay starts a fresh series.
        result = http.SendResult(
            None,
            0,
            error_class="AttemptsExhausted",
            error_message="Earlier attempts were interrupted; no attempts left.",
        )
    elif refusal:
        result = http.SendResult(None, 0, error_class=refusal[0], error_message=refusal[1], refused=True)
    else:
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        try:
            headers = signed_headers(delivery, body)
        except SecretUnreadable as exc:
            result = http.SendResult(
                None, 0, error_class="SecretUnreadable", error_message=str(exc), refused=True
            )
        else:
            result = http.post(delivery.target_url, body, headers)
    return record_attempt(delivery=delivery, number=number, lease=lease, result=result)


def _current_target(delivery: Delivery) -> tuple[str, str] | None:
    """Point the delivery at its target's URL as it is now, or say why it cannot be sent.

    A replay after the receiver moved must go to the new URL, so the subscription's (or the
    agent's) current URL wins over the one recorded when the delivery was created.
    """
    if delivery.subscription_id is not None:
        if not delivery.subscription.enabled:
            return "SubscriptionDisabled", "The subscription is disabled."
        url = delivery.subscription.target_url
    else:
        agent = delivery.agent
        if agent is None or agent.status != AgentStatus.ACTIVE or not agent.callback_url:
            return "AgentUnreachable", "The agent is not active or has no callback URL any more."
        url = agent.callback_url
    if url != delivery.target_url:
        Delivery.objects.filter(pk=delivery.pk).update(target_url=url)
        delivery.target_url = url
    return None


@transaction.atomic
def record_attempt(*, delivery: Delivery, number: int, lease, result: http.SendResult) -> Delivery:
    """Store the attempt and move the delivery on: succeeded, retry later, failed or dead."""
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=number,
        duration_ms=result.duration_ms,
        response_status=result.status_code,
        error_class=result.error_class[:100],
        error_message=result.error_message[:500],
        response_excerpt=result.response_excerpt[:1000],
    )
    DELIVERY_LATENCY.observe(result.duration_ms / 1000)
    now = timezone.now()
    changes: dict[str, Any] = {
        "locked_until": None,
        "last_status_code": result.status_code,
        "updated_at": now,
    }
    delay = None
    if result.ok:
        changes["status"] = DeliveryStatus.SUCCEEDED
    elif is_retryable(result):
        delay = retry_delay(number, result.retry_after)
        if delay is None:
            changes["status"] = DeliveryStatus.DEAD
        else:
            changes["next_attempt_at"] = now + timedelta(seconds=delay)
    else:
        changes["status"] = DeliveryStatus.FAILED
    # Only the holder of this claim moves the row; if the lease ran out and another worker
    # took over, its outcome wins and this attempt stays in the timeline only.
    moved = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING, locked_until=lease).update(
        **changes
    )
    for field, value in changes.items():
        setattr(delivery, field, value)
    outcome = changes.get("status", "retry")
    DELIVERIES.labels(outcome=str(outcome)).inc()
    if not moved:
        logger.warning("delivery %s: claim lost before the outcome was recorded", delivery.pk)
        return delivery
    if delay is not None and delay <= max_countdown():
        transaction.on_commit(lambda: enqueue_deliveries([delivery.pk], countdown=delay))
    elif outcome == DeliveryStatus.SUCCEEDED:
        if delivery.subscription_id and delivery.subscription.consecutive_dead:
            Subscription.objects.filter(pk=delivery.subscription_id).update(consecutive_dead=0)
    elif outcome in DEAD_LETTER_STATUSES:
        _record_dead_letter(delivery, result)
    return delivery


def _delivery_target_name(delivery: Delivery) -> str:
    """What the feed calls the receiver: the subscription's description, the agent, or the host."""
    if delivery.subscription_id and delivery.subscription.description:
        return delivery.subscription.description
    if delivery.agent_id:
        return delivery.agent.name
    return urlsplit(delivery.target_url).hostname or delivery.target_url


def _record_dead_letter(delivery: Delivery, result: http.SendResult) -> None:
    record_activity(
        organization=delivery.organization_id,
        board=delivery.board_id,
        actor=Actor.system(),
        verb=f"delivery.{delivery.status}",
        target=delivery,
        detail={
            "event_type": delivery.event_type,
            "attempts": delivery.attempt_count,
            "last_status_code": result.status_code,
            "error_class": result.error_class,
            "subscription_id": delivery.subscription_id,
            "agent_id": delivery.agent_id,
            "target": _delivery_target_name(delivery),
        },
    )
    if delivery.status == DeliveryStatus.DEAD and delivery.subscription_id:
        # Row lock: two deliveries dying at once must both count, and disable it once.
        subscription = Subscription.objects.select_for_update().get(pk=delivery.subscription_id)
        subscription.consecutive_dead += 1
        fields = ["consecutive_dead"]
        if subscription.enabled and subscription.consecutive_dead >= settings.DELIVERY_AUTO_DISABLE_AFTER:
            subscription.enabled = False
            subscription.disabled_reason = (
                f"Disabled automatically after {subscription.consecutive_dead} consecutive dead deliveries."
            )
            fields += ["enabled", "disabled_reason"]
            record_activity(
                organization=subscription.organization_id,
                board=subscription.board_id,
                actor=Actor.system(),
                verb="subscription.auto_disabled",
                target=subscription,
                detail={"consecutive_dead": subscription.consecutive_dead},
            )
        subscription.save(update_fields=fields)


# ---------------------------------------------------------------------------------------------
# Recovery and replay
# ---------------------------------------------------------------------------------------------


def requeue_overdue_deliveries(
    *, grace: timedelta = SWEEP_GRACE, batch: int | None = None, budget_seconds: float | None = None
) -> int:
    """Re-enqueue every pending delivery whose attempt is overdue and not locked (lost messages,
    or a backlog left by a broker or receiver outage), `batch` rows at a time in id order, until
    none is left or `budget_seconds` is spent; the next run takes up what is still overdue.

    A fixed count per run drained a backlog at that rate (500 a minute: 1,351 took six
    minutes); the workers send in parallel, so the sweeper's job is to hand them all of it.
    Each row is enqueued once per run (keyset on id); a duplicate message across runs is
    harmless, the conditional-UPDATE claim lets one attempt through.
    """
    batch = batch or settings.DELIVERY_SWEEP_BATCH
    budget = settings.DELIVERY_SWEEP_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    started = time.monotonic()
    now = timezone.now()
    overdue = Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now - grace).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    )
    total, after_id = 0, 0
    while True:
        ids = list(overdue.filter(id__gt=after_id).order_by("id").values_list("id", flat=True)[:batch])
        if not ids:
            break
        enqueue_deliveries(ids)
        total += len(ids)
        after_id = ids[-1]
        if len(ids) < batch:
            break
        if time.monotonic() - started >= budget:
            logger.warning(
                "delivery sweep stopped after %.1fs with %s re-enqueued; the next run continues",
                time.monotonic() - started,
                total,
            )
            break
    if total:
        logger.info("re-enqueued %s overdue deliveries in %.1fs", total, time.monotonic() - started)
    return total


def dead_letter_count() -> int:
    """Dead and failed deliveries awaiting a look (for /metrics and status pages)."""
    return Delivery.objects.filter(status__in=DEAD_LETTER_STATUSES).count()


def _replayable(deliveries: QuerySet[Delivery]) -> QuerySet[Delivery]:
    return deliveries.filter(status__in=DEAD_LETTER_STATUSES).filter(
        Q(subscription__isnull=True) | Q(subscription__enabled=True)
    )


@transaction.atomic
def replay_delivery(*, delivery: Delivery, actor: Actor) -> Delivery:
    """A new attempt series under the same delivery id (so receivers still deduplicate)."""
    _authorize_admin(actor, delivery.organization_id)
    if delivery.status not in DEAD_LETTER_STATUSES:
        raise Conflict("Only dead or failed deliveries can be replayed.", code="not_replayable")
    if delivery.subscription_id and not delivery.subscription.enabled:
        raise Conflict(
            "The subscription is disabled; enable it before replaying.", code="subscription_disabled"
        )
    replayed = replay_deliveries(deliveries=Delivery.objects.filter(pk=delivery.pk), actor=actor)
    if not replayed:
        raise Conflict("The delivery changed meanwhile; reload and try again.")
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def replay_deliveries(*, deliveries: QuerySet[Delivery], actor: Actor, limit: int = 1000) -> list[int]:
    """Bulk replay of the dead and failed among `deliveries` (at most `limit`); returns ids.

    A person replays only in the organizations where they are an admin; the rest of
    `deliveries` is left alone (a bulk action over a filter must not fail on one foreign row).
    """
    if actor.kind == ActorKind.USER:
        deliveries = deliveries.filter(
            organization_id__in=Membership.objects.filter(user=actor.user, role=Role.ADMIN).values(
                "organization_id"
            )
        )
    elif actor.kind == ActorKind.AGENT:
        raise PermissionDenied("Agents cannot replay deliveries; ask a human admin.")
    rows = list(
        _replayable(deliveries).order_by("id").values_list("id", "organization_id", "board_id")[:limit]
    )
    if not rows:
        return []
    ids = [row[0] for row in rows]
    now = timezone.now()
    Delivery.objects.filter(pk__in=ids, status__in=DEAD_LETTER_STATUSES).update(
        status=DeliveryStatus.PENDING, attempt_count=0, next_attempt_at=now, locked_until=None, updated_at=now
    )
    # One event per board (not per delivery), so a bulk replay of thousands stays one line.
    groups: dict[tuple[int, int | None], list[int]] = {}
    for delivery_id, organization_id, board_id in rows:
        groups.setdefault((organization_id, board_id), []).append(delivery_id)
    for (organization_id, board_id), group_ids in groups.items():
        record_activity(
            organization=organization_id,
            board=board_id,
            actor=actor,
            verb="delivery.replayed",
            target_type="delivery",
            target_id=group_ids[0] if len(group_ids) == 1 else "",
            detail={"count": len(group_ids), "delivery_ids": group_ids[:50]},
        )
    transaction.on_commit(lambda: enqueue_deliveries(ids))
    return ids


# ---------------------------------------------------------------------------------------------
# Subscriptions
# ---------------------------------------------------------------------------------------------


def _authorize_admin(actor: Actor, organization_id: int) -> None:
    """Subscriptions, replays and signing secrets are an admin's, never an agent's."""
    authorize(actor, organization=organization_id, role=Role.ADMIN, allow_agent=False)


def reveal_agent_signing_secret(*, actor: Actor, agent: Agent) -> str:
    """The secret that signs pushes to `agent` (for its admins to hand to the agent)."""
    _authorize_admin(actor, agent.organization_id)
    return agent_signing_secret(agent.pk)


def validate_target_url(url: str) -> None:
    try:
        outbound_guard.check_url_at_save(url)
    except outbound_guard.UnsafeTarget as exc:
        raise TargetRefused(str(exc)) from None


@transaction.atomic
def create_subscription(
    *,
    actor: Actor,
    organization: Organization,
    target_url: str,
    board: Board | None = None,
    event_types: list[str] | None = None,
    description: str = "",
    enabled: bool = True,
) -> tuple[Subscription, str]:
    """Returns the subscription and its secret, which is shown this once and stored encrypted."""
    _authorize_admin(actor, organization.pk)
    if board is not None and board.organization_id != organization.pk:
        raise NotFound("Board not found.")
    validate_target_url(target_url)
    secret = generate_subscription_secret()
    subscription = Subscription.objects.create(
        organization=organization,
        board=board,
        target_url=target_url,
        event_types=event_types or [],
        description=description,
        enabled=enabled,
        secret_ciphertext=encrypt_secret(secret),
        created_by=actor.user,
    )
    record_activity(
        organization=organization,
        board=board,
        actor=actor,
        verb="subscription.created",
        target=subscription,
        detail={"target_url": target_url},
    )
    return subscription, secret


@transaction.atomic
def update_subscription(*, actor: Actor, subscription: Subscription, **changes: Any) -> Subscription:
    """Change URL, filter, description, board or enabled; re-enabling clears the dead streak."""
    _authorize_admin(actor, subscription.organization_id)
    allowed = {"target_url", "event_types", "description", "enabled", "board"}
    unknown = set(changes) - allowed
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if "target_url" in changes and changes["target_url"] != subscription.target_url:
        validate_target_url(changes["target_url"])
    if changes.get("enabled") and not subscription.enabled:
        changes.update(consecutive_dead=0, disabled_reason="")
    update_and_record(
        subscription,
        changes=changes,
        actor=actor,
        verb="subscription.updated",
        organization=subscription.organization_id,
        board=changes.get("board", subscription.board_id),
        detail=lambda changed: {"fields": sorted(k for k in changes if k in allowed)},
        record_unchanged=True,
    )
    return subscription


@transaction.atomic
def rotate_subscription_secret(*, actor: Actor, subscription: Subscription) -> tuple[Subscription, str]:
    _authorize_admin(actor, subscription.organization_id)
    secret = generate_subscription_secret()
    subscription.secret_ciphertext = encrypt_secret(secret)
    subscription.save(update_fields=["secret_ciphertext"])
    record_activity(
        organization=subscription.organization_id,
        board=subscription.board_id,
        actor=actor,
        verb="subscription.secret_rotated",
        target=subscription,
    )
    return subscription, secret


@transaction.atomic
def delete_subscription(*, actor: Actor, subscription: Subscription) -> None:
    _authorize_admin(actor, subscription.organization_id)
    record_activity(
        organization=subscription.organization_id,
        board=subscription.board_id,
        actor=actor,
        verb="subscription.deleted",
        target=subscription,
        detail={"target_url": subscription.target_url},
    )
    subscription.delete()
