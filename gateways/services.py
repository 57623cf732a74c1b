"""Writes for gateways: configuration (admins), commands (by the role each method needs) and the
status the supervisor records. Each change people make is an activity event; the supervisor's
status changes are events only on a transition (connected → unreachable), never per retry.

Roles: a viewer sees gateways, their status and read-only answers (agent and session lists); an
operator acts (sends messages, wakes agents, resets sessions); an admin configures (adds, edits
and removes gateways, creates and retires agents on them, edits their files).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.utils import timezone

from activity.services import record_activity
from agents.models import Agent
from core.access import authorize
from core.actors import Actor, ActorKind
from core.encryption import decrypt_secret, encrypt_secret
from core.models import Organization, Role
from gateways.models import (
    ApprovalState,
    CommandState,
    Gateway,
    GatewayAgent,
    GatewayApproval,
    GatewayCommand,
    GatewaySession,
    GatewayStatus,
)
from gateways.protocol import DeviceIdentity, GatewayError, Hello
from infra.exceptions import Conflict, DomainError, NotFound
from usage.services import UsageItem, record_usage

MAX_NAME_LENGTH = 100
MAX_URL_LENGTH = 500
MAX_TOKEN_LENGTH = 1000
MAX_IDEMPOTENCY_KEY_LENGTH = 100
MAX_COMMAND_PARAMS_BYTES = 64 * 1024
# A command nobody could run (the gateway was down all along) fails after this long instead of
# running as a surprise an hour later.
COMMAND_TTL = timedelta(minutes=5)

# The gateway methods Mission Control may queue, with the role each needs. Anything else is
# refused: the queue is not a pass-through to every one of the gateway's 466 methods.
COMMAND_ROLES: dict[str, str] = {
    "health": Role.VIEWER,
    "status": Role.VIEWER,
    "agents.list": Role.VIEWER,
    "agents.files.list": Role.VIEWER,
    "agents.files.get": Role.VIEWER,
    "sessions.list": Role.VIEWER,
    "chat.history": Role.VIEWER,
    "models.list": Role.VIEWER,
    "chat.send": Role.OPERATOR,
    "agent": Role.OPERATOR,
    "wake": Role.OPERATOR,
    "chat.abort": Role.OPERATOR,
    "sessions.reset": Role.OPERATOR,
    "agents.create": Role.ADMIN,
    "agents.update": Role.ADMIN,
    "agents.delete": Role.ADMIN,
    "agents.files.set": Role.ADMIN,
    # Through answer_approval only in the app; operators may also answer through the API.
    "exec.approval.resolve": Role.OPERATOR,
}
# Methods that start a run: the gateway also deduplicates them by idempotencyKey.
RUN_METHODS = frozenset({"chat.send", "agent"})

_UNSET: Any = object()


def gateway_actor(gateway: Gateway) -> Actor:
    """The supervisor acting for a gateway (status changes, command outcomes)."""
    return Actor(kind=ActorKind.SYSTEM, label=f"gateway {gateway.name}"[:150])


def clean_gateway_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise DomainError(
            "Give the gateway's WebSocket URL, such as ws://127.0.0.1:18789.", code="invalid_url"
        )
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise DomainError(f"The URL is at most {MAX_URL_LENGTH} characters.", code="invalid_url")
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise DomainError("The URL must start with ws:// or wss:// and name a host.", code="invalid_url")
    if parts.username or parts.password:
        raise DomainError("Put the token in the token field, not in the URL.", code="invalid_url")
    try:
        parts.port  # noqa: B018  (raises for a port out of range)
    except ValueError:
        raise DomainError("The URL's port is not a valid port number.", code="invalid_url") from None
    return url


def _clean_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise DomainError("Give the gateway a name.", code="invalid_name")
    if len(name.strip()) > MAX_NAME_LENGTH:
        raise DomainError(f"The name is at most {MAX_NAME_LENGTH} characters.", code="invalid_name")
    return name.strip()


def _clean_token(token: Any) -> str:
    if not isinstance(token, str) or not token.strip():
        raise DomainError("Give the gateway's auth token.", code="invalid_token")
    if len(token.strip()) > MAX_TOKEN_LENGTH:
        raise DomainError(f"The token is at most {MAX_TOKEN_LENGTH} characters.", code="invalid_token")
    return token.strip()


def _detail(gateway: Gateway, **extra: Any) -> dict[str, Any]:
    return {"gateway_id": gateway.pk, "name": gateway.name, **extra}


def gateway_token(gateway: Gateway) -> str:
    return decrypt_secret(gateway.token_ciphertext)


def gateway_device(gateway: Gateway) -> DeviceIdentity | None:
    if not gateway.device_key_ciphertext:
        return None
    return DeviceIdentity.from_pem(decrypt_secret(gateway.device_key_ciphertext))


def _set_device(gateway: Gateway, use_device: bool) -> None:
    if use_device and not gateway.device_key_ciphertext:
        device = DeviceIdentity.generate()
        gateway.device_key_ciphertext = encrypt_secret(device.to_pem())
        gateway.device_id = device.device_id
    elif not use_device:
        gateway.device_key_ciphertext = ""
        gateway.device_id = ""


@transaction.atomic
def create_gateway(
    *,
    actor: Actor,
    organization: Organization,
    name: str,
    url: str,
    token: str,
    device_identity: bool = False,
    enabled: bool = True,
    read_only: bool = False,
) -> Gateway:
    authorize(actor, organization=organization, role=Role.ADMIN, allow_agent=False)
    gateway = Gateway(
        organization=organization,
        name=_clean_name(name),
        url=clean_gateway_url(url),
        token_ciphertext=encrypt_secret(_clean_token(token)),
        enabled=bool(enabled),
        read_only=bool(read_only),
        status=GatewayStatus.NEW if enabled else GatewayStatus.DISABLED,
        created_by=actor.user,
    )
    _set_device(gateway, bool(device_identity))
    if Gateway.objects.filter(organization=organization, name=gateway.name).exists():
        raise Conflict("This organization already has a gateway with that name.", code="duplicate_name")
    gateway.save()
    record_activity(
        organization=organization,
        verb="gateway.created",
        actor=actor,
        target=gateway,
        detail=_detail(
            gateway, url=gateway.url, device_identity=bool(gateway.device_id), read_only=gateway.read_only
        ),
    )
    return gateway


@transaction.atomic
def update_gateway(
    *,
    actor: Actor,
    gateway: Gateway,
    name: str = _UNSET,
    url: str = _UNSET,
    token: str = _UNSET,
    device_identity: bool = _UNSET,
    enabled: bool = _UNSET,
    read_only: bool = _UNSET,
) -> Gateway:
    """Change a gateway's settings. A new URL, token or device makes the supervisor reconnect
    (it compares updated_at), so the new credentials are tried at once."""
    authorize(actor, organization=gateway.organization_id, role=Role.ADMIN, allow_agent=False)
    gateway = Gateway.objects.select_for_update().get(pk=gateway.pk)
    changed: list[str] = []
    if name is not _UNSET and _clean_name(name) != gateway.name:
        gateway.name = _clean_name(name)
        if (
            Gateway.objects.filter(organization_id=gateway.organization_id, name=gateway.name)
            .exclude(pk=gateway.pk)
            .exists()
        ):
            raise Conflict("This organization already has a gateway with that name.", code="duplicate_name")
        changed.append("name")
    if url is not _UNSET and clean_gateway_url(url) != gateway.url:
        gateway.url = clean_gateway_url(url)
        changed.append("url")
    if token is not _UNSET:
        gateway.token_ciphertext = encrypt_secret(_clean_token(token))
        changed.append("token")  # never the token itself
    if device_identity is not _UNSET and bool(device_identity) != bool(gateway.device_id):
        _set_device(gateway, bool(device_identity))
        changed.append("device_identity")
    if enabled is not _UNSET and bool(enabled) != gateway.enabled:
        gateway.enabled = bool(enabled)
        gateway.status = GatewayStatus.NEW if gateway.enabled else GatewayStatus.DISABLED
        changed.append("enabled")
    if read_only is not _UNSET and bool(read_only) != gateway.read_only:
        gateway.read_only = bool(read_only)
        changed.append("read_only")
    if not changed:
        return gateway
    gateway.save()
    record_activity(
        organization=gateway.organization_id,
        verb="gateway.updated",
        actor=actor,
        target=gateway,
        detail=_detail(gateway, changed=changed),
    )
    return gateway


@transaction.atomic
def delete_gateway(*, actor: Actor, gateway: Gateway) -> None:
    authorize(actor, organization=gateway.organization_id, role=Role.ADMIN, allow_agent=False)
    record_activity(
        organization=gateway.organization_id,
        verb="gateway.deleted",
        actor=actor,
        target_type="gateway",
        target_id=gateway.pk,
        detail=_detail(gateway),
    )
    gateway.delete()


# --- commands ----------------------------------------------------------------------------------


def command_role(method: str) -> str:
    role = COMMAND_ROLES.get(method)
    if role is None:
        raise DomainError(
            f"Mission Control does not send {method!r} to gateways. "
            f"Allowed: {', '.join(sorted(COMMAND_ROLES))}.",
            code="unknown_method",
        )
    return role


def _clean_params(params: Any) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise DomainError("params must be a JSON object.", code="invalid_params")
    if len(json.dumps(params)) > MAX_COMMAND_PARAMS_BYTES:
        raise DomainError(
            f"params are at most {MAX_COMMAND_PARAMS_BYTES} bytes of JSON.", code="params_too_large"
        )
    return params


def _clean_idempotency_key(key: Any) -> str:
    if key is None or key == "":
        return str(uuid.uuid4())
    if not isinstance(key, str) or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH or not key.isprintable():
        raise DomainError(
            f"An idempotency key is printable text of at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters.",
            code="invalid_idempotency_key",
        )
    return key


def request_command(
    *,
    actor: Actor,
    gateway: Gateway,
    method: str,
    params: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> tuple[GatewayCommand, bool]:
    """Queue `method` for the supervisor; return (command, created).

    The same idempotency key on the same gateway returns the first command (created False), so a
    retried click or HTTP request never starts a second run. For run methods the key is also the
    gateway's idempotencyKey, so the gateway deduplicates a retry the supervisor makes itself.
    """
    authorize(actor, organization=gateway.organization_id, role=command_role(method), allow_agent=False)
    return _queue_command(
        actor=actor, gateway=gateway, method=method, params=params, idempotency_key=idempotency_key
    )


def _queue_command(
    *,
    actor: Actor,
    gateway: Gateway,
    method: str,
    params: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    verb: str = "gateway.command_requested",
    detail: dict[str, Any] | None = None,
    board: Any = None,
) -> tuple[GatewayCommand, bool]:
    """request_command, recorded as `verb` with `detail` (wake, stop, reset say what they did).

    Checks no role: each public service that queues (request_command, wake, send, stop, reset,
    answer_approval) authorizes once, first, so a refused person gets 403 before any validation."""
    params = dict(_clean_params(params))
    key = _clean_idempotency_key(idempotency_key)
    if method in RUN_METHODS:
        params["idempotencyKey"] = key
    existing = GatewayCommand.objects.filter(gateway=gateway, idempotency_key=key).first()
    if existing is not None:
        return _same_command(existing, method), False
    try:
        with transaction.atomic():
            command = GatewayCommand.objects.create(
                gateway=gateway,
                method=method,
                params=params,
                idempotency_key=key,
                requested_by=actor.user,
            )
            if COMMAND_ROLES[method] != Role.VIEWER:
                record_activity(
                    organization=gateway.organization_id,
                    board=board,
                    verb=verb,
                    actor=actor,
                    target_type="gateway",
                    target_id=gateway.pk,
                    detail=_detail(gateway, method=method, command_id=command.pk, **(detail or {})),
                )
    except IntegrityError:
        # Two requests with one key at once: the unique constraint let one in; return it.
        existing = GatewayCommand.objects.get(gateway=gateway, idempotency_key=key)
        return _same_command(existing, method), False
    return command, True


def _same_command(command: GatewayCommand, method: str) -> GatewayCommand:
    if command.method != method:
        raise Conflict(
            "This idempotency key was already used for another method on this gateway.",
            code="idempotency_conflict",
        )
    return command


def claim_commands(*, gateway_id: int, limit: int = 10) -> list[GatewayCommand]:
    """The supervisor takes the oldest pending commands of one gateway.

    Each row is claimed with a conditional UPDATE (pending → running), so two supervisors (a
    rolling restart) never run one command twice: the loser's UPDATE matches no row.
    """
    claimed: list[GatewayCommand] = []
    now = timezone.now()
    candidates = GatewayCommand.objects.filter(gateway_id=gateway_id, state=CommandState.PENDING).order_by(
        "created_at", "id"
    )[:limit]
    for command in candidates:
        won = GatewayCommand.objects.filter(pk=command.pk, state=CommandState.PENDING).update(
            state=CommandState.RUNNING, claimed_at=now, attempts=command.attempts + 1
        )
        if won:
            command.state, command.claimed_at = CommandState.RUNNING, now
            claimed.append(command)
    return claimed


def _file_conflict(command: GatewayCommand, error: GatewayError) -> GatewayError:
    """The gateway refuses an agents.files.set whose expectedHash is no longer the file's
    (INVALID_REQUEST, details.type agent_file_conflict): say it the way the editor needs."""
    if command.method != "agents.files.set" or error.details.get("type") != "agent_file_conflict":
        return error
    name = str(command.params.get("name") or "The file")
    return GatewayError(
        "FILE_CHANGED",
        f"{name} was changed on the gateway since you opened it. Nothing was saved: reload it to "
        "see the current version, then make your change again.",
        details=error.details,
    )


@transaction.atomic
def finish_command(
    *, command: GatewayCommand, result: Any = None, error: GatewayError | None = None
) -> GatewayCommand:
    if error is not None:
        error = _file_conflict(command, error)
    command.state = CommandState.FAILED if error else CommandState.SUCCEEDED
    command.result = None if error else result
    command.error_code = error.code[:100] if error else ""
    command.error_message = error.message if error else ""
    command.finished_at = timezone.now()
    command.save(update_fields=["state", "result", "error_code", "error_message", "finished_at"])
    gateway = command.gateway
    if command.method == "agents.files.set" and not error:
        requester = command.requested_by
        record_activity(
            organization=gateway.organization_id,
            verb="gateway.agent_file_saved",
            actor=Actor.for_user(requester) if requester else gateway_actor(gateway),
            target_type="gateway",
            target_id=gateway.pk,
            detail=_detail(
                gateway,
                command_id=command.pk,
                agent_key=str(command.params.get("agentId") or "")[:100],
                file=str(command.params.get("name") or "")[:100],
            ),
        )
    elif COMMAND_ROLES.get(command.method) != Role.VIEWER:
        record_activity(
            organization=gateway.organization_id,
            verb="gateway.command_finished",
            actor=gateway_actor(gateway),
            target_type="gateway",
            target_id=gateway.pk,
            detail=_detail(
                gateway,
                method=command.method,
                command_id=command.pk,
                state=command.state,
                error=command.error_message[:300],
            ),
        )
    return command


def requeue_running_commands(*, gateway_id: int) -> int:
    """Commands a lost connection interrupted go back to pending, to be sent again on reconnect.

    Safe for runs because their idempotencyKey makes the gateway return the first run."""
    return GatewayCommand.objects.filter(gateway_id=gateway_id, state=CommandState.RUNNING).update(
        state=CommandState.PENDING
    )


def expire_stale_commands(*, now=None) -> int:
    """Pending commands older than COMMAND_TTL fail with a sentence people can act on."""
    now = now or timezone.now()
    return GatewayCommand.objects.filter(state=CommandState.PENDING, created_at__lt=now - COMMAND_TTL).update(
        state=CommandState.FAILED,
        error_code="GATEWAY_UNREACHABLE",
        error_message=f"The gateway was not reachable for {int(COMMAND_TTL.total_seconds() // 60)} minutes.",
        finished_at=now,
    )


# --- status (written by the supervisor) --------------------------------------------------------


@transaction.atomic
def record_connected(*, gateway_id: int, hello: Hello) -> Gateway | None:
    gateway = Gateway.objects.select_for_update().filter(pk=gateway_id).first()
    if gateway is None:
        return None
    was = gateway.status
    now = timezone.now()
    gateway.status = GatewayStatus.CONNECTED
    gateway.server_version = hello.server_version[:100]
    gateway.protocol = hello.protocol
    gateway.scopes = list(hello.scopes)
    gateway.latency_ms = hello.latency_ms
    gateway.last_error = gateway.last_error_code = ""
    gateway.last_seen_at = gateway.connected_at = now
    # update_fields without updated_at: the supervisor watches updated_at for settings changes.
    gateway.save(
        update_fields=[
            "status",
            "server_version",
            "protocol",
            "scopes",
            "latency_ms",
            "last_error",
            "last_error_code",
            "last_seen_at",
            "connected_at",
        ]
    )
    if was != GatewayStatus.CONNECTED:
        record_activity(
            organization=gateway.organization_id,
            verb="gateway.connected",
            actor=gateway_actor(gateway),
            target=gateway,
            detail=_detail(gateway, server_version=gateway.server_version, protocol=gateway.protocol),
        )
    return gateway


@transaction.atomic
def record_disconnected(*, gateway_id: int, code: str, error: str, refused: bool) -> Gateway | None:
    """The connection failed or dropped. `refused` means the gateway said no (bad token, scopes,
    protocol): retrying the same settings will not help, and the page says so."""
    gateway = Gateway.objects.select_for_update().filter(pk=gateway_id).first()
    if gateway is None:
        return None
    status = GatewayStatus.REFUSED if refused else GatewayStatus.DISCONNECTED
    # One event per change of state, not one per failed retry; a refusal for a new reason (the
    # token was fixed but now the scopes are wrong) is news too.
    transition = gateway.status != status or (refused and gateway.last_error_code != code)
    gateway.status = status
    gateway.last_error_code = code[:100]
    gateway.last_error = error[:2000]
    gateway.save(update_fields=["status", "last_error_code", "last_error"])
    if transition:
        record_activity(
            organization=gateway.organization_id,
            verb="gateway.refused" if refused else "gateway.unreachable",
            actor=gateway_actor(gateway),
            target=gateway,
            detail=_detail(gateway, code=code, error=error[:300]),
        )
    return gateway


def record_seen(*, gateway_id: int, latency_ms: int | None = None) -> None:
    fields: dict[str, Any] = {"last_seen_at": timezone.now()}
    if latency_ms is not None:
        fields["latency_ms"] = latency_ms
    Gateway.objects.filter(pk=gateway_id).update(**fields)


# --- agents on a gateway -------------------------------------------------------------------------


def sync_gateway_agents(*, gateway_id: int, listed: Any) -> list[GatewayAgent]:
    """Bring the GatewayAgent rows in step with the gateway's agents.list answer.

    New agents are imported (recorded as `gateway.agent_imported`), agents the gateway no longer
    lists are retired (`gateway.agent_retired`), returning ones are un-retired. Links to Mission
    Control agents are kept.
    """
    agents = listed.get("agents") if isinstance(listed, dict) else None
    if not isinstance(agents, list):
        return []
    seen: dict[str, dict[str, Any]] = {}
    for entry in agents:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str) and entry["id"]:
            seen[entry["id"][:100]] = entry
    now = timezone.now()
    with transaction.atomic():
        gateway = Gateway.objects.select_for_update().filter(pk=gateway_id).first()
        if gateway is None:
            return []
        existing = {row.agent_key: row for row in GatewayAgent.objects.filter(gateway=gateway)}
        for key, entry in seen.items():
            row = existing.get(key)
            name = str(entry.get("name") or key)[:200]
            workspace = str(entry.get("workspace") or "")[:500]
            if row is None:
                row = GatewayAgent.objects.create(
                    gateway=gateway, agent_key=key, name=name, workspace=workspace
                )
                existing[key] = row
                _record_agent_event(gateway, row, verb="gateway.agent_imported")
            elif row.retired_at or row.name != name or row.workspace != workspace:
                returned = row.retired_at is not None
                row.name, row.workspace, row.retired_at = name, workspace, None
                row.save(update_fields=["name", "workspace", "retired_at"])
                if returned:
                    _record_agent_event(gateway, row, verb="gateway.agent_imported")
        for key, row in existing.items():
            if key not in seen and row.retired_at is None:
                row.retired_at = now
                row.save(update_fields=["retired_at"])
                _record_agent_event(gateway, row, verb="gateway.agent_retired")
    return [row for row in existing.values() if row.retired_at is None]


def _record_agent_event(gateway: Gateway, row: GatewayAgent, *, verb: str) -> None:
    record_activity(
        organization=gateway.organization_id,
        verb=verb,
        actor=gateway_actor(gateway),
        target_type="gateway",
        target_id=gateway.pk,
        detail=_detail(gateway, agent_key=row.agent_key, agent_name=row.name),
    )


@transaction.atomic
def link_gateway_agent(*, actor: Actor, gateway_agent: GatewayAgent, agent: Agent | None) -> GatewayAgent:
    """Link a gateway's agent to a Mission Control agent of the same organization (or unlink)."""
    gateway = gateway_agent.gateway
    authorize(actor, organization=gateway.organization_id, role=Role.ADMIN, allow_agent=False)
    if agent is not None and agent.organization_id != gateway.organization_id:
        raise NotFound("No such agent in this organization.")
    gateway_agent.agent = agent
    gateway_agent.save(update_fields=["agent"])
    record_activity(
        organization=gateway.organization_id,
        verb="gateway.agent_linked",
        actor=actor,
        target_type="gateway",
        target_id=gateway.pk,
        detail=_detail(
            gateway,
            agent_key=gateway_agent.agent_key,
            agent_name=gateway_agent.name,
            agent_id=agent.pk if agent else None,
            linked_name=agent.name if agent else "",
        ),
    )
    return gateway_agent


# --- usage ----------------------------------------------------------------------------------------


def run_usage_items(*, gateway_id: int, run_id: str, history: Any) -> list[UsageItem]:
    """One usage report per model call of a run, from chat.history's assistant messages.

    OpenClaw's live `usage` events carry only a running output count; the history has each
    call's input, output, cached tokens and cost. The idempotency key names the gateway, run and
    message, so reading the history twice never counts a call twice.
    """
    messages = history.get("messages") if isinstance(history, dict) else None
    items: list[UsageItem] = []
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        meta = message.get("__openclaw") if isinstance(message.get("__openclaw"), dict) else {}
        usage = message.get("usage") if isinstance(message.get("usage"), dict) else None
        if meta.get("runId") != run_id or usage is None:
            continue
        cost = (usage.get("cost") or {}).get("total") if isinstance(usage.get("cost"), dict) else None
        timestamp = message.get("timestamp")
        occurred_at = (
            datetime.fromtimestamp(timestamp / 1000, tz=UTC)
            if isinstance(timestamp, int | float)
            else timezone.now()
        )
        model = "/".join(str(part) for part in (message.get("provider"), message.get("model")) if part)
        items.append(
            UsageItem(
                model=(model or "unknown")[:100],
                idempotency_key=f"gateway:{gateway_id}:{run_id}:{meta.get('id') or len(items)}"[:100],
                occurred_at=occurred_at,
                input_tokens=max(0, int(usage.get("input") or 0)),
                output_tokens=max(0, int(usage.get("output") or 0)),
                cached_tokens=max(0, int(usage.get("cacheRead") or 0)),
                cost=Decimal(str(cost)) if isinstance(cost, int | float) and cost > 0 else None,
            )
        )
    return items


def record_run_usage(*, gateway_id: int, agent_key: str, run_id: str, history: Any) -> int:
    """Record a finished run's usage for the Mission Control agent linked to `agent_key`.

    Returns how many reports were new; 0 when the gateway agent is not linked (its usage has no
    Mission Control subject) or the run was already counted."""
    link = (
        GatewayAgent.objects.filter(gateway_id=gateway_id, agent_key=agent_key, agent__isnull=False)
        .select_related("agent")
        .first()
    )
    if link is None:
        return 0
    items = run_usage_items(gateway_id=gateway_id, run_id=run_id, history=history)
    if not items:
        return 0
    recorded = record_usage(agent=link.agent, items=items)
    return sum(1 for r in recorded if not r.duplicate)


MAX_MESSAGE_LENGTH = 20_000


# What Wake (with no message of its own) tells a gateway agent.
WAKE_MESSAGE = (
    "Mission Control is waking you: check your assigned tasks on your boards and carry on with "
    "the most urgent one."
)


def wake_gateway_agent(
    *,
    actor: Actor,
    gateway_agent: GatewayAgent,
    idempotency_key: str,
    message: str = "",
    task: Any = None,
    reason: str = "page",
) -> tuple[GatewayCommand, bool]:
    """Start a run of a gateway agent (the gateway's `agent` method); return (command, created).

    The one way Mission Control wakes a gateway agent: Wake and Send on the agent page, Work on
    this on the task page (`task`), a board's "send work when assigned" (reason "assigned") and
    automations. Operators and admins; the system for a board setting an admin turned on.
    `message` defaults to the task's (with `task`) or WAKE_MESSAGE. The idempotency key makes a
    double click, a resubmitted form or a consumer's retry the same command and, at the gateway,
    the same run. Recorded as `gateway.agent_woken`.
    """
    authorize(
        actor,
        organization=gateway_agent.gateway.organization_id,
        role=command_role("agent"),
        allow_agent=False,
    )
    return _wake(
        actor=actor,
        gateway_agent=gateway_agent,
        idempotency_key=idempotency_key,
        message=message,
        task=task,
        reason=reason,
    )


def _wake(
    *,
    actor: Actor,
    gateway_agent: GatewayAgent,
    idempotency_key: str,
    message: str,
    task: Any,
    reason: str,
) -> tuple[GatewayCommand, bool]:
    """wake_gateway_agent once the actor is authorized (send_to_gateway_agent's too)."""
    if gateway_agent.retired_at is not None:
        raise DomainError("This agent is no longer on the gateway.", code="agent_retired")
    if not isinstance(message, str):
        raise DomainError("Write a message for the agent.", code="invalid_message")
    message = message.strip() or (task_work_message(task) if task is not None else WAKE_MESSAGE)
    if len(message) > MAX_MESSAGE_LENGTH:
        raise DomainError(f"A message is at most {MAX_MESSAGE_LENGTH} characters.", code="invalid_message")
    detail: dict[str, Any] = {
        "agent_key": gateway_agent.agent_key,
        "agent_id": gateway_agent.agent_id,
        "reason": reason[:20],
        "text": message[:200],
    }
    if task is not None:
        detail.update(task_id=task.pk, title=task.title[:200])
    return _queue_command(
        actor=actor,
        gateway=gateway_agent.gateway,
        method="agent",
        params={"agentId": gateway_agent.agent_key, "message": message, "deliver": False},
        idempotency_key=idempotency_key,
        verb="gateway.agent_woken",
        detail=detail,
        board=task.board_id if task is not None else None,
    )


def send_to_gateway_agent(
    *, actor: Actor, gateway_agent: GatewayAgent, message: str, idempotency_key: str
) -> tuple[GatewayCommand, bool]:
    """Send (agent page, session composer aside): a wake with the person's own message."""
    authorize(
        actor,
        organization=gateway_agent.gateway.organization_id,
        role=command_role("agent"),
        allow_agent=False,
    )
    if not isinstance(message, str) or not message.strip():
        raise DomainError("Write a message for the agent.", code="invalid_message")
    return _wake(
        actor=actor,
        gateway_agent=gateway_agent,
        idempotency_key=idempotency_key,
        message=message,
        task=None,
        reason="page",
    )


def gateway_agent_for(agent: Agent | None) -> GatewayAgent | None:
    """The gateway agent a Mission Control agent runs as (the first active link), if any."""
    if agent is None:
        return None
    return (
        GatewayAgent.objects.active()
        .filter(agent=agent, gateway__enabled=True)
        .select_related("gateway")
        .order_by("gateway_id", "agent_key")
        .first()
    )


# --- sessions -------------------------------------------------------------------------------------

MAX_SESSION_KEY_LENGTH = 200
# The workspace files the gateway lets clients edit (its WORKSPACE_BOOTSTRAP_FILENAMES); the page
# opens SOUL.md unless another of these is asked for.
EDITABLE_FILES = ("SOUL.md", "AGENTS.md", "IDENTITY.md", "USER.md", "TOOLS.md")
# A file travels as a command's params, which are capped at MAX_COMMAND_PARAMS_BYTES of JSON.
MAX_FILE_BYTES = MAX_COMMAND_PARAMS_BYTES - 1024


def _clean_session_key(session_key: Any) -> str:
    if not isinstance(session_key, str) or not session_key.strip():
        raise DomainError("Name the session (such as agent:main:main).", code="invalid_session")
    if len(session_key) > MAX_SESSION_KEY_LENGTH or not session_key.isprintable():
        raise DomainError(
            f"A session key is printable text of at most {MAX_SESSION_KEY_LENGTH} characters.",
            code="invalid_session",
        )
    return session_key.strip()


def stop_gateway_session(
    *, actor: Actor, gateway: Gateway, session_key: str, idempotency_key: str | None = None
) -> tuple[GatewayCommand, bool]:
    """Stop the run a session is doing (chat.abort); the session and its history stay. Operators."""
    authorize(actor, organization=gateway.organization_id, role=command_role("chat.abort"), allow_agent=False)
    key = _clean_session_key(session_key)
    return _queue_command(
        actor=actor,
        gateway=gateway,
        method="chat.abort",
        params={"sessionKey": key},
        idempotency_key=idempotency_key,
        verb="gateway.session_stopped",
        detail={"session_key": key},
    )


def reset_gateway_session(
    *, actor: Actor, gateway: Gateway, session_key: str, idempotency_key: str | None = None
) -> tuple[GatewayCommand, bool]:
    """Start a session afresh (sessions.reset): the agent forgets the conversation. Operators."""
    authorize(
        actor, organization=gateway.organization_id, role=command_role("sessions.reset"), allow_agent=False
    )
    key = _clean_session_key(session_key)
    return _queue_command(
        actor=actor,
        gateway=gateway,
        method="sessions.reset",
        params={"key": key, "reason": "reset"},
        idempotency_key=idempotency_key,
        verb="gateway.session_reset",
        detail={"session_key": key},
    )


MAX_SESSIONS_KEPT = 500


def _session_time(value: Any) -> datetime | None:
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    return None


def sync_gateway_sessions(*, gateway_id: int, listed: Any) -> int:
    """Keep the gateway's sessions (its sessions.list answer) for the agent pages to show.

    A copy of the gateway's state, not history: rows the gateway no longer lists go. An event
    (`gateway.sessions_changed`) is recorded only when sessions appear or go, not for every run
    that touches one. Returns how many sessions are kept.
    """
    sessions = listed.get("sessions") if isinstance(listed, dict) else None
    if not isinstance(sessions, list):
        return 0
    rows: dict[str, GatewaySession] = {}
    now = timezone.now()
    for entry in sessions[:MAX_SESSIONS_KEPT]:
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) or not entry["key"]:
            continue
        key = entry["key"][:MAX_SESSION_KEY_LENGTH]
        parts = key.split(":")
        agent_key = str(entry.get("agentId") or (parts[1] if len(parts) > 2 and parts[0] == "agent" else ""))
        label = entry.get("label") or entry.get("derivedTitle") or entry.get("displayName") or ""
        rows[key] = GatewaySession(
            gateway_id=gateway_id,
            key=key,
            agent_key=agent_key[:100],
            label=str(label)[:200],
            updated_at=_session_time(entry.get("updatedAt")),
            seen_at=now,
        )
    with transaction.atomic():
        gateway = Gateway.objects.filter(pk=gateway_id).first()
        if gateway is None:
            return 0
        before = set(GatewaySession.objects.filter(gateway=gateway).values_list("key", flat=True))
        GatewaySession.objects.filter(gateway_id=gateway_id).exclude(key__in=list(rows)).delete()
        GatewaySession.objects.bulk_create(
            rows.values(),
            update_conflicts=True,
            unique_fields=["gateway", "key"],
            update_fields=["agent_key", "label", "updated_at", "seen_at"],
        )
        added, removed = sorted(set(rows) - before), sorted(before - set(rows))
        if added or removed:
            # Only when sessions come or go (not on every run's update): the agent pages
            # refresh on it, and the feed says which sessions started or went.
            record_activity(
                organization=gateway.organization_id,
                verb="gateway.sessions_changed",
                actor=gateway_actor(gateway),
                target_type="gateway",
                target_id=gateway.pk,
                detail=_detail(gateway, added=added[:10], removed=removed[:10], count=len(rows)),
            )
    return len(rows)


def task_work_message(task: Any) -> str:
    """What "Work on this" tells a gateway agent about a task."""
    lines = [f"Work on task #{task.pk}: {task.title}"]
    if getattr(task, "description", ""):
        lines += ["", task.description]
    return "\n".join(lines)[:MAX_MESSAGE_LENGTH]


# --- exec approvals -------------------------------------------------------------------------------

APPROVAL_DECISIONS = ("allow-once", "deny")


def _approval_detail(approval: GatewayApproval, **extra: Any) -> dict[str, Any]:
    return _detail(
        approval.gateway,
        approval_id=approval.pk,
        agent_key=approval.agent_key,
        command=approval.command[:300],
        **extra,
    )


def _approval_command(request_payload: dict[str, Any]) -> str:
    inner = request_payload.get("request") if isinstance(request_payload.get("request"), dict) else {}
    for source in (request_payload, inner):
        for key in ("command", "rawCommand", "commandText"):
            if isinstance(source.get(key), str) and source[key]:
                return source[key]
        argv = source.get("argv")
        if isinstance(argv, list) and argv:
            return " ".join(str(part) for part in argv)
    return ""


def record_approval_requested(*, gateway_id: int, payload: dict[str, Any]) -> GatewayApproval | None:
    """`exec.approval.requested`: keep the request (once, however often the gateway replays it)
    and tell the organization (`gateway.approval_requested`)."""
    approval_id = payload.get("id")
    if not isinstance(approval_id, str) or not approval_id:
        return None
    inner = payload.get("request") if isinstance(payload.get("request"), dict) else {}
    expires = payload.get("expiresAtMs")
    with transaction.atomic():
        gateway = Gateway.objects.filter(pk=gateway_id).first()
        if gateway is None:
            return None
        approval, created = GatewayApproval.objects.get_or_create(
            gateway=gateway,
            approval_id=approval_id[:200],
            defaults={
                "agent_key": str(inner.get("agentId") or payload.get("agentId") or "")[:100],
                "session_key": str(inner.get("sessionKey") or payload.get("sessionKey") or "")[:200],
                "command": _approval_command(payload)[:5000],
                "request": payload,
                "expires_at": (
                    datetime.fromtimestamp(expires / 1000, tz=UTC)
                    if isinstance(expires, int | float)
                    else None
                ),
            },
        )
        if created:
            record_activity(
                organization=gateway.organization_id,
                verb="gateway.approval_requested",
                actor=gateway_actor(gateway),
                target_type="gateway",
                target_id=gateway.pk,
                detail=_approval_detail(approval),
            )
    return approval


def record_approval_resolved(*, gateway_id: int, payload: dict[str, Any]) -> None:
    """`exec.approval.resolved`: the gateway's final word (our answer, another client's, or the
    timeout) settles the row."""
    approval_id = payload.get("id")
    if not isinstance(approval_id, str):
        return
    decision = str(payload.get("decision") or "")
    state = (
        ApprovalState.APPROVED
        if decision.startswith("allow")
        else ApprovalState.DENIED
        if decision == "deny"
        else ApprovalState.EXPIRED
    )
    GatewayApproval.objects.filter(
        gateway_id=gateway_id,
        approval_id=approval_id,
        state__in=[ApprovalState.PENDING, ApprovalState.ANSWERING],
    ).update(state=state, decision=decision[:20] or "expired")


@transaction.atomic
def answer_approval(*, actor: Actor, approval: GatewayApproval, decision: str) -> GatewayCommand:
    """An operator allows the command once, or denies it; the supervisor resolves it on the
    gateway. The first answer wins: a second one (another person, a double click) gets 409."""
    gateway = approval.gateway
    authorize(actor, organization=gateway.organization_id, role=Role.OPERATOR, allow_agent=False)
    if decision not in APPROVAL_DECISIONS:
        raise DomainError(f"Answer with one of: {', '.join(APPROVAL_DECISIONS)}.", code="invalid_decision")
    now = timezone.now()
    won = GatewayApproval.objects.filter(pk=approval.pk, state=ApprovalState.PENDING).update(
        state=ApprovalState.ANSWERING, decision=decision, decided_by=actor.user, decided_at=now
    )
    if not won:
        raise Conflict("This approval was already answered or has expired.", code="approval_closed")
    approval.refresh_from_db()
    command, _created = _queue_command(
        actor=actor,
        gateway=gateway,
        method="exec.approval.resolve",
        params={"id": approval.approval_id, "decision": decision},
        idempotency_key=f"approval-{approval.pk}",
    )
    record_activity(
        organization=gateway.organization_id,
        verb="gateway.approval_answered",
        actor=actor,
        target_type="gateway",
        target_id=gateway.pk,
        detail=_approval_detail(approval, decision=decision),
    )
    return command
