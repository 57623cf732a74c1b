"""Writes for agents: lifecycle, tokens, claims and presence. Each records an activity event.

`actor` is a boards.activity.Actor. A user actor must be an admin of the agent's organization
(boards.access.require_role) unless it is a superuser working in Django admin; a system actor
(management commands, Celery) is trusted by its caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from activity.services import record_activity
from agents import gates
from agents import presence as presence_rules
from agents.models import Agent, AgentStatus, AgentToken
from agents.tokens import new_token, token_digest
from boards.models import Board, Task, TaskStatus
from core.access import require_role
from core.actors import Actor
from core.generations import bump_agents_generation
from core.models import Organization, Role
from infra import realtime
from infra.exceptions import Conflict, DomainError, NotFound
from infra.outbound_guard import UnsafeTarget, check_url_at_save

MAX_TOKENS_PER_AGENT = 20  # usable (not revoked, not expired) tokens at once
MAX_GRACE_SECONDS = 7 * 24 * 3600
MAX_CAPABILITIES = 20
MAX_CAPABILITY_LENGTH = 40
MAX_STATUS_TEXT = 200

_UNSET: Any = object()


def _authorize(actor: Actor, organization: Organization | int) -> None:
    user = actor.user
    if user is None:
        return
    if getattr(user, "is_superuser", False):
        return
    require_role(user=user, organization=organization, role=Role.ADMIN)


def _clean_capabilities(capabilities: Iterable[str]) -> list[str]:
    if isinstance(capabilities, str):
        raise DomainError("Capabilities must be a list of tags.", code="invalid")
    cleaned: list[str] = []
    for item in capabilities:
        if not isinstance(item, str) or not item.strip():
            raise DomainError("Each capability must be a non-empty text tag.", code="invalid")
        tag = item.strip()
        if len(tag) > MAX_CAPABILITY_LENGTH:
            raise DomainError(f"A capability is at most {MAX_CAPABILITY_LENGTH} characters.", code="invalid")
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_CAPABILITIES:
        raise DomainError(f"An agent has at most {MAX_CAPABILITIES} capabilities.", code="invalid")
    return cleaned


def clean_callback_url(url: str) -> str:
    """An http(s) URL the outbound guard accepts, the same guard every push runs before sending
    (infra.outbound_guard): a loopback, private, link-local or metadata address, also
    inside IPv6 (mapped, 6to4, NAT64), is refused when saved instead of failing every send."""
    url = (url or "").strip()
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            raise DomainError("The callback URL must be an http(s) URL.", code="invalid") from None
        try:
            # A name that does not resolve yet is accepted: the send-time check still runs.
            check_url_at_save(url, allow_unresolvable=True)
        except UnsafeTarget as exc:
            raise DomainError(f"The callback URL is refused: {exc}", code="unsafe_target") from None
    return url


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError("An agent needs a name.", code="invalid")
    if len(name) > Agent._meta.get_field("name").max_length:
        raise DomainError("The name is too long.", code="invalid")
    return name


def _boards_of(organization_id: int, boards: Iterable[Board | int]) -> list[Board]:
    ids = {board if isinstance(board, int) else board.pk for board in boards}
    found = list(Board.objects.filter(organization_id=organization_id, pk__in=ids))
    if len(found) != len(ids):
        # A board of another organization is reported like a missing one: ids cannot be probed.
        raise NotFound("Board not found.")
    return found


def _agent_detail(agent: Agent) -> dict[str, Any]:
    return {"agent_id": agent.pk, "name": agent.name, "status": agent.status}


@transaction.atomic
def create_agent(
    *,
    organization: Organization,
    actor: Actor,
    name: str,
    description: str = "",
    boards: Iterable[Board | int] = (),
    is_board_lead: bool = False,
    callback_url: str = "",
    capabilities: Iterable[str] = (),
) -> Agent:
    _authorize(actor, organization)
    name = _clean_name(name)
    board_list = _boards_of(organization.pk, boards)
    if Agent.objects.filter(organization=organization, name=name).exists():
        raise Conflict("An agent with this name already exists.", code="duplicate_name")
    try:
        with transaction.atomic():
            agent = Agent.objects.create(
                organization=organization,
                name=name,
                description=description or "",
                is_board_lead=is_board_lead,
                callback_url=clean_callback_url(callback_url),
                capabilities=_clean_capabilities(capabilities),
                created_by=actor.user,
            )
    except IntegrityError:  # a concurrent create with the same name won the unique constraint
        raise Conflict("An agent with this name already exists.", code="duplicate_name") from None
    agent.boards.set(board_list)
    bump_agents_generation(organization.pk)
    record_activity(
        organization=organization,
        verb="agent.created",
        actor=actor,
        target=agent,
        detail={**_agent_detail(agent), "board_ids": sorted(b.pk for b in board_list)},
    )
    return agent


@transaction.atomic
def update_agent(
    *,
    agent: Agent,
    actor: Actor,
    name: str = _UNSET,
    description: str = _UNSET,
    boards: Iterable[Board | int] = _UNSET,
    is_board_lead: bool = _UNSET,
    callback_url: str = _UNSET,
    capabilities: Iterable[str] = _UNSET,
) -> Agent:
    """Change only the fields passed; the event lists which ones changed."""
    _authorize(actor, agent.organization_id)
    changed: list[str] = []
    if name is not _UNSET:
        name = _clean_name(name)
        if name != agent.name:
            if (
                Agent.objects.filter(organization_id=agent.organization_id, name=name)
                .exclude(pk=agent.pk)
                .exists()
            ):
                raise Conflict("An agent with this name already exists.", code="duplicate_name")
            agent.name = name
            changed.append("name")
    if description is not _UNSET and description != agent.description:
        agent.description = description or ""
        changed.append("description")
    if is_board_lead is not _UNSET and bool(is_board_lead) != agent.is_board_lead:
        agent.is_board_lead = bool(is_board_lead)
        changed.append("is_board_lead")
    if callback_url is not _UNSET:
        url = clean_callback_url(callback_url)
        if url != agent.callback_url:
            agent.callback_url = url
            changed.append("callback_url")
    if capabilities is not _UNSET:
        tags = _clean_capabilities(capabilities)
        if tags != agent.capabilities:
            agent.capabilities = tags
            changed.append("capabilities")
    if changed:
        try:
            with transaction.atomic():
                agent.save(update_fields=changed)
        except IntegrityError:
            raise Conflict("An agent with this name already exists.", code="duplicate_name") from None
    if boards is not _UNSET:
        board_list = _boards_of(agent.organization_id, boards)
        if {b.pk for b in board_list} != set(agent.boards.values_list("pk", flat=True)):
            agent.boards.set(board_list)
            changed.append("boards")
    if changed:
        bump_agents_generation(agent.organization_id)
        record_activity(
            organization=agent.organization_id,
            verb="agent.updated",
            actor=actor,
            target=agent,
            detail={**_agent_detail(agent), "changed": changed},
        )
    return agent


def _close_streams_on_commit(*, agent_id: int, reason: str, token_id: int | None = None) -> None:
    """Open streams of what was just revoked end when the change commits, not at their next recheck."""
    transaction.on_commit(
        lambda: realtime.close_agent_streams(agent_id=agent_id, reason=reason, token_id=token_id)
    )


def _set_status(*, agent: Agent, actor: Actor, status: str, verb: str) -> Agent:
    _authorize(actor, agent.organization_id)
    # Conditional update: two admins suspending at once record one event, not two.
    updated = Agent.objects.filter(pk=agent.pk).exclude(status=status).update(status=status)
    agent.status = status
    if updated and status == AgentStatus.SUSPENDED:
        _close_streams_on_commit(agent_id=agent.pk, reason=realtime.AGENT_SUSPENDED)
    if updated:
        bump_agents_generation(agent.organization_id)
        record_activity(
            organization=agent.organization_id,
            verb=verb,
            actor=actor,
            target=agent,
            detail=_agent_detail(agent),
        )
    return agent


@transaction.atomic
def suspend_agent(*, agent: Agent, actor: Actor) -> Agent:
    """Blocks every token of the agent at once: authentication checks the agent's status."""
    return _set_status(agent=agent, actor=actor, status=AgentStatus.SUSPENDED, verb="agent.suspended")


@transaction.atomic
def resume_agent(*, agent: Agent, actor: Actor) -> Agent:
    return _set_status(agent=agent, actor=actor, status=AgentStatus.ACTIVE, verb="agent.resumed")


@transaction.atomic
def delete_agent(*, agent: Agent, actor: Actor) -> None:
    _authorize(actor, agent.organization_id)
    bump_agents_generation(agent.organization_id)
    record_activity(
        organization=agent.organization_id,
        verb="agent.deleted",
        actor=actor,
        target_type="agent",
        target_id=agent.pk,
        detail=_agent_detail(agent),
    )
    _close_streams_on_commit(agent_id=agent.pk, reason=realtime.AGENT_DELETED)
    agent.delete()


# --- tokens ----------------------------------------------------------------------------------------


def _token_detail(token: AgentToken) -> dict[str, Any]:
    # Never the token, its public id or its digest: the row id and name identify it.
    return {
        "agent_id": token.agent_id,
        "token_id": token.pk,
        "token_name": token.name,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }


def _clean_token_name(name: str) -> str:
    name = (name or "").strip() or "default"
    if len(name) > AgentToken._meta.get_field("name").max_length:
        raise DomainError("The token name is too long.", code="invalid")
    return name


def _create_token(
    *, agent: Agent, actor: Actor, name: str, expires_at: datetime | None
) -> tuple[AgentToken, str]:
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise DomainError("The expiry must be in the future.", code="invalid")
    usable = AgentToken.objects.filter(agent=agent, revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    if usable.count() >= MAX_TOKENS_PER_AGENT:
        raise Conflict(
            f"An agent has at most {MAX_TOKENS_PER_AGENT} usable tokens; revoke one first.",
            code="too_many_tokens",
        )
    public_id, raw = new_token()
    token = AgentToken.objects.create(
        agent=agent,
        name=_clean_token_name(name),
        public_id=public_id,
        digest=token_digest(raw),
        expires_at=expires_at,
        created_by=actor.user,
    )
    return token, raw


@transaction.atomic
def issue_agent_token(
    *, agent: Agent, actor: Actor, name: str = "default", expires_at: datetime | None = None
) -> tuple[AgentToken, str]:
    """A new token; the raw value is returned here once and exists nowhere else."""
    _authorize(actor, agent.organization_id)
    # Serialises concurrent issues for one agent so the per-agent cap holds.
    Agent.objects.select_for_update().filter(pk=agent.pk).first()
    token, raw = _create_token(agent=agent, actor=actor, name=name, expires_at=expires_at)
    record_activity(
        organization=agent.organization_id,
        verb="agent.token_issued",
        actor=actor,
        target=agent,
        detail=_token_detail(token),
    )
    return token, raw


@transaction.atomic
def rotate_agent_token(*, token: AgentToken, actor: Actor, grace_seconds: int = 0) -> tuple[AgentToken, str]:
    """A new token with the same name; the old one keeps working for `grace_seconds` (0: stops now)."""
    agent = token.agent
    _authorize(actor, agent.organization_id)
    if (
        not isinstance(grace_seconds, int)
        or isinstance(grace_seconds, bool)
        or not (0 <= grace_seconds <= MAX_GRACE_SECONDS)
    ):
        raise DomainError(f"The grace period is between 0 and {MAX_GRACE_SECONDS} seconds.", code="invalid")
    # Locks the old row: two admins rotating the same token at once get one new token, not two.
    old = AgentToken.objects.select_for_update().get(pk=token.pk)
    now = timezone.now()
    if old.revoked_at is not None or (old.expires_at is not None and old.expires_at <= now):
        raise Conflict("This token is already revoked or expired.", code="token_inactive")
    if grace_seconds == 0:
        old.revoked_at = now
        old.save(update_fields=["revoked_at"])
        _close_streams_on_commit(agent_id=agent.pk, reason=realtime.TOKEN_REVOKED, token_id=old.pk)
    else:
        grace_end = now + timedelta(seconds=grace_seconds)
        old.expires_at = min(old.expires_at, grace_end) if old.expires_at else grace_end
        old.save(update_fields=["expires_at"])
    new, raw = _create_token(agent=agent, actor=actor, name=old.name, expires_at=None)
    record_activity(
        organization=agent.organization_id,
        verb="agent.token_rotated",
        actor=actor,
        target=agent,
        detail={
            **_token_detail(new),
            "previous_token_id": old.pk,
            "grace_seconds": grace_seconds,
            "previous_expires_at": old.expires_at.isoformat() if old.expires_at else None,
        },
    )
    token.revoked_at, token.expires_at = old.revoked_at, old.expires_at
    return new, raw


@transaction.atomic
def revoke_agent_token(*, token: AgentToken, actor: Actor) -> AgentToken:
    """Effective at once: the next authentication reads revoked_at from the same row, and the
    token's open streams are closed on commit."""
    _authorize(actor, token.agent.organization_id)
    now = timezone.now()
    updated = AgentToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    token.refresh_from_db(fields=["revoked_at"])
    if updated:
        _close_streams_on_commit(agent_id=token.agent_id, reason=realtime.TOKEN_REVOKED, token_id=token.pk)
        record_activity(
            organization=token.agent.organization_id,
            verb="agent.token_revoked",
            actor=actor,
            target=token.agent,
            detail=_token_detail(token),
        )
    return token


# --- work ------------------------------------------------------------------------------------------


def _require_task_on_agent_boards(*, task: Task, agent: Agent) -> None:
    on_board = agent.boards.filter(pk=task.board_id, organization_id=agent.organization_id).exists()
    if not on_board:
        raise NotFound("Task not found.")


@transaction.atomic
def claim_task(*, task: Task, agent: Agent) -> Task:
    """Assign an unassigned task to the agent. Exactly one of concurrent claimers wins.
    (Agents claim through agent_api.services.claim_and_start_task, which then starts the task.)

    The conditional UPDATE is the lock: the database applies it to the row once, so a second
    claimer's UPDATE matches no row (assignee already set) and gets a Conflict (409).
    """
    if agent.status != AgentStatus.ACTIVE:
        raise Conflict("A suspended agent cannot claim tasks.", code="agent_suspended")
    _require_task_on_agent_boards(task=task, agent=agent)
    gates.check_work_allowed(agent)
    if Board.objects.filter(pk=task.board_id, archived=True).exists():
        raise Conflict("This board is archived.", code="board_archived")
    now = timezone.now()
    claimed = (
        Task.objects.filter(pk=task.pk, assignee_agent__isnull=True, assignee_user__isnull=True)
        .exclude(status=TaskStatus.DONE)
        .update(assignee_agent=agent, updated_at=now)
    )
    if not claimed:
        current = Task.objects.filter(pk=task.pk).values("assignee_agent_id", "status").first()
        if current is None:
            raise NotFound("Task not found.")
        if current["assignee_agent_id"] == agent.pk:
            task.refresh_from_db()
            return task  # claiming one's own task again is a no-op, not a conflict
        if current["status"] == TaskStatus.DONE:
            raise Conflict("This task is done.", code="task_done")
        raise Conflict("This task is already claimed.", code="already_claimed")
    task.refresh_from_db()
    record_activity(
        organization=agent.organization_id,
        board=task.board_id,
        verb="task.claimed",
        actor=Actor.for_agent(agent),
        target=task,
        detail={"task_id": task.pk, "title": task.title, "agent_id": agent.pk},
    )
    return task


# --- presence --------------------------------------------------------------------------------------


def _record_presence_change(*, agent: Agent, new: str, now: datetime) -> bool:
    """Store and log a presence transition once, even when several processes notice it."""
    old = agent.presence
    if old == new:
        return False
    changed = Agent.objects.filter(pk=agent.pk, presence=old).update(presence=new)
    agent.presence = new
    if not changed:
        return False
    record_activity(
        organization=agent.organization_id,
        verb="agent.presence_changed",
        actor=Actor.system(),
        target_type="agent",
        target_id=agent.pk,
        detail={
            "agent_id": agent.pk,
            "name": agent.name,
            "presence": new,
            "previous": old,
            "last_seen_at": agent.last_seen_at.isoformat() if agent.last_seen_at else None,
        },
    )
    return True


def _record_first_use(*, agent: Agent, token: AgentToken, now: datetime) -> None:
    """The token's first call: an event, so that a page waiting for the agent to connect (the MCP
    "connect your agent" page) turns green at once. The conditional UPDATE makes it one event even
    when several processes see the first calls at the same moment."""
    first = AgentToken.objects.filter(pk=token.pk, last_used_at__isnull=True).update(last_used_at=now)
    token.last_used_at = now
    if not first:
        return
    record_activity(
        organization=agent.organization_id,
        verb="agent.token_first_used",
        actor=Actor.for_agent(agent),
        target_type="agent",
        target_id=agent.pk,
        detail={"agent_id": agent.pk, "name": agent.name, "token_id": token.pk, "token_name": token.name},
    )


def record_agent_seen(*, agent: Agent, token: AgentToken | None = None, now: datetime | None = None) -> bool:
    """Note that the agent (and token) was just active; True if this call wrote.

    Writes at most once per AGENT_SEEN_WRITE_INTERVAL_SECONDS per agent: the in-memory check
    spares every query on the hot path (no transaction either), and the conditional UPDATE keeps
    concurrent processes to one write.
    """
    now = now or timezone.now()
    threshold = now - timedelta(seconds=settings.AGENT_SEEN_WRITE_INTERVAL_SECONDS)
    token_stale = token is not None and (token.last_used_at is None or token.last_used_at <= threshold)
    agent_stale = agent.last_seen_at is None or agent.last_seen_at <= threshold
    if not token_stale and not agent_stale:
        return False
    with transaction.atomic():
        if token_stale and token.last_used_at is None:
            _record_first_use(agent=agent, token=token, now=now)
        elif token_stale:
            AgentToken.objects.filter(pk=token.pk).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lte=threshold)
            ).update(last_used_at=now)
            token.last_used_at = now
        if not agent_stale:
            return False
        wrote = (
            Agent.objects.filter(pk=agent.pk)
            .filter(Q(last_seen_at__isnull=True) | Q(last_seen_at__lte=threshold))
            .update(last_seen_at=now)
        )
        agent.last_seen_at = now
        if wrote and agent.presence != presence_rules.ONLINE:
            _record_presence_change(agent=agent, new=presence_rules.ONLINE, now=now)
    return bool(wrote)


@transaction.atomic
def record_heartbeat(*, agent: Agent, status_text: str = "", current_task: Task | None = None) -> Agent:
    """An explicit sign of life with an optional status line and current task."""
    status_text = (status_text or "").strip()
    if len(status_text) > MAX_STATUS_TEXT:
        raise DomainError(f"The status text is at most {MAX_STATUS_TEXT} characters.", code="invalid")
    if current_task is not None:
        _require_task_on_agent_boards(task=current_task, agent=agent)
    current_task_id = current_task.pk if current_task is not None else None
    if status_text != agent.status_text or current_task_id != agent.current_task_id:
        agent.status_text = status_text
        agent.current_task = current_task
        agent.save(update_fields=["status_text", "current_task"])
        record_activity(
            organization=agent.organization_id,
            verb="agent.status_changed",
            actor=Actor.for_agent(agent),
            target=agent,
            board=current_task.board_id if current_task is not None else None,
            detail={
                "agent_id": agent.pk,
                "name": agent.name,
                "status_text": status_text,
                "current_task_id": current_task_id,
            },
        )
    record_agent_seen(agent=agent)
    return agent


def record_presence_transitions(*, now: datetime | None = None) -> int:
    """Find agents whose presence moved (online → idle → offline, or back) and log each once.

    One query finds the stale rows (the presence rule as SQL); each transition is its own
    short transaction so a long sweep never holds locks.
    """
    now = now or timezone.now()
    stale = (
        Agent.objects.annotate(computed_presence=presence_rules.presence_expression(now))
        .exclude(computed_presence=F("presence"))
        .only("pk", "organization_id", "name", "presence", "last_seen_at")
        .order_by("pk")
    )
    count = 0
    for agent in stale.iterator(chunk_size=500):
        with transaction.atomic():
            if _record_presence_change(agent=agent, new=agent.computed_presence, now=now):
                count += 1
    return count
