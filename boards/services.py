"""Every write to boards, tasks, comments, tags and approvals; each records one activity event.

Who may call what:
- users: viewer reads (nothing here), operator edits work (tasks, comments, tags, approvals),
  admin manages boards (create, update, archive);
- agents: must be active, of the board's organization and on the board (``agent.boards``),
  otherwise NotFound; they may work on tasks and comment, never manage boards or decide approvals;
- webhooks and the system: trusted, their caller has already authorised the request.

Status rules (``move_task``): the flow is inbox -> in_progress -> review -> done. A task may step
back one stage (in_progress -> inbox, review -> in_progress), move to ``blocked`` from any open
status and leave ``blocked`` to any open status. ``done`` is reached only from review, and a done
task may be reopened to in_progress. A task cannot start (in_progress, review or done) while one
of its dependencies is not done.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Model
from django.utils import timezone
from django.utils.text import slugify

from activity.models import ActivityEvent
from activity.services import record_activity, update_and_record
from boards import conversation
from boards.models import (
    Approval,
    ApprovalStatus,
    Board,
    BoardGroup,
    Tag,
    Task,
    TaskDependency,
    TaskPriority,
    TaskStatus,
)
from core.access import authorize, membership_for
from core.actors import Actor, ActorKind
from core.models import Organization, Role
from infra.exceptions import Conflict, DomainError, InvalidTransition, NotFound, PermissionDenied

OPEN_STATUSES = (TaskStatus.INBOX, TaskStatus.IN_PROGRESS, TaskStatus.REVIEW)
# Statuses that mean work has started: dependencies must all be done first.
STARTED_STATUSES = (TaskStatus.IN_PROGRESS, TaskStatus.REVIEW, TaskStatus.DONE)
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    TaskStatus.INBOX: frozenset({TaskStatus.IN_PROGRESS, TaskStatus.BLOCKED}),
    TaskStatus.IN_PROGRESS: frozenset({TaskStatus.INBOX, TaskStatus.REVIEW, TaskStatus.BLOCKED}),
    TaskStatus.REVIEW: frozenset({TaskStatus.IN_PROGRESS, TaskStatus.DONE, TaskStatus.BLOCKED}),
    TaskStatus.BLOCKED: frozenset(OPEN_STATUSES),
    TaskStatus.DONE: frozenset({TaskStatus.IN_PROGRESS}),
}
POSITION_STEP = 1024.0
TAG_MAX_LENGTH = 40
TAGS_PER_TASK_MAX = 20
BOARD_UPDATABLE_FIELDS = frozenset(
    {
        "name",
        "description",
        "group",
        "require_approval_for_done",
        "require_comment_for_review",
        "agents_can_create_tasks",
        "send_work_to_gateway_agents",
    }
)
TASK_UPDATABLE_FIELDS = frozenset(
    {
        "title",
        "description",
        "priority",
        "due_date",
        "tag_names",
        "progress_note",
        "assignee_agent",
        "assignee_user",
    }
)


# --- authorisation --------------------------------------------------------------------------------


def _notify(task: Task, *extra: int | None) -> list[int]:
    ids = [task.assignee_agent_id, *extra]
    return list(dict.fromkeys(i for i in ids if i))


def _require_agent_holds(task: Task, actor: Actor) -> None:
    """An agent changes a task it holds (assignee) or filed itself; a board lead changes any."""
    if actor.kind != ActorKind.AGENT:
        return
    agent = actor.agent
    if agent.pk not in (task.assignee_agent_id, task.created_by_agent_id) and not agent.is_board_lead:
        raise PermissionDenied("Claim the task before changing it.")


def _require_writable(board: Board) -> None:
    if board.archived:
        raise Conflict("This board is archived; unarchive it to change its work.", code="board_archived")


def _task_summary(task: Task) -> dict[str, Any]:
    return {"task_id": task.pk, "title": task.title, "status": task.status}


# --- boards ---------------------------------------------------------------------------------------


def _unique_slug(organization: Organization, base: str, *, exclude_pk: int | None = None) -> str:
    base = (slugify(base) or "board")[:52]
    taken = set(
        Board.objects.filter(organization=organization, slug__startswith=base)
        .exclude(pk=exclude_pk)
        .values_list("slug", flat=True)
    )
    if base not in taken:
        return base
    for n in range(2, 10_000):
        candidate = f"{base}-{n}"
        if candidate not in taken:
            return candidate
    raise Conflict("Could not find a free slug for this board; pick one.", code="slug_taken")


def _check_group(organization_id: int, group: BoardGroup | None) -> None:
    if group is not None and group.organization_id != organization_id:
        raise NotFound("Board group not found.")


@transaction.atomic
def create_board(
    *,
    organization: Organization,
    actor: Actor,
    name: str,
    description: str = "",
    slug: str | None = None,
    group: BoardGroup | None = None,
    require_approval_for_done: bool = False,
    require_comment_for_review: bool = False,
    agents_can_create_tasks: bool | None = None,
    send_work_to_gateway_agents: bool = False,
) -> Board:
    authorize(actor, organization=organization, role=Role.ADMIN, allow_agent=False)
    name = (name or "").strip()
    if not name:
        raise DomainError("A board needs a name.", code="name_required")
    _check_group(organization.pk, group)
    if slug:
        slug = slugify(slug)[:60]
        if not slug:
            raise DomainError("The slug must contain letters or digits.", code="invalid_slug")
        if Board.objects.filter(organization=organization, slug=slug).exists():
            raise Conflict(f"A board with the slug “{slug}” already exists.", code="slug_taken")
    else:
        slug = _unique_slug(organization, name)
    try:
        with transaction.atomic():
            board = Board.objects.create(
                organization=organization,
                name=name[:120],
                slug=slug,
                description=description or "",
                group=group,
                require_approval_for_done=require_approval_for_done,
                require_comment_for_review=require_comment_for_review,
                send_work_to_gateway_agents=bool(send_work_to_gateway_agents),
                created_by=actor.user,
                # None keeps the model's default, so callers need not know it.
                **(
                    {}
                    if agents_can_create_tasks is None
                    else {"agents_can_create_tasks": agents_can_create_tasks}
                ),
            )
    except IntegrityError as exc:  # a concurrent create took the slug between check and insert
        raise Conflict(f"A board with the slug “{slug}” already exists.", code="slug_taken") from exc
    record_activity(
        organization=organization,
        board=board,
        verb="board.created",
        actor=actor,
        target=board,
        detail={"name": board.name, "slug": board.slug},
    )
    return board


@transaction.atomic
def update_board(*, board: Board, actor: Actor, **fields: Any) -> Board:
    authorize(actor, organization=board, role=Role.ADMIN, allow_agent=False)
    unknown = set(fields) - BOARD_UPDATABLE_FIELDS
    if unknown:
        raise DomainError(f"These board fields cannot be changed here: {', '.join(sorted(unknown))}.")
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()[:120]
        if not fields["name"]:
            raise DomainError("A board needs a name.", code="name_required")
    if "group" in fields:
        _check_group(board.organization_id, fields["group"])
    update_and_record(
        board,
        changes=fields,
        actor=actor,
        verb="board.updated",
        organization=board.organization_id,
        board=board,
    )
    return board


@transaction.atomic
def archive_board(*, board: Board, actor: Actor) -> Board:
    authorize(actor, organization=board, role=Role.ADMIN, allow_agent=False)
    if not board.archived:
        board.archived = True
        board.save(update_fields=["archived", "updated_at"])
        record_activity(
            organization=board.organization_id,
            board=board,
            verb="board.archived",
            actor=actor,
            target=board,
            detail={"name": board.name},
        )
    return board


# --- tags -----------------------------------------------------------------------------------------


def _clean_tag_name(name: str) -> str:
    cleaned = " ".join(str(name).split())
    if not cleaned:
        raise DomainError("A tag needs a name.", code="invalid_tag")
    if len(cleaned) > TAG_MAX_LENGTH:
        raise DomainError(f"A tag name is at most {TAG_MAX_LENGTH} characters.", code="invalid_tag")
    return cleaned


def _tags_for(organization_id: int, tag_names: Iterable[str]) -> list[Tag]:
    names = list(dict.fromkeys(_clean_tag_name(n) for n in tag_names))
    if len(names) > TAGS_PER_TASK_MAX:
        raise DomainError(f"A task has at most {TAGS_PER_TASK_MAX} tags.", code="too_many_tags")
    found = Tag.objects.filter(organization_id=organization_id, name__in=names)
    existing = {t.name.lower(): t for t in found}
    tags = []
    for name in names:
        tag = existing.get(name.lower())
        if tag is None:
            tag, _ = Tag.objects.get_or_create(organization_id=organization_id, name=name)
        tags.append(tag)
    return tags


@transaction.atomic
def create_tag(*, organization: Organization, actor: Actor, name: str, color: str = "#6b7280") -> Tag:
    authorize(actor, organization=organization, role=Role.OPERATOR)
    name = _clean_tag_name(name)
    if Tag.objects.filter(organization=organization, name=name).exists():
        raise Conflict(f"The tag “{name}” already exists.", code="tag_exists")
    tag = Tag.objects.create(organization=organization, name=name, color=color)
    record_activity(
        organization=organization, verb="tag.created", actor=actor, target=tag, detail={"name": tag.name}
    )
    return tag


@transaction.atomic
def update_tag(*, tag: Tag, actor: Actor, name: str | None = None, color: str | None = None) -> Tag:
    authorize(actor, organization=tag.organization_id, role=Role.OPERATOR)
    changed = []
    if name is not None:
        name = _clean_tag_name(name)
        if name != tag.name:
            if Tag.objects.filter(organization_id=tag.organization_id, name=name).exclude(pk=tag.pk).exists():
                raise Conflict(f"The tag “{name}” already exists.", code="tag_exists")
            tag.name = name
            changed.append("name")
    if color is not None and color != tag.color:
        tag.color = color
        changed.append("color")
    if changed:
        tag.save(update_fields=changed)
        record_activity(
            organization=tag.organization_id,
            verb="tag.updated",
            actor=actor,
            target=tag,
            detail={"fields": changed, "name": tag.name},
        )
    return tag


@transaction.atomic
def delete_tag(*, tag: Tag, actor: Actor) -> None:
    authorize(actor, organization=tag.organization_id, role=Role.OPERATOR)
    record_activity(
        organization=tag.organization_id,
        verb="tag.deleted",
        actor=actor,
        target_type="tag",
        target_id=tag.pk,
        detail={"name": tag.name},
    )
    tag.delete()


# --- tasks ----------------------------------------------------------------------------------------


def _check_assignees(board: Board, agent: Model | None, user) -> None:
    if agent is not None and user is not None:
        raise DomainError("A task is assigned to an agent or to a user, not both.", code="single_assignee")
    if agent is not None and (agent.organization_id != board.organization_id):
        raise NotFound("Agent not found.")
    if agent is not None and not agent.is_active:
        raise DomainError("This agent is suspended and cannot be assigned work.", code="agent_suspended")
    if user is not None and membership_for(user, board.organization_id) is None:
        raise NotFound("User not found.")


def _check_priority(priority: str) -> None:
    if priority not in TaskPriority.values:
        raise DomainError(f"Unknown priority “{priority}”.", code="invalid_priority")


def _clean_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise DomainError("A task needs a title.", code="title_required")
    if len(title) > 200:
        raise DomainError("A task title is at most 200 characters.", code="title_too_long")
    return title


def _end_of_column(board_id: int, status: str) -> float:
    top = Task.objects.filter(board_id=board_id, status=status).aggregate(m=Max("position"))["m"]
    return (top or 0.0) + POSITION_STEP


def _position_at(board_id: int, status: str, index: int, *, exclude_pk: int | None) -> float:
    """A position that puts the task at `index` (0-based) among the other tasks of the column."""
    positions = list(
        Task.objects.filter(board_id=board_id, status=status)
        .exclude(pk=exclude_pk)
        .order_by("position", "id")
        .values_list("position", flat=True)
    )
    index = max(0, min(int(index), len(positions)))
    if not positions:
        return POSITION_STEP
    if index == 0:
        return positions[0] - POSITION_STEP
    if index == len(positions):
        return positions[-1] + POSITION_STEP
    return (positions[index - 1] + positions[index]) / 2


@transaction.atomic
def create_task(
    *,
    board: Board,
    actor: Actor,
    title: str,
    description: str = "",
    priority: str = TaskPriority.MEDIUM,
    status: str = TaskStatus.INBOX,
    assignee_agent: Model | None = None,
    assignee_user=None,
    due_date: datetime.date | None = None,
    tag_names: Iterable[str] = (),
    depends_on: Iterable[Task] = (),
    external_id: str = "",
    external_url: str = "",
) -> Task:
    authorize(actor, organization=board, role=Role.OPERATOR, board=board)
    if actor.kind == ActorKind.AGENT and not board.agents_can_create_tasks:
        raise PermissionDenied("Agents cannot create tasks on this board.")
    _require_writable(board)
    title = _clean_title(title)
    _check_priority(priority)
    if status not in (TaskStatus.INBOX, TaskStatus.BLOCKED):
        # New work starts in the inbox (or blocked); moving it on goes through move_task's rules.
        raise InvalidTransition("A new task starts in inbox or blocked; move it afterwards.")
    _check_assignees(board, assignee_agent, assignee_user)
    dependencies = list(depends_on)
    for dependency in dependencies:
        if dependency.board_id != board.pk:
            raise DomainError("A dependency must be a task of the same board.", code="cross_board_dependency")
    tags = _tags_for(board.organization_id, tag_names)
    task = Task.objects.create(
        board=board,
        title=title,
        description=description or "",
        priority=priority,
        status=status,
        assignee_agent=assignee_agent,
        assignee_user=assignee_user,
        due_date=due_date,
        external_id=external_id[:200],
        external_url=external_url[:500],
        position=_end_of_column(board.pk, status),
        created_by_user=actor.user,
        created_by_agent=actor.agent,
    )
    if tags:
        task.tags.set(tags)
    if dependencies:
        TaskDependency.objects.bulk_create(TaskDependency(task=task, depends_on=d) for d in dependencies)
    record_activity(
        organization=board.organization_id,
        board=board,
        verb="task.created",
        actor=actor,
        target=task,
        detail={**_task_summary(task), "priority": task.priority},
        notify_agent_ids=_notify(task),
    )
    return task


def _clean_task_fields(fields: dict[str, Any]) -> None:
    """Check and normalise, in place, the task fields an update names."""
    if "title" in fields:
        fields["title"] = _clean_title(fields["title"])
    if "priority" in fields:
        _check_priority(fields["priority"])
    if "description" in fields:
        fields["description"] = fields["description"] or ""
    if "progress_note" in fields:
        fields["progress_note"] = (fields["progress_note"] or "")[:500]


def _keep_single_assignee(board: Board, task: Task, fields: dict[str, Any]) -> None:
    """Assigning one kind of assignee replaces the other: a task has a single assignee."""
    agent = fields.get("assignee_agent", task.assignee_agent)
    user = fields.get("assignee_user", task.assignee_user)
    if fields.get("assignee_agent") is not None and "assignee_user" not in fields:
        user = None
        fields["assignee_user"] = None
    if fields.get("assignee_user") is not None and "assignee_agent" not in fields:
        agent = None
        fields["assignee_agent"] = None
    _check_assignees(board, agent, user)


def _save_changed_fields(task: Task, fields: dict[str, Any]) -> list[str]:
    changed = [name for name, value in fields.items() if getattr(task, name) != value]
    for name in changed:
        setattr(task, name, fields[name])
    if changed:
        task.save(update_fields=[*changed, "updated_at"])
    return changed


def _replace_tags(task: Task, board: Board, tag_names: Iterable[str]) -> bool:
    """Set the task's tags to these names (created as needed); whether they changed."""
    tags = _tags_for(board.organization_id, tag_names)
    if {t.pk for t in tags} == set(task.tags.values_list("pk", flat=True)):
        return False
    task.tags.set(tags)
    return True


@transaction.atomic
def update_task(*, task: Task, actor: Actor, **fields: Any) -> Task:
    """Change a task's fields (not its status: that is move_task). The event lists what changed."""
    board = task.board
    authorize(actor, organization=board, role=Role.OPERATOR, board=board)
    _require_agent_holds(task, actor)
    _require_writable(board)
    if "status" in fields:
        raise DomainError("Change the status with a move, not an update.", code="use_move")
    unknown = set(fields) - TASK_UPDATABLE_FIELDS
    if unknown:
        raise DomainError(f"These task fields cannot be changed: {', '.join(sorted(unknown))}.")
    _clean_task_fields(fields)
    previous_agent_id = task.assignee_agent_id
    if "assignee_agent" in fields or "assignee_user" in fields:
        _keep_single_assignee(board, task, fields)
    tag_names = fields.pop("tag_names", None)
    changed = _save_changed_fields(task, fields)
    if tag_names is not None and _replace_tags(task, board, tag_names):
        changed.append("tags")
    if changed:
        record_activity(
            organization=board.organization_id,
            board=board,
            verb="task.updated",
            actor=actor,
            target=task,
            detail={**_task_summary(task), "fields": changed},
            notify_agent_ids=_notify(task, previous_agent_id),
        )
    return task


@transaction.atomic
def delete_task(*, task: Task, actor: Actor) -> None:
    """Remove a task for good; the event keeps its id and title for the feed and the audit trail."""
    board = task.board
    authorize(actor, organization=board, role=Role.OPERATOR, board=board)
    _require_writable(board)
    record_activity(
        organization=board.organization_id,
        board=board,
        verb="task.deleted",
        actor=actor,
        target_type="task",
        target_id=task.pk,
        detail=_task_summary(task),
        notify_agent_ids=_notify(task),
    )
    task.delete()


def _comment_since_last_move(task: Task) -> bool:
    last_move = (
        ActivityEvent.objects.filter(
            board_id=task.board_id, target_type="task", target_id=str(task.pk), verb="task.status_changed"
        )
        .order_by("-id")
        .values_list("created_at", flat=True)
        .first()
    )
    comments = conversation.task_messages(task=task)
    if last_move is not None:
        comments = comments.filter(created_at__gte=last_move)
    return comments.exists()


def _open_dependencies(task: Task) -> list[Task]:
    return list(task.dependencies.exclude(status=TaskStatus.DONE).order_by("pk"))


def _require_allowed_move(task: Task, board: Board, previous: str, status: str, note: str) -> None:
    """The status rules of the module docstring: the flow, dependencies, the review comment."""
    if status not in ALLOWED_TRANSITIONS[previous]:
        raise InvalidTransition(
            f"A task cannot move from {TaskStatus(previous).label.lower()} to "
            f"{TaskStatus(status).label.lower()}."
            + (" It must pass through review first." if status == TaskStatus.DONE else "")
        )
    if status in STARTED_STATUSES:
        _require_dependencies_done(task)
    if (
        status == TaskStatus.REVIEW
        and board.require_comment_for_review
        and not note
        and not _comment_since_last_move(task)
    ):
        raise InvalidTransition(
            "This board requires a comment before review: add a note saying what was done.",
            code="comment_required",
        )


def _require_dependencies_done(task: Task) -> None:
    blockers = _open_dependencies(task)
    if blockers:
        names = ", ".join(f"#{b.pk} “{b.title}”" for b in blockers)
        raise InvalidTransition(
            f"This task depends on work that is not done yet: {names}.", code="dependency_open"
        )


def _place_in_column(task: Task, board: Board, status: str, position: int | None) -> None:
    """Put the task in the status's column, at `position` (None: the end), and save it."""
    task.position = (
        _end_of_column(board.pk, status)
        if position is None
        else _position_at(board.pk, status, position, exclude_pk=task.pk)
    )
    task.status = status
    task.save(update_fields=["status", "position", "updated_at"])


def _record_move(task: Task, board: Board, actor: Actor, *, previous: str, position: int | None) -> None:
    """A status change, or a reorder within the same column."""
    moved = task.status != previous
    change = {"from": previous, "to": task.status} if moved else {"position": position}
    record_activity(
        organization=board.organization_id,
        board=board,
        verb="task.status_changed" if moved else "task.reordered",
        actor=actor,
        target=task,
        detail={**_task_summary(task), **change},
        notify_agent_ids=_notify(task),
    )


@transaction.atomic
def move_task(*, task: Task, actor: Actor, status: str, position: int | None = None, note: str = "") -> Task:
    """Move a task to `status` at index `position` (0-based, None = end) of that column.

    On a board that requires approval, a move to done files a pending approval (or keeps the
    open one) and leaves the task in review; `task.approval_requested` then holds it.
    """
    board = task.board
    authorize(actor, organization=board, role=Role.OPERATOR, board=board)
    _require_agent_holds(task, actor)
    _require_writable(board)
    # Two moves of the same task at once would both read the old status and validate against it.
    task = Task.objects.select_for_update().select_related("board").get(pk=task.pk)
    task.approval_requested = None
    if status not in TaskStatus.values:
        raise DomainError(f"Unknown status “{status}”.", code="invalid_status")
    previous = task.status
    note = (note or "").strip()
    if status != previous:
        _require_allowed_move(task, board, previous, status, note)
    if note:
        _create_comment(task, actor, note)
    if status == TaskStatus.DONE and status != previous and board.require_approval_for_done:
        task.approval_requested = _request_approval(task, actor)
        return task
    if status == previous and position is None:
        return task
    _place_in_column(task, board, status, position)
    _record_move(task, board, actor, previous=previous, position=position)
    return task


@transaction.atomic
def sync_task_status(*, task: Task, actor: Actor, status: str) -> Task:
    """Set the status an outside system reports (an issue closed, reopened), without the board's
    workflow: GitHub does not ask for review, approval or finished dependencies before closing.

    For webhooks and the system only; people and agents move tasks with move_task.

    The one gate it keeps is the board's approval for done: an outside system closing an issue
    is a request to finish, not a decision. On such a board the task goes to review (where
    decide_approval can finish it) and the pending approval is filed (or the open one kept)
    exactly as move_task does; `task.approval_requested` then holds it so the caller can say so.
    """
    if actor.kind not in (ActorKind.WEBHOOK, ActorKind.SYSTEM):
        raise PermissionDenied("Only webhook rules set a task's status from outside.")
    if status not in TaskStatus.values:
        raise DomainError(f"Unknown status “{status}”.", code="invalid_status")
    task = Task.objects.select_for_update().select_related("board").get(pk=task.pk)
    task.approval_requested = None
    _require_writable(task.board)
    previous = task.status
    if status == previous:
        return task
    if status == TaskStatus.DONE and task.board.require_approval_for_done:
        approval_requested = _request_approval(task, actor)
        if previous != TaskStatus.REVIEW:
            task = sync_task_status(task=task, actor=actor, status=TaskStatus.REVIEW)
        task.approval_requested = approval_requested
        return task
    task.status = status
    task.position = _end_of_column(task.board_id, status)
    task.save(update_fields=["status", "position", "updated_at"])
    record_activity(
        organization=task.board.organization_id,
        board=task.board,
        verb="task.status_changed",
        actor=actor,
        target=task,
        detail={**_task_summary(task), "from": previous, "to": status},
        notify_agent_ids=_notify(task),
    )
    return task


@transaction.atomic
def assign_task(*, task: Task, actor: Actor, agent: Model | None = None, user=None) -> Task:
    """Give the task to one agent or one user (or to nobody, with neither)."""
    board = task.board
    authorize(actor, organization=board, role=Role.OPERATOR, board=board)
    _require_writable(board)
    _check_assignees(board, agent, user)
    previous_agent_id = task.assignee_agent_id
    task.assignee_agent = agent
    task.assignee_user = user
    task.save(update_fields=["assignee_agent", "assignee_user", "updated_at"])
    record_activity(
        organization=board.organization_id,
        board=board,
        verb="task.assigned",
        actor=actor,
        target=task,
        detail={
            **_task_summary(task),
            "agent_id": agent.pk if agent else None,
            "user_id": user.pk if user else None,
            "assignee": agent.name if agent else (user.get_username() if user else None),
        },
        notify_agent_ids=_notify(task, previous_agent_id),
    )
    return task


# --- dependencies ---------------------------------------------------------------------------------


def _find_path(edges: dict[int, list[int]], start: int, goal: int) -> list[int] | None:
    """A path start -> ... -> goal following `edges` (task -> what it depends on), if any."""
    stack: list[tuple[int, list[int]]] = [(start, [start])]
    seen = {start}
    while stack:
        node, path = stack.pop()
        if node == goal:
            return path
        for nxt in edges.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


@transaction.atomic
def add_dependency(*, task: Task, depends_on: Task, actor: Actor) -> TaskDependency:
    """`task` cannot start until `depends_on` is done. Cycles are refused, naming the loop."""
    board = task.board
    authorize(actor, organization=board, role=Role.OPERATOR, board=board)
    _require_writable(board)
    if depends_on.board_id != task.board_id:
        raise DomainError("A dependency must be a task of the same board.", code="cross_board_dependency")
    if depends_on.pk == task.pk:
        raise InvalidTransition("A task cannot depend on itself.", code="dependency_cycle")
    existing = TaskDependency.objects.filter(task=task, depends_on=depends_on).first()
    if existing is not None:
        return existing
    # Lock the board's row: two concurrent additions (A->B and B->A) would each see no cycle.
    Board.objects.select_for_update().filter(pk=board.pk).first()
    edges: dict[int, list[int]] = {}
    for source, target in TaskDependency.objects.filter(task__board_id=board.pk).values_list(
        "task_id", "depends_on_id"
    ):
        edges.setdefault(source, []).append(target)
    path = _find_path(edges, depends_on.pk, task.pk)
    if path is not None:
        titles = dict(Task.objects.filter(pk__in=path).values_list("pk", "title"))
        loop = " → ".join(f"#{pk} {titles.get(pk, '')}".strip() for pk in [task.pk, *path])
        raise InvalidTransition(f"This dependency would make a cycle: {loop}.", code="dependency_cycle")
    link = TaskDependency.objects.create(task=task, depends_on=depends_on)
    record_activity(
        organization=board.organization_id,
        board=board,
        verb="task.dependency_added",
        actor=actor,
        target=task,
        detail={**_task_summary(task), "depends_on": depends_on.pk, "depends_on_title": depends_on.title},
        notify_agent_ids=_notify(task),
    )
    return link


@transaction.atomic
def remove_dependency(*, task: Task, depends_on: Task, actor: Actor) -> None:
    board = task.board
    authorize(actor, organization=board, role=Role.OPERATOR, board=board)
    _require_writable(board)
    deleted, _ = TaskDependency.objects.filter(task=task, depends_on=depends_on).delete()
    if not deleted:
        raise NotFound("This task does not depend on that one.")
    record_activity(
        organization=board.organization_id,
        board=board,
        verb="task.dependency_removed",
        actor=actor,
        target=task,
        detail={**_task_summary(task), "depends_on": depends_on.pk},
        notify_agent_ids=_notify(task),
    )


# --- comments -------------------------------------------------------------------------------------


def _create_comment(task: Task, actor: Actor, body: str) -> Any:
    """A message in the task's one conversation (boards.conversation: chat's task thread, which
    resolves its mentions, notifies and records `comment.added` with `chat.message_posted`)."""
    return conversation.post_comment(task=task, actor=actor, body=body)


@transaction.atomic
def add_comment(*, task: Task, actor: Actor, body: str) -> Any:
    """Comment on `task`: the comment APIs (agent and human), MCP, rules and automations. The
    length limit is the conversation's (CHAT_MESSAGE_MAX_CHARS, 20000 by default)."""
    board = task.board
    authorize(actor, organization=board, role=Role.OPERATOR, board=board)
    _require_writable(board)
    if not (body or "").strip():
        raise DomainError("A comment cannot be empty.", code="body_required")
    return _create_comment(task, actor, body)


# --- approvals ------------------------------------------------------------------------------------


def _request_approval(task: Task, actor: Actor) -> Approval:
    pending = Approval.objects.filter(task=task, status=ApprovalStatus.PENDING).first()
    if pending is not None:
        return pending
    approval = Approval.objects.create(
        task=task, requested_by_user=actor.user, requested_by_agent=actor.agent
    )
    record_activity(
        organization=task.board.organization_id,
        board=task.board_id,
        verb="approval.requested",
        actor=actor,
        target=approval,
        detail={**_task_summary(task), "approval_id": approval.pk},
        notify_agent_ids=_notify(task),
    )
    return approval


@transaction.atomic
def decide_approval(*, approval: Approval, actor: Actor, approve: bool, reason: str = "") -> Approval:
    """Approve (the task becomes done) or reject (it stays in review). Humans only."""
    task = approval.task
    board = task.board
    authorize(actor, organization=board, role=Role.OPERATOR, board=board, allow_agent=False)
    if actor.kind != ActorKind.USER:
        raise PermissionDenied("Only an operator or admin decides an approval.")
    _require_writable(board)
    # Two reviewers deciding at once: the lock makes the second see the first decision.
    approval = Approval.objects.select_for_update().get(pk=approval.pk)
    if approval.status != ApprovalStatus.PENDING:
        raise Conflict("This approval has already been decided.", code="already_decided")
    current_status = Task.objects.filter(pk=task.pk).values_list("status", flat=True).first()
    if approve and current_status != TaskStatus.REVIEW:
        # Approving finishes the task; if it went back to work since, it is not ready to finish.
        raise Conflict("The task is no longer in review; move it back to review first.", code="not_in_review")
    approval.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    approval.decided_by = actor.user
    approval.decided_at = timezone.now()
    approval.reason = (reason or "")[:2000]
    approval.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    task = Task.objects.select_for_update().select_related("board").get(pk=task.pk)
    record_activity(
        organization=board.organization_id,
        board=board,
        verb="approval.decided",
        actor=actor,
        target=approval,
        detail={
            **_task_summary(task),
            "approval_id": approval.pk,
            "approved": approve,
            "status": approval.status,
            "reason": approval.reason,
        },
        notify_agent_ids=_notify(task),
    )
    if approve and task.status != TaskStatus.DONE:
        previous = task.status
        task.status = TaskStatus.DONE
        task.position = _end_of_column(board.pk, TaskStatus.DONE)
        task.save(update_fields=["status", "position", "updated_at"])
        record_activity(
            organization=board.organization_id,
            board=board,
            verb="task.status_changed",
            actor=actor,
            target=task,
            detail={
                **_task_summary(task),
                "from": previous,
                "to": TaskStatus.DONE,
                "approval_id": approval.pk,
            },
            notify_agent_ids=_notify(task),
        )
    approval.task = task
    return approval


# --- board groups --------------------------------------------------------------------------------

BOARD_GROUP_NAME_MAX = 120


def _clean_group_name(organization_id: int, name: str, *, exclude_pk: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError("A board group needs a name.", code="name_required")
    if len(name) > BOARD_GROUP_NAME_MAX:
        raise DomainError(f"A group name is at most {BOARD_GROUP_NAME_MAX} characters.", code="name_too_long")
    taken = BoardGroup.objects.filter(organization_id=organization_id, name__iexact=name)
    if taken.exclude(pk=exclude_pk).exists():
        raise Conflict(f"There is already a group called “{name}”.", code="group_exists")
    return name


@transaction.atomic
def create_board_group(*, organization: Organization, actor: Actor, name: str) -> BoardGroup:
    """A new group goes last; boards join it from their settings."""
    authorize(actor, organization=organization, role=Role.ADMIN, allow_agent=False)
    name = _clean_group_name(organization.pk, name)
    last = BoardGroup.objects.filter(organization=organization).aggregate(m=Max("position"))["m"]
    group = BoardGroup.objects.create(organization=organization, name=name, position=(last or 0) + 1)
    record_activity(
        organization=organization,
        actor=actor,
        verb="board_group.created",
        target=group,
        detail={"name": group.name},
    )
    return group


@transaction.atomic
def rename_board_group(*, group: BoardGroup, actor: Actor, name: str) -> BoardGroup:
    authorize(actor, organization=group.organization_id, role=Role.ADMIN, allow_agent=False)
    name = _clean_group_name(group.organization_id, name, exclude_pk=group.pk)
    previous = group.name
    update_and_record(
        group,
        changes={"name": name},
        actor=actor,
        verb="board_group.renamed",
        organization=group.organization_id,
        detail=lambda _changed: {"name": name, "from": previous},
    )
    return group


@transaction.atomic
def reorder_board_groups(
    *, organization: Organization, actor: Actor, group_ids: list[int]
) -> list[BoardGroup]:
    """Put the organization's groups in the order given; every group must be listed once."""
    authorize(actor, organization=organization, role=Role.ADMIN, allow_agent=False)
    groups = {g.pk: g for g in BoardGroup.objects.select_for_update().filter(organization=organization)}
    if sorted(group_ids) != sorted(groups) or len(set(group_ids)) != len(group_ids):
        raise DomainError("List every board group of the organization exactly once.", code="invalid_order")
    ordered = [groups[pk] for pk in group_ids]
    for position, group in enumerate(ordered, start=1):
        group.position = position
    BoardGroup.objects.bulk_update(ordered, ["position"])
    record_activity(
        organization=organization,
        actor=actor,
        verb="board_group.reordered",
        target_type="boardgroup",
        detail={"names": [g.name for g in ordered]},
    )
    return ordered


@transaction.atomic
def delete_board_group(*, group: BoardGroup, actor: Actor) -> None:
    """Its boards stay, ungrouped (the foreign key is SET_NULL)."""
    authorize(actor, organization=group.organization_id, role=Role.ADMIN, allow_agent=False)
    record_activity(
        organization=group.organization_id,
        actor=actor,
        verb="board_group.deleted",
        target_type="boardgroup",
        target_id=group.pk,
        detail={"name": group.name},
    )
    group.delete()
