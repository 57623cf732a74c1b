"""Writes for standups: post one (chat, event, signed delivery, mail), post the due ones, settings,
a member's email opt-in.

A standup is posted once per (board or organization, local date): its row is inserted first, in
the transaction that also posts to chat, records `standup.posted` and writes the delivery; a
second attempt hits the unique constraint and does nothing. Mail goes out after the commit, from
a task that claims the row before sending (at most once: a crash mid-send is not retried).
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from activity.services import record_activity, update_and_record
from boards.models import Board
from chat.services import post_message
from core.access import authorize
from core.actors import Actor, ActorKind
from core.models import Organization, Role
from deliveries.models import Subscription
from deliveries.outbound import deliver_event_to_subscription
from infra.exceptions import DomainError, NotFound
from standups import figures as standup_figures
from standups import selectors
from standups.models import Standup, StandupEmailOptIn, StandupSettings

logger = logging.getLogger(__name__)

# Who posts the standup in chat and in the feed.
STANDUP_ACTOR = Actor(kind=ActorKind.SYSTEM, label="Standup")
SETTINGS_FIELDS = {"enabled", "hour", "time_zone", "post_to_chat", "subscription"}


def page_url(standup: Standup | None = None, *, board_id: int | None = None, day: date | None = None) -> str:
    if standup is not None:
        board_id, day = standup.board_id, standup.date
    path = reverse("standups:board", args=[board_id]) if board_id else reverse("standups:organization")
    return f"{path}?date={day.isoformat()}" if day else path


def _scope_name(standup: Standup) -> str:
    if standup.board_id:
        return standup.board.name
    return standup.organization.name


def heading(standup: Standup) -> str:
    return f"Standup of {_scope_name(standup)} for {standup.date:%A %-d %B %Y} ({standup.time_zone})"


def chat_body(standup: Standup) -> str:
    """Markdown for the board chat. '@' in titles and names is neutralised: a task called
    "ping @alice" must not notify alice every morning."""
    lines = [f"**{heading(standup)}**", ""]
    lines += [f"- {line}" for line in standup_figures.sentences(standup.figures)]
    people = [standup_figures.person_sentence(row) for row in standup.figures["people"][:20]]
    if people:
        lines += ["", *[f"- {line}" for line in people]]
    link = f"[The whole standup]({settings.PUBLIC_BASE_URL}{page_url(standup)})"
    body = "\n".join(lines).replace("@", "\uff20")
    limit = settings.CHAT_MESSAGE_MAX_CHARS - len(link) - 3
    if len(body) > limit:
        body = body[: max(limit - 1, 0)] + "…"
    return f"{body}\n\n{link}"


def email_text(standup: Standup) -> tuple[str, str]:
    subject = heading(standup)
    lines = [*standup_figures.sentences(standup.figures), ""]
    lines += [standup_figures.person_sentence(row) for row in standup.figures["people"]]
    lines += ["", f"The whole standup: {settings.PUBLIC_BASE_URL}{page_url(standup)}"]
    lines += ["You get this because you opted in on the standup page; opt out there."]
    return subject, "\n".join(lines)


def _event_detail(standup: Standup) -> dict[str, Any]:
    """What the feed's sentence and the signed webhook carry: the figures themselves (bounded by
    figures.MAX_ITEMS per section), the sentences and where to read more."""
    return {
        "standup_id": standup.pk,
        "date": standup.date.isoformat(),
        "time_zone": standup.time_zone,
        "scope": "board" if standup.board_id else "organization",
        "name": _scope_name(standup),
        "url": page_url(standup),
        "sentences": standup_figures.sentences(standup.figures),
        "figures": standup.figures,
    }


@transaction.atomic
def post_standup(
    *,
    organization: Organization,
    day: date,
    board: Board | None = None,
    config: StandupSettings | None = None,
) -> Standup | None:
    """Post the standup of `board` (or of the organization) for the local `day`; None when it was
    posted already. A quiet day (nothing to report) is recorded and not sent."""
    config = config or selectors.settings_for(organization.pk, organization_time_zone=organization.time_zone)
    if board is not None and board.organization_id != organization.pk:
        raise NotFound("Board not found.")
    scope = selectors.scope_of(config, board.pk if board else None)
    computed = standup_figures.compute(scope, day)
    try:
        # A savepoint: a concurrent or earlier run's row makes this insert fail, not the caller's
        # transaction. On PostgreSQL the second inserter waits for the first one's commit.
        with transaction.atomic():
            standup = Standup.objects.create(
                organization=organization,
                board=board,
                date=day,
                time_zone=config.time_zone,
                figures=computed,
                quiet=standup_figures.is_quiet(computed),
            )
    except IntegrityError:
        return None
    if standup.quiet:
        return standup
    if board is not None and config.post_to_chat:
        standup.chat_message = _post_to_chat(standup)
    event = record_activity(
        organization=organization,
        board=board,
        actor=STANDUP_ACTOR,
        verb="standup.posted",
        target=standup,
        detail=_event_detail(standup),
    )
    subscription = config.subscription if config.subscription_id else None
    if subscription is not None:
        standup.delivery = deliver_event_to_subscription(event, subscription)
    standup.save(update_fields=["chat_message", "delivery"])
    standup_id = standup.pk
    transaction.on_commit(lambda: _enqueue_emails(standup_id))
    return standup


def _post_to_chat(standup: Standup):
    """The chat post, in its own savepoint: a chat refusal (a limit, an archived board) leaves the
    standup posted everywhere else, with the reason in the log."""
    try:
        with transaction.atomic():
            return post_message(board=standup.board, actor=STANDUP_ACTOR, body=chat_body(standup))
    except DomainError as exc:
        logger.warning("standup %s: not posted to chat: %s", standup.pk, exc)
        return None


def _enqueue_emails(standup_id: int) -> None:
    from standups.tasks import send_standup_emails

    try:
        send_standup_emails.delay(standup_id)
    except Exception:
        logger.warning("standup %s: could not enqueue the email", standup_id, exc_info=True)


def send_standup_emails(*, standup_id: int) -> int:
    """Mail the standup to the members who opted in, one message each (no one sees another's
    address); how many were sent. The row is claimed first, so a second call sends nothing."""
    claimed = Standup.objects.filter(pk=standup_id, emailed_at__isnull=True, quiet=False).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        return 0
    standup = Standup.objects.select_related("organization", "board").get(pk=standup_id)
    recipients = selectors.email_recipients(standup)
    if not recipients:
        return 0
    subject, body = email_text(standup)
    messages = [EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [address]) for address in recipients]
    with get_connection(fail_silently=False) as connection:
        sent = connection.send_messages(messages) or 0
    Standup.objects.filter(pk=standup_id).update(email_count=sent)
    return sent


def post_due_standups(*, now: datetime | None = None) -> int:
    """Beat's entry point: for every organization whose standup hour has come, post the due day's
    standup of each active board and of the organization, each in its own transaction; how many
    were posted. Only the latest due day is posted: days missed while nothing ran are not sent
    late (they stay readable on the page, computed from the log)."""
    now = now or timezone.now()
    posted = 0
    configured = {row.organization_id: row for row in StandupSettings.objects.select_related("subscription")}
    for organization in Organization.objects.order_by("id"):
        config = configured.get(organization.pk) or selectors.settings_for(
            organization.pk, organization_time_zone=organization.time_zone
        )
        if not config.enabled:
            continue
        day = selectors.due_day(now, config)
        if day is None or standup_figures.local_today(organization.created_at, config.time_zone) > day:
            continue  # not the hour yet, or the organization did not exist on that day
        boards = Board.objects.filter(organization=organization, archived=False).order_by("id")
        targets: list[Board | None] = [
            board
            for board in boards
            if standup_figures.local_today(board.created_at, config.time_zone) <= day
        ]
        targets.append(None)
        # One query per organization and run, not one per board: most runs find everything posted.
        done = set(
            Standup.objects.filter(organization=organization, date=day).values_list("board_id", flat=True)
        )
        for board in targets:
            if (board.pk if board else None) in done:
                continue
            try:
                if post_standup(organization=organization, board=board, day=day, config=config):
                    posted += 1
            except Exception:  # one scope's failure must not hold back the others; the next run retries
                logger.exception("standup of %s on %s failed", board or organization, day)
    return posted


# --- settings and preferences ----------------------------------------------------------------


@transaction.atomic
def update_standup_settings(*, actor: Actor, organization: Organization, **changes: Any) -> StandupSettings:
    """An admin changes when and where the organization's standups go."""
    authorize(actor, organization=organization, role=Role.ADMIN, allow_agent=False)
    unknown = set(changes) - SETTINGS_FIELDS
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(sorted(unknown))}.", code="unknown_fields")
    if "hour" in changes and (
        not isinstance(changes["hour"], int)
        or isinstance(changes["hour"], bool)
        or not 0 <= changes["hour"] <= 23
    ):
        raise DomainError("The hour is a whole number from 0 to 23.", code="invalid_hour")
    if "time_zone" in changes and not standup_figures.is_time_zone(changes["time_zone"]):
        raise DomainError(
            f"Unknown time zone {str(changes['time_zone'])[:64]!r}; use an IANA name such as Europe/Paris.",
            code="invalid_time_zone",
        )
    subscription = changes.get("subscription")
    if subscription is not None and (
        not isinstance(subscription, Subscription) or subscription.organization_id != organization.pk
    ):
        raise NotFound("Subscription not found.")
    config = StandupSettings.objects.select_for_update().filter(organization=organization).first()
    if config is None:
        defaults = selectors.settings_for(organization.pk, organization_time_zone=organization.time_zone)
        config = StandupSettings.objects.create(
            organization=organization,
            enabled=defaults.enabled,
            hour=defaults.hour,
            time_zone=defaults.time_zone,
        )
    update_and_record(
        config,
        changes=changes,
        actor=actor,
        verb="standup.settings_updated",
        organization=organization,
        detail=lambda changed: {
            "fields": sorted(changed),
            "hour": config.hour,
            "time_zone": config.time_zone,
        },
    )
    return config


@transaction.atomic
def set_standup_email(
    *, actor: Actor, organization: Organization, enabled: bool, board: Board | None = None
) -> bool:
    """A member opts in to (or out of) a standup by email, for themselves; whether they are in."""
    authorize(actor, organization=organization, role=Role.VIEWER, allow_agent=False)
    if actor.kind != ActorKind.USER:
        raise DomainError("Only a person gets standups by email.", code="people_only")
    if board is not None and board.organization_id != organization.pk:
        raise NotFound("Board not found.")
    rows = StandupEmailOptIn.objects.filter(user=actor.user, organization=organization)
    rows = rows.filter(board=board) if board is not None else rows.filter(board__isnull=True)
    if enabled == rows.exists():
        return enabled
    if enabled:
        StandupEmailOptIn.objects.create(user=actor.user, organization=organization, board=board)
    else:
        rows.delete()
    record_activity(
        organization=organization,
        board=board,
        actor=actor,
        verb="standup.email_changed",
        detail={"enabled": enabled, "scope": "board" if board else "organization"},
        publish=False,
    )
    return enabled
