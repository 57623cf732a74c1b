"""Inbound webhooks: managing endpoints and their secrets, storing what senders POST.

Outbound deliveries live in the deliveries app; this module is the inbound side only.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets as random_secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Model, Q
from django.urls import reverse
from django.utils import timezone

from activity.services import record_activity, update_and_record
from core.access import require_role
from core.actors import Actor, ActorKind
from core.encryption import decrypt_secret, encrypt_secret
from core.generations import AGENTS_GENERATION_KEY, agents_generation
from core.models import Role
from core.signing import STANDARD_WEBHOOK_SECRET_PREFIX
from core.vocabulary import AgentStatus
from infra.exceptions import DomainError, NotFound, PermissionDenied
from webhooks import inbox
from webhooks.models import BoardWebhook, WebhookPayload, WebhookRefusalCount

logger = logging.getLogger(__name__)

# Longest grace a rotation may keep the old secret valid: long enough to redeploy a sender,
# short enough that a leaked secret does not linger.
MAX_ROTATION_GRACE_SECONDS = 7 * 24 * 3600
MAX_TASK_TITLE_LENGTH = 200
MAX_DELIVERY_ID_LENGTH = 200
# An HTTP header name (RFC 9110 token), as a sender would spell it.
_HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
_TEMPLATE_FIELD_RE = re.compile(r"\{([A-Za-z0-9_-]{1,100})\}")

# Header names whose values are credentials; stored as "[redacted]".
REDACTED = "[redacted]"
_ALWAYS_REDACTED = {
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-hub-signature",
    "x-hub-signature-256",
    "x-webhook-signature",
    "webhook-signature",
    "x-api-key",
    "x-agent-token",
    "x-csrftoken",
}
_CREDENTIAL_WORDS = ("signature", "token", "secret", "auth", "password", "api-key", "apikey")
MAX_STORED_HEADERS = 100
MAX_STORED_HEADER_LENGTH = 2000


# --- secrets and URLs ---------------------------------------------------------------------------


def generate_webhook_secret() -> str:
    """`whsec_` + base64 of 32 random bytes: usable as-is for sha256= and Standard Webhooks."""
    return STANDARD_WEBHOOK_SECRET_PREFIX + base64.b64encode(random_secrets.token_bytes(32)).decode()


def webhook_url(webhook: BoardWebhook) -> str:
    """The absolute URL senders POST to."""
    path = reverse("webhook-ingest", kwargs={"board_id": webhook.board_id, "webhook_id": webhook.pk})
    return f"{settings.PUBLIC_BASE_URL}{path}"


def webhook_secrets(webhook: BoardWebhook, *, now=None) -> list[str]:
    """Secrets that verify a payload right now: the current one, plus the previous one during
    its rotation grace period. Empty when the webhook accepts unsigned payloads."""
    if not webhook.secret_ciphertext:
        return []
    valid = [decrypt_secret(webhook.secret_ciphertext)]
    now = now or timezone.now()
    if (
        webhook.previous_secret_ciphertext
        and webhook.previous_secret_expires_at is not None
        and webhook.previous_secret_expires_at > now
    ):
        valid.append(decrypt_secret(webhook.previous_secret_ciphertext))
    return valid


# --- permissions and validation -------------------------------------------------------------------


def _require_admin(actor: Actor, board: Model) -> None:
    """Board admins manage webhooks; the system (management commands) may too; agents never."""
    if actor.kind == ActorKind.SYSTEM:
        return
    if actor.user is None:
        raise PermissionDenied("Only organization admins manage webhooks.")
    require_role(user=actor.user, organization=board.organization_id, role=Role.ADMIN)


def _validate_fields(
    *,
    board: Model,
    description: str,
    signature_header: str,
    target_agent: Model | None,
    task_title_template: str,
) -> None:
    if len(description) > 200:
        raise DomainError("The description is longer than 200 characters.")
    if signature_header and not _HEADER_NAME_RE.match(signature_header):
        raise DomainError("The signature header must be a valid HTTP header name of at most 64 characters.")
    if target_agent is not None and target_agent.organization_id != board.organization_id:
        raise DomainError("The target agent must belong to the board's organization.")
    if len(task_title_template) > MAX_TASK_TITLE_LENGTH:
        raise DomainError("The task title template is longer than 200 characters.")


def _validate_secret(secret: str) -> None:
    # A short secret is guessable offline from one signed payload.
    if len(secret) < 16 or len(secret) > 256:
        raise DomainError("A webhook secret must be 16 to 256 characters long.")


# --- managing webhooks ------------------------------------------------------------------------------


@transaction.atomic
def create_webhook(
    *,
    board: Model,
    actor: Actor,
    description: str = "",
    secret: str | None = None,
    signature_header: str = "",
    target_agent: Model | None = None,
    creates_task: bool = False,
    task_title_template: str = "",
    enabled: bool = True,
) -> tuple[BoardWebhook, str | None]:
    """Create a webhook; return it with its plaintext secret, which is never readable again.

    `secret=None` generates one; `secret=""` creates an unsigned webhook (anyone who knows
    the URL can post), which only an admin can choose explicitly.
    """
    _require_admin(actor, board)
    _validate_fields(
        board=board,
        description=description,
        signature_header=signature_header,
        target_agent=target_agent,
        task_title_template=task_title_template,
    )
    if secret is None:
        secret = generate_webhook_secret()
    elif secret:
        _validate_secret(secret)
    webhook = BoardWebhook.objects.create(
        board=board,
        description=description,
        enabled=enabled,
        secret_ciphertext=encrypt_secret(secret) if secret else "",
        signature_header=signature_header,
        target_agent=target_agent,
        creates_task=creates_task,
        task_title_template=task_title_template,
        created_by=actor.user,
    )
    # An id can come back (SQLite reuses the ids of rolled-back rows): nothing cached under it stays.
    forget_webhook_for_ingest(webhook.pk)
    record_activity(
        organization=board.organization_id,
        board=board,
        actor=actor,
        verb="webhook.created",
        target=webhook,
        detail={"description": description, "signed": bool(secret)},
    )
    return webhook, (secret or None)


@transaction.atomic
def update_webhook(*, webhook: BoardWebhook, actor: Actor, **changes: Any) -> BoardWebhook:
    """Change the non-secret settings of a webhook (description, header, agent, task, enabled)."""
    allowed = {
        "description",
        "signature_header",
        "target_agent",
        "creates_task",
        "task_title_template",
        "enabled",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise DomainError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    webhook = BoardWebhook.objects.select_for_update().select_related("board").get(pk=webhook.pk)
    _require_admin(actor, webhook.board)
    merged = {name: changes.get(name, getattr(webhook, name)) for name in allowed}
    _validate_fields(
        board=webhook.board,
        description=merged["description"],
        signature_header=merged["signature_header"],
        target_agent=merged["target_agent"],
        task_title_template=merged["task_title_template"],
    )
    changed = update_and_record(
        webhook,
        changes=changes,
        actor=actor,
        verb="webhook.updated",
        organization=webhook.board.organization_id,
        board=webhook.board,
        detail=lambda changed: {"fields": sorted(changed)},
    )
    if changed:
        forget_webhook_for_ingest(webhook.pk)
    return webhook


def set_webhook_enabled(*, webhook: BoardWebhook, actor: Actor, enabled: bool) -> BoardWebhook:
    """A disabled webhook answers 410 Gone, so senders stop instead of retrying."""
    return update_webhook(webhook=webhook, actor=actor, enabled=enabled)


@transaction.atomic
def rotate_webhook_secret(
    *, webhook: BoardWebhook, actor: Actor, grace_seconds: int = 0, new_secret: str | None = None
) -> str:
    """Replace the secret; return the new plaintext once.

    With `grace_seconds` the old secret keeps verifying for that long, so a sender can be
    switched over without a window of rejected payloads. With 0 it stops at once.
    """
    if not 0 <= grace_seconds <= MAX_ROTATION_GRACE_SECONDS:
        raise DomainError(f"The grace period must be between 0 and {MAX_ROTATION_GRACE_SECONDS} seconds.")
    # Locked so two concurrent rotations cannot both keep "the previous" secret.
    webhook = BoardWebhook.objects.select_for_update().select_related("board").get(pk=webhook.pk)
    _require_admin(actor, webhook.board)
    if new_secret is None:
        new_secret = generate_webhook_secret()
    else:
        _validate_secret(new_secret)
    if grace_seconds and webhook.secret_ciphertext:
        webhook.previous_secret_ciphertext = webhook.secret_ciphertext
        webhook.previous_secret_expires_at = timezone.now() + timedelta(seconds=grace_seconds)
    else:
        webhook.previous_secret_ciphertext = ""
        webhook.previous_secret_expires_at = None
    webhook.secret_ciphertext = encrypt_secret(new_secret)
    webhook.save(
        update_fields=["secret_ciphertext", "previous_secret_ciphertext", "previous_secret_expires_at"]
    )
    forget_webhook_for_ingest(webhook.pk)
    record_activity(
        organization=webhook.board.organization_id,
        board=webhook.board,
        actor=actor,
        verb="webhook.secret_rotated",
        target=webhook,
        detail={"grace_seconds": grace_seconds},
    )
    return new_secret


@transaction.atomic
def delete_webhook(*, webhook: BoardWebhook, actor: Actor) -> None:
    """Delete the webhook and its stored payloads; the activity log keeps that it existed."""
    webhook = BoardWebhook.objects.select_related("board").get(pk=webhook.pk)
    _require_admin(actor, webhook.board)
    record_activity(
        organization=webhook.board.organization_id,
        board=webhook.board,
        actor=actor,
        verb="webhook.deleted",
        target_type="boardwebhook",
        target_id=webhook.pk,
        detail={"description": webhook.description},
    )
    forget_webhook_for_ingest(webhook.pk)
    webhook.delete()


# --- ingest -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestResult:
    payload: WebhookPayload
    duplicate: bool


def is_json_content_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json_body(body: bytes) -> tuple[Any, bool]:
    """(parsed, invalid). Invalid JSON is kept raw and flagged, never rejected: the sender's
    bytes are the record. JSON the JSON columns (Postgres jsonb) cannot store counts as
    invalid too, or the insert would fail as if the database were down (503 forever): NaN and
    Infinity, numbers out of double range (1e400, read as infinity), NUL characters and lone
    UTF-16 surrogates (`"\\ud800"`), in values and in keys."""
    try:
        parsed = json.loads(body, parse_constant=_reject_constant)
        # Serialised as the database will see it: allow_nan=False refuses infinities and
        # encoding to UTF-8 refuses lone surrogates.
        serialised = json.dumps(parsed, ensure_ascii=False, allow_nan=False)
        serialised.encode("utf-8")
        if "\\u0000" in serialised:
            return None, True
    except (ValueError, UnicodeError, RecursionError):
        return None, True
    return parsed, False


def is_credential_header(name: str, signature_header: str = "") -> bool:
    lowered = name.lower()
    if lowered in _ALWAYS_REDACTED or (signature_header and lowered == signature_header.lower()):
        return True
    return any(word in lowered for word in _CREDENTIAL_WORDS)


def redact_headers(headers: dict[str, str], *, signature_header: str = "") -> dict[str, str]:
    """The headers worth keeping for debugging, with every credential replaced."""
    kept: dict[str, str] = {}
    for name, value in list(headers.items())[:MAX_STORED_HEADERS]:
        lowered = name.lower()
        kept[lowered] = (
            REDACTED if is_credential_header(lowered, signature_header) else value[:MAX_STORED_HEADER_LENGTH]
        )
    return kept


def ingest_webhook_payload(
    *,
    webhook: BoardWebhook,
    body: bytes,
    content_type: str = "",
    headers: dict[str, str] | None = None,
    source_ip: str | None = None,
    delivery_id: str | None = None,
) -> IngestResult:
    """Store one verified payload and its `webhook.received` event, in one transaction; a
    repeated delivery id returns the first payload instead (and records nothing).

    Commits before returning, so the caller may answer 202 only for what is stored. Everything
    else follows the committed log (activity.following): live streams, the agents' notification,
    search, deliveries, rules, alerts. Only a webhook that creates inbox tasks creates its task
    here, in a savepoint: a failing task is logged and never loses the payload.
    """
    if delivery_id is not None and len(delivery_id) > MAX_DELIVERY_ID_LENGTH:
        raise DomainError(
            f"The delivery id is longer than {MAX_DELIVERY_ID_LENGTH} characters.", code="invalid_delivery_id"
        )
    parsed, invalid = (None, False)
    if is_json_content_type(content_type):
        parsed, invalid = parse_json_body(body)
    fields = {
        "webhook": webhook,
        "board_id": webhook.board_id,
        "body": body,
        "payload": parsed,
        "json_invalid": invalid,
        "content_type": content_type[:200],
        "headers": redact_headers(headers or {}, signature_header=webhook.signature_header),
        "source_ip": source_ip,
        "delivery_id": delivery_id or None,
    }
    with transaction.atomic():
        if delivery_id:
            try:
                # The savepoint lets the outer transaction survive the unique violation of a
                # concurrent or replayed delivery; the constraint, not a prior SELECT, decides.
                with transaction.atomic():
                    payload = WebhookPayload.objects.create(**fields)
            except IntegrityError:
                first = WebhookPayload.objects.filter(webhook=webhook, delivery_id=delivery_id).first()
                if first is None:  # not a duplicate after all: some other constraint failed
                    raise
                return IngestResult(payload=first, duplicate=True)
        else:
            # No delivery id, no constraint to trip: no savepoint round trips on the hot path.
            payload = WebhookPayload.objects.create(**fields)
        record_payload_received(payload)
    return IngestResult(payload=payload, duplicate=False)


def agents_to_notify(webhook: BoardWebhook) -> list[int]:
    """The webhook's target agent, or else the board's lead agent(s); only active ones (as
    cached with the webhook by get_webhook_for_ingest when it came from there)."""
    cached = getattr(webhook, "_notify_agent_ids", None)
    if cached is not None:
        return list(cached)
    return _agents_to_notify_from_database(webhook)


def _agents_to_notify_from_database(webhook: BoardWebhook) -> list[int]:
    webhooks = BoardWebhook.objects.filter(pk=webhook.pk)
    if webhook.target_agent_id is not None:
        agents = webhooks.filter(target_agent__status=AgentStatus.ACTIVE)
        return list(agents.values_list("target_agent_id", flat=True))
    # One filter() call: the lead and the active status are of the same agent.
    leads = webhooks.filter(board__agents__is_board_lead=True, board__agents__status=AgentStatus.ACTIVE)
    return list(leads.order_by("board__agents__pk").values_list("board__agents__pk", flat=True))


def _payload_detail(payload: WebhookPayload) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "webhook_id": payload.webhook_id,
        "payload_id": payload.pk,
        "content_type": payload.content_type,
        "size": len(bytes(payload.body)),
        "delivery_id": payload.delivery_id,
        # For the feed sentence ("GitHub on Release: ...") without a query per event.
        "webhook_name": payload.webhook.description,
    }
    for header in ("x-github-event", "x-event-type"):
        if header in payload.headers:
            detail["event"] = str(payload.headers[header])[:100]
            break
    return detail


def record_payload_received(payload: WebhookPayload) -> None:
    """The payload's event, in the payload's transaction (and its inbox task, if the webhook
    creates one): the rest reacts to the committed event, outside the request."""
    webhook = payload.webhook
    task_id, task_title = None, ""
    if webhook.creates_task:
        try:
            with transaction.atomic():
                task_id, task_title = _create_inbox_task(payload)
        except Exception:
            logger.exception(
                "webhook %s: creating the inbox task for payload %s failed", webhook.pk, payload.pk
            )
    detail = _payload_detail(payload)
    if task_id is not None:
        detail["task_id"] = task_id
        detail["title"] = task_title
    record_activity(
        organization=webhook.board.organization_id,
        board=webhook.board_id,
        actor=Actor.for_webhook(webhook),
        verb="webhook.received",
        target=payload,
        target_type="webhookpayload",
        detail=detail,
        notify_agent_ids=agents_to_notify(webhook),
    )


def render_task_title(template: str, payload: Any, *, fallback: str) -> str:
    """`{field}` replaced by the top-level JSON value of that key; nothing else is evaluated.

    Unlike str.format this cannot reach attributes or indexes, so a template cannot leak
    anything but the sender's own top-level values. Missing or non-scalar values become "".
    """
    values = payload if isinstance(payload, dict) else {}

    def substitute(match: re.Match) -> str:
        value = values.get(match.group(1))
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        return ""

    title = " ".join(_TEMPLATE_FIELD_RE.sub(substitute, template).split())
    return (title or fallback)[:MAX_TASK_TITLE_LENGTH]


def _create_inbox_task(payload: WebhookPayload) -> tuple[int, str]:
    webhook = payload.webhook
    title = render_task_title(
        webhook.task_title_template or "",
        payload.payload,
        fallback=f"Webhook payload #{payload.pk} ({webhook})",
    )
    return inbox.make_inbox_task(
        board=webhook.board,
        actor=Actor.for_webhook(webhook),
        title=title,
        description=f"Created from webhook payload #{payload.pk} ({webhook}).",
    )


@transaction.atomic
def replay_webhook_payload(*, payload: WebhookPayload, actor: Actor) -> WebhookPayload:
    """Notify the target agent (or board lead) again about a stored payload."""
    webhook = payload.webhook
    board = webhook.board
    if actor.kind != ActorKind.SYSTEM:
        if actor.user is None:
            raise PermissionDenied("Only organization members replay payloads.")
        require_role(user=actor.user, organization=board.organization_id, role=Role.OPERATOR)
    agent_ids = agents_to_notify(webhook)
    if not agent_ids:
        raise DomainError(
            "This webhook has no target agent and the board has no lead agent.", code="no_agent"
        )
    detail = _payload_detail(payload)
    record_activity(
        organization=board.organization_id,
        board=board,
        actor=actor,
        verb="webhook.replayed",
        target=payload,
        target_type="webhookpayload",
        detail=detail,
        notify_agent_ids=agent_ids,
    )
    return payload


def prune_webhook_payloads(*, older_than_days: int | None = None) -> int:
    """Delete payloads received more than WEBHOOK_RETENTION_DAYS ago; return how many."""
    days = settings.WEBHOOK_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    deleted = 0
    # In batches, so a large backlog does not hold one long transaction or lock.
    while True:
        ids = list(WebhookPayload.objects.filter(received_at__lt=cutoff).values_list("pk", flat=True)[:1000])
        if not ids:
            return deleted
        count, _ = WebhookPayload.objects.filter(pk__in=ids).delete()
        deleted += count


def _ingest_cache_key(webhook_id: int) -> str:
    return f"mc:webhook-ingest:{webhook_id}"


def forget_webhook_for_ingest(webhook_id: int) -> None:
    """Drop the ingest cache entry of a webhook once its change commits (and right away, so a
    reader in between cannot cache the old row again for long: it expires on its own too)."""

    def forget() -> None:
        try:
            cache.delete(_ingest_cache_key(webhook_id))
        except Exception as exc:
            logger.warning("webhook %s: dropping its ingest cache failed: %s", webhook_id, type(exc).__name__)

    forget()
    transaction.on_commit(forget, robust=True)


def get_webhook_for_ingest(*, board_id: int, webhook_id: int) -> BoardWebhook:
    """Both "no such board" and "no such webhook on this board" are the same NotFound.

    The hot path of every ingest: the webhook, its board and the agents to notify are cached
    together (WEBHOOK_INGEST_CACHE_SECONDS), dropped when the webhook changes (its services) and
    stale as soon as any agent changes (core.generations). The cached row carries the secret
    only as stored, encrypted.
    """
    key = _ingest_cache_key(webhook_id)
    try:
        found = cache.get_many([key, AGENTS_GENERATION_KEY])
    except Exception:
        found = {}
    generation = agents_generation(found.get(AGENTS_GENERATION_KEY))
    cached = found.get(key)
    if cached is not None and cached[2] == generation:
        webhook, agent_ids = cached[0], cached[1]
        if webhook.board_id != board_id:
            raise NotFound("Not found.")
        webhook._notify_agent_ids = agent_ids
        return webhook
    try:
        webhook = BoardWebhook.objects.select_related("board").get(pk=webhook_id, board_id=board_id)
    except BoardWebhook.DoesNotExist:
        raise NotFound("Not found.") from None
    agent_ids = _agents_to_notify_from_database(webhook)
    webhook._notify_agent_ids = agent_ids
    try:
        cache.set(key, (webhook, agent_ids, generation), settings.WEBHOOK_INGEST_CACHE_SECONDS)
    except Exception as exc:
        logger.warning("webhook %s: caching it for ingest failed: %s", webhook_id, type(exc).__name__)
    return webhook


# --- reads shared by the pages and the API ----------------------------------------------------------

PAYLOAD_STATUSES = ("json", "invalid_json", "raw")


def webhooks_visible_to(user):
    """Webhooks on boards of the user's organizations (members read, admins manage)."""
    return BoardWebhook.objects.visible_to(user)


def payloads_visible_to(user):
    return WebhookPayload.objects.visible_to(user)


def filter_payloads(queryset, *, status: str = "", received_from=None, received_to=None):
    """The payload log's filters: status (json, invalid_json, raw) and a received-on date range."""
    json_type = Q(content_type__istartswith="application/json") | Q(content_type__icontains="+json")
    if status == "invalid_json":
        queryset = queryset.filter(json_invalid=True)
    elif status == "json":
        queryset = queryset.filter(json_type, json_invalid=False)
    elif status == "raw":
        queryset = queryset.filter(json_invalid=False).exclude(json_type)
    if received_from is not None:
        queryset = queryset.filter(received_at__date__gte=received_from)
    if received_to is not None:
        queryset = queryset.filter(received_at__date__lte=received_to)
    return queryset


def count_webhook_refusal(*, webhook: BoardWebhook, reason: str) -> None:
    """Add one to today's refusal counter of the webhook; never fails the refusal itself."""
    day = timezone.now().date()
    counters = WebhookRefusalCount.objects.filter(webhook=webhook, day=day, reason=reason)
    try:
        with transaction.atomic():
            if not counters.update(count=F("count") + 1):
                # Two first refusals of the day at once: the constraint lets one create, the
                # other retries the update once.
                try:
                    with transaction.atomic():
                        WebhookRefusalCount.objects.create(
                            webhook=webhook, board_id=webhook.board_id, day=day, reason=reason, count=1
                        )
                except IntegrityError:
                    counters.update(count=F("count") + 1)
    except DatabaseError:
        logger.warning("webhook %s: counting a refusal failed", webhook.pk)
