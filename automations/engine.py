"""The action engine: every action a webhook rule, a schedule or an automation takes, in one place.

Each action goes through the domain services (boards, chat, gateways), so permissions, the
board's workflow and its approval gate hold whoever triggers it: an action that would finish a
task on a board that requires approval files the approval and says so (OutcomeStatus.APPROVAL_
REQUESTED) instead of finishing it. Each action's result is recorded as one ActionOutcome row
(`record_outcome`), the same record for every trigger.

Two layers: the task steps webhook rules apply (`create_task`, `update_task`, `set_status`,
`comment`, `notify_agents`) and `run_action`, which reads one configured action (a dict from a
schedule or an automation), validates it again, runs it and returns a `Result`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from activity.services import record_activity
from agents.models import Agent
from automations.models import ActionOutcome, OutcomeStatus, SourceKind
from boards import services as board_services
from boards.models import Board, Task, TaskPriority, TaskStatus
from chat import services as chat_services
from core.actors import Actor, ActorKind
from gateways import services as gateway_services
from gateways.models import GatewayAgent
from infra.exceptions import DomainError

MAX_ACTIONS = 5
MAX_TEXT = 5000
TITLE_MAX = 200


class Action:
    """The actions the engine knows, with the label the pages show."""

    CREATE_TASK = "create_task"
    UPDATE_TASK = "update_task"
    COMMENT = "comment"
    CLOSE_TASK = "close_task"
    REOPEN_TASK = "reopen_task"
    NOTIFY_AGENT = "notify_agent"
    ASSIGN = "assign"
    MOVE = "move"
    POST_CHAT = "post_chat"
    WAKE_AGENT = "wake_agent"
    CREATE_FROM_TEMPLATE = "create_from_template"

    LABELS: dict[str, str] = {
        CREATE_TASK: "Create a task",
        UPDATE_TASK: "Update the task",
        COMMENT: "Comment on the task",
        CLOSE_TASK: "Close the task (done, or ask for approval)",
        REOPEN_TASK: "Reopen the task",
        NOTIFY_AGENT: "Notify an agent",
        ASSIGN: "Assign the task",
        MOVE: "Move the task to a column",
        POST_CHAT: "Post to the board's chat",
        WAKE_AGENT: "Wake a gateway agent",
        CREATE_FROM_TEMPLATE: "Create from a template",
    }
    # Actions on the event's task: a schedule has none, so it cannot use them.
    ON_TASK = frozenset({UPDATE_TASK, COMMENT, CLOSE_TASK, REOPEN_TASK, ASSIGN, MOVE})


# Which keys each action reads (anything else is refused when saved).
ACTION_PARAMS: dict[str, frozenset[str]] = {
    Action.CREATE_TASK: frozenset({"title", "description", "priority", "tags", "assignee"}),
    Action.UPDATE_TASK: frozenset({"title", "description", "priority", "tags"}),
    Action.COMMENT: frozenset({"body"}),
    Action.CLOSE_TASK: frozenset(),
    Action.REOPEN_TASK: frozenset(),
    Action.NOTIFY_AGENT: frozenset({"agent", "message"}),
    Action.ASSIGN: frozenset({"assignee"}),
    Action.MOVE: frozenset({"status"}),
    Action.POST_CHAT: frozenset({"body"}),
    Action.WAKE_AGENT: frozenset({"agent", "message"}),
    Action.CREATE_FROM_TEMPLATE: frozenset({"task_template", "pipeline_template"}),
}

PLACEHOLDER = re.compile(r"\{(task\.id|task\.title|task\.status|trigger|date|slot)\}")


@dataclass
class Firing:
    """Who triggered the actions and which firing this is (its idempotency key)."""

    kind: str  # a SourceKind
    id: int | None
    name: str
    key: str  # "slot:<iso>", "event:<id>", "payload:<id>", …
    depth: int = 0
    date: str = ""
    slot: str = ""  # a schedule's slot, local time ("2026-12-07 09:00")

    def actor(self) -> Actor:
        # Feeds read "automation “Triage” moved …": the system acting, named by what fired.
        label = f"{SourceKind(self.kind).label.lower()} “{self.name}”"
        return Actor(kind=ActorKind.SYSTEM, label=label[:150])


@dataclass
class Result:
    status: str
    message: str
    task: Task | None = None
    detail: dict[str, Any] = field(default_factory=dict)


# --- validation ----------------------------------------------------------------------------------


def validate_actions(board: Board, actions: Any, *, for_schedule: bool = False) -> list[dict[str, Any]]:
    """A list of 1 to MAX_ACTIONS actions, each {"action": name, ...its params}; returns a clean copy."""
    if not isinstance(actions, list) or not actions:
        raise DomainError("Add at least one action.", code="actions_required")
    if len(actions) > MAX_ACTIONS:
        raise DomainError(f"At most {MAX_ACTIONS} actions.", code="too_many_actions")
    cleaned = []
    for index, spec in enumerate(actions, start=1):
        if not isinstance(spec, dict):
            raise DomainError(f"Action {index} is not an object.", code="invalid_action")
        name = spec.get("action")
        if name not in ACTION_PARAMS:
            raise DomainError(f"Action {index}: unknown action “{str(name)[:40]}”.", code="invalid_action")
        if for_schedule and name in Action.ON_TASK:
            raise DomainError(
                f"Action {index}: a schedule has no task to {Action.LABELS[name].lower()}.",
                code="needs_a_task",
            )
        unknown = set(spec) - {"action"} - ACTION_PARAMS[name]
        if unknown:
            raise DomainError(
                f"Action {index}: unknown fields {', '.join(sorted(unknown))}.", code="invalid_action"
            )
        params = {key: spec[key] for key in ACTION_PARAMS[name] if key in spec}
        for key, value in params.items():
            if key == "tags":
                if (
                    not isinstance(value, list)
                    or len(value) > 20
                    or not all(isinstance(t, str) for t in value)
                ):
                    raise DomainError(
                        f"Action {index}: tags are a list of at most 20 names.", code="invalid_tags"
                    )
            elif key in ("task_template", "pipeline_template"):
                if not isinstance(value, int) or isinstance(value, bool):
                    raise DomainError(f"Action {index}: {key} is a template id.", code="invalid_template")
            elif not isinstance(value, str) or len(value) > MAX_TEXT:
                raise DomainError(
                    f"Action {index}: {key} is a text of at most {MAX_TEXT} characters.", code="too_long"
                )
        _check_params(board, index, name, params)
        cleaned.append({"action": name, **params})
    return cleaned


def _check_params(board: Board, index: int, name: str, params: dict[str, Any]) -> None:
    def fail(message: str, code: str) -> None:
        raise DomainError(f"Action {index}: {message}", code=code)

    if name == Action.CREATE_TASK and not (params.get("title") or "").strip():
        fail("a new task needs a title.", "title_required")
    if name in (Action.COMMENT, Action.POST_CHAT) and not (params.get("body") or "").strip():
        fail("write the text to post.", "body_required")
    if params.get("priority") and params["priority"] not in TaskPriority.values:
        fail(f"unknown priority “{params['priority'][:20]}”.", "invalid_priority")
    if name == Action.MOVE and params.get("status") not in TaskStatus.values:
        fail("choose the column to move to.", "invalid_status")
    if params.get("assignee") and resolve_assignee(board.organization_id, params["assignee"]) is None:
        fail(f"“{params['assignee'][:100]}” is not agent:<name> or user:<username> here.", "unknown_assignee")
    if (
        name in (Action.NOTIFY_AGENT, Action.WAKE_AGENT)
        and params.get("agent")
        and not Agent.objects.filter(organization_id=board.organization_id, name=params["agent"]).exists()
    ):
        fail(f"no agent is named “{params['agent'][:100]}”.", "unknown_agent")
    if name == Action.WAKE_AGENT and not params.get("agent"):
        fail("name the gateway agent to wake.", "agent_required")
    if name == Action.CREATE_FROM_TEMPLATE:
        from automations.models import PipelineTemplate, TaskTemplate

        task_id, pipeline_id = params.get("task_template"), params.get("pipeline_template")
        if (task_id is None) == (pipeline_id is None):
            fail("choose one task template or one pipeline template.", "invalid_template")
        if task_id is not None and not TaskTemplate.objects.filter(pk=task_id, board=board).exists():
            fail("no such task template on this board.", "invalid_template")
        if (
            pipeline_id is not None
            and not PipelineTemplate.objects.filter(pk=pipeline_id, board=board).exists()
        ):
            fail("no such pipeline template on this board.", "invalid_template")


@dataclass
class Assignee:
    agent: Agent | None = None
    user: Any = None

    @property
    def label(self) -> str:
        if self.agent is not None:
            return self.agent.name
        return self.user.get_username() if self.user is not None else ""


def resolve_assignee(organization_id: int, text: str) -> Assignee | None:
    """`agent:<name>` or `user:<username>` of the organization; "" is nobody; None: not found."""
    text = (text or "").strip()
    if not text:
        return Assignee()
    kind, _, name = text.partition(":")
    if kind == "agent":
        agent = Agent.objects.filter(organization_id=organization_id, name=name).first()
        return Assignee(agent=agent) if agent else None
    if kind == "user":
        user = (
            get_user_model()
            .objects.filter(username=name, memberships__organization_id=organization_id)
            .first()
        )
        return Assignee(user=user) if user else None
    return None


# --- the task steps (webhook rules call these directly) ----------------------------------------


def create_task(
    *,
    board: Board,
    actor: Actor,
    title: str,
    description: str = "",
    priority: str = TaskPriority.MEDIUM,
    status: str = TaskStatus.INBOX,
    tag_names: Iterable[str] = (),
    assignee: Assignee | None = None,
    external_id: str = "",
    external_url: str = "",
    depends_on: Iterable[Task] = (),
) -> Task:
    """A new task through boards.services (a new task starts in inbox or blocked, as for people)."""
    return board_services.create_task(
        board=board,
        actor=actor,
        title=title,
        description=description,
        priority=priority or TaskPriority.MEDIUM,
        status=status if status in (TaskStatus.INBOX, TaskStatus.BLOCKED) else TaskStatus.INBOX,
        tag_names=list(tag_names),
        assignee_agent=assignee.agent if assignee else None,
        assignee_user=assignee.user if assignee else None,
        external_id=external_id,
        external_url=external_url,
        depends_on=list(depends_on),
    )


def update_task(
    *,
    task: Task,
    actor: Actor,
    title: str = "",
    description: str = "",
    priority: str = "",
    tag_names: list[str] | None = None,
    assignee: Assignee | None = None,
) -> list[str]:
    """Write the fields that differ (only they are in the event); the names of what changed."""
    changes: dict[str, Any] = {}
    if title and title != task.title:
        changes["title"] = title
    if description and description != task.description:
        changes["description"] = description
    if priority and priority != task.priority:
        changes["priority"] = priority
    if tag_names is not None:
        current = sorted(name.lower() for name in task.tags.values_list("name", flat=True))
        if sorted(name.lower() for name in tag_names) != current:
            changes["tag_names"] = tag_names
    if assignee is not None and (
        (assignee.agent.pk if assignee.agent else None) != task.assignee_agent_id
        or (assignee.user.pk if assignee.user else None) != task.assignee_user_id
    ):
        changes["assignee_agent"] = assignee.agent
        changes["assignee_user"] = assignee.user
    if not changes:
        return []
    board_services.update_task(task=task, actor=actor, **changes)
    names = [name for name in changes if name != "assignee_user"]
    return ["assignee" if name == "assignee_agent" else name.removesuffix("_names") for name in names]


def set_status(
    *, task: Task, actor: Actor, status: str, workflow: bool = False
) -> tuple[Task, str, int | None]:
    """Put the task in `status`; returns (task, what changed in words or "", approval id or None).

    `workflow`: through move_task (the board's transitions, dependencies); else like an outside
    system reporting (sync_task_status). Either way the approval gate holds: on a board that
    requires approval, "done" files the approval and the task waits in review.
    """
    previous = task.status
    if status == previous:
        return task, "", None
    if workflow:
        task = board_services.move_task(task=task, actor=actor, status=status)
    else:
        task = board_services.sync_task_status(task=task, actor=actor, status=status)
    if task.approval_requested is not None:
        approval_id = task.approval_requested.pk
        return (
            task,
            f"approval #{approval_id} requested for done (status {previous} → {task.status})",
            approval_id,
        )
    return task, f"status {previous} → {status}", None


def comment(*, task: Task, actor: Actor, body: str) -> None:
    # Cut to the conversation's limit: a long rendered template must not fail the action.
    board_services.add_comment(task=task, actor=actor, body=body[: settings.CHAT_MESSAGE_MAX_CHARS])


def notify_agents(
    *,
    board: Board,
    actor: Actor,
    agent_ids: list[int],
    verb: str,
    detail: dict[str, Any],
    target: Any = None,
    target_type: str = "",
) -> None:
    """An event pushed to the agents' streams (their `notify_agent_ids`), nothing else written."""
    record_activity(
        organization=board.organization_id,
        board=board.pk,
        actor=actor,
        verb=verb,
        target=target,
        target_type=target_type,
        detail=detail,
        notify_agent_ids=agent_ids,
    )


# --- configured actions (schedules, automations, by hand) ----------------------------------------


def render(text: str, *, task: Task | None, firing: Firing) -> str:
    """The few placeholders an action's text may use; anything else stays as written."""
    values = {
        "task.id": str(task.pk) if task else "",
        "task.title": task.title if task else "",
        "task.status": task.status if task else "",
        "trigger": firing.name,
        "date": firing.date,
        "slot": firing.slot,
    }
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text or "")


def run_action(*, board: Board, spec: dict[str, Any], firing: Firing, task: Task | None = None) -> Result:
    """Run one configured action. Raises DomainError (and the services' errors) on refusal; the
    caller records it as a failure in its own savepoint."""
    name = spec["action"]
    actor = firing.actor()
    if name in Action.ON_TASK:
        if task is None:
            return Result(OutcomeStatus.SKIPPED, "No task to act on.")
        task = Task.objects.select_related("board").get(pk=task.pk)  # what it is now, not at the event
    text = {
        key: render(value, task=task, firing=firing) for key, value in spec.items() if isinstance(value, str)
    }
    if name == Action.CREATE_TASK:
        created = create_task(
            board=board,
            actor=actor,
            title=text["title"][:TITLE_MAX],
            description=text.get("description", ""),
            priority=spec.get("priority") or TaskPriority.MEDIUM,
            tag_names=spec.get("tags") or [],
            assignee=_assignee(board, spec.get("assignee")),
        )
        return Result(OutcomeStatus.APPLIED, f"Created task #{created.pk} “{created.title}”.", created)
    if name == Action.UPDATE_TASK:
        changed = update_task(
            task=task,
            actor=actor,
            title=text.get("title", "")[:TITLE_MAX],
            description=text.get("description", ""),
            priority=spec.get("priority", ""),
            tag_names=spec.get("tags"),
        )
        if not changed:
            return Result(OutcomeStatus.UNCHANGED, f"Task #{task.pk} already matches.", task)
        return Result(OutcomeStatus.APPLIED, f"Updated task #{task.pk}: {', '.join(changed)}.", task)
    if name == Action.COMMENT:
        comment(task=task, actor=actor, body=text["body"])
        return Result(OutcomeStatus.APPLIED, f"Commented on task #{task.pk}.", task)
    if name in (Action.CLOSE_TASK, Action.REOPEN_TASK, Action.MOVE):
        status = {Action.CLOSE_TASK: TaskStatus.DONE, Action.REOPEN_TASK: TaskStatus.INBOX}.get(
            name, spec.get("status")
        )
        if name == Action.REOPEN_TASK and task.status != TaskStatus.DONE:
            return Result(OutcomeStatus.UNCHANGED, f"Task #{task.pk} is not done.", task)
        task, change, approval_id = set_status(
            task=task, actor=actor, status=status, workflow=name == Action.MOVE
        )
        if approval_id is not None:
            return Result(
                OutcomeStatus.APPROVAL_REQUESTED,
                f"Task #{task.pk}: {change}; a person decides.",
                task,
                {"approval_id": approval_id},
            )
        if not change:
            return Result(OutcomeStatus.UNCHANGED, f"Task #{task.pk} is already {task.status}.", task)
        return Result(OutcomeStatus.APPLIED, f"Task #{task.pk}: {change}.", task)
    if name == Action.ASSIGN:
        assignee = _assignee(board, spec.get("assignee"))
        if (assignee.agent and assignee.agent.pk) == task.assignee_agent_id and (
            assignee.user and assignee.user.pk
        ) == task.assignee_user_id:
            return Result(OutcomeStatus.UNCHANGED, f"Task #{task.pk} is already assigned so.", task)
        board_services.assign_task(task=task, actor=actor, agent=assignee.agent, user=assignee.user)
        return Result(
            OutcomeStatus.APPLIED, f"Assigned task #{task.pk} to {assignee.label or 'nobody'}.", task
        )
    if name == Action.NOTIFY_AGENT:
        agent = (
            _agent(board, spec.get("agent")) if spec.get("agent") else (task.assignee_agent if task else None)
        )
        if agent is None:
            return Result(
                OutcomeStatus.SKIPPED, "No agent to notify: name one, or the task has no agent.", task
            )
        notify_agents(
            board=board,
            actor=actor,
            agent_ids=[agent.pk],
            verb="automation.agent_notified",
            target=task,
            target_type="" if task else "board",
            detail={"agent": agent.name, "message": text.get("message", "")[:1000], "source": firing.name},
        )
        return Result(OutcomeStatus.APPLIED, f"Notified {agent.name}.", task, {"agent_id": agent.pk})
    if name == Action.POST_CHAT:
        message = chat_services.post_message(board=board, actor=actor, body=text["body"], task=None)
        return Result(OutcomeStatus.APPLIED, "Posted to the board's chat.", task, {"message_id": message.pk})
    if name == Action.WAKE_AGENT:
        return _wake(board, spec, text, firing, task)
    if name == Action.CREATE_FROM_TEMPLATE:
        from automations import templates

        if spec.get("task_template") is not None:
            created = templates.instantiate_task_template_as(
                template_id=spec["task_template"], board=board, actor=actor
            )
            return Result(
                OutcomeStatus.APPLIED,
                f"Created task #{created.pk} “{created.title}” from a template.",
                created,
            )
        pipeline = templates.instantiate_pipeline_template_as(
            template_id=spec["pipeline_template"], board=board, actor=actor
        )
        return Result(
            OutcomeStatus.APPLIED,
            f"Started pipeline #{pipeline.pk} “{pipeline.name}” ({pipeline.steps.count()} tasks).",
            None,
            {"pipeline_id": pipeline.pk},
        )
    raise DomainError(f"Unknown action “{name}”.", code="invalid_action")


def _assignee(board: Board, text: Any) -> Assignee:
    assignee = resolve_assignee(board.organization_id, text or "")
    if assignee is None:
        raise DomainError(
            f"“{str(text)[:100]}” is no longer an agent or member here.", code="unknown_assignee"
        )
    return assignee


def _agent(board: Board, name: str) -> Agent | None:
    return Agent.objects.filter(organization_id=board.organization_id, name=name).first()


def _wake(board: Board, spec: dict, text: dict, firing: Firing, task: Task | None) -> Result:
    agent = _agent(board, spec.get("agent", ""))
    link = (
        GatewayAgent.objects.active().select_related("gateway").filter(agent=agent).first() if agent else None
    )
    if link is None:
        return Result(
            OutcomeStatus.SKIPPED, f"“{spec.get('agent', '')}” is not linked to a gateway agent.", task
        )
    # The gateways app's one wake: the message, else the task's, else its default wake message.
    # The firing's key makes a replayed firing the same command and, at the gateway, the same run.
    command, created = gateway_services.wake_gateway_agent(
        actor=firing.actor(),
        gateway_agent=link,
        message=text.get("message", ""),
        task=task,
        reason="automation",
        idempotency_key=f"mc-{firing.kind}-{firing.id}-{firing.key}"[:100],
    )
    if not created:
        return Result(OutcomeStatus.UNCHANGED, f"{agent.name} was already woken for this.", task)
    return Result(
        OutcomeStatus.APPLIED, f"Woke {agent.name} on {link.gateway}.", task, {"command_id": command.pk}
    )


def run_actions(
    *, board: Board, actions: list[dict[str, Any]], firing: Firing, task: Task | None = None
) -> list[ActionOutcome]:
    """Each action in its own savepoint, its outcome recorded; one that fails does not stop the
    next (a chat post that fails does not undo the task created before it)."""
    outcomes = []
    for spec in actions:
        try:
            with transaction.atomic():
                result = run_action(board=board, spec=spec, firing=firing, task=task)
        except DomainError as exc:
            result = Result(OutcomeStatus.FAILED, exc.message, task)
        outcomes.append(
            record_outcome(board=board, firing=firing, action=spec.get("action", ""), result=result)
        )
    return outcomes


def record_outcome(*, board: Board | int, firing: Firing, action: str, result: Result) -> ActionOutcome:
    """The one outcome record, whoever triggered the action."""
    return ActionOutcome.objects.create(
        board_id=board if isinstance(board, int) else board.pk,
        source_kind=firing.kind,
        source_id=firing.id,
        source_name=firing.name[:100],
        firing=firing.key[:80],
        action=action,
        status=result.status,
        task=result.task if result.task is not None and result.task.pk else None,
        message=result.message[:500],
        detail=result.detail,
        depth=firing.depth,
    )
