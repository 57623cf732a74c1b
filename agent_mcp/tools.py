"""The MCP tools: the agent REST API (`/api/v1/agent/…`) as Model Context Protocol tools.

Each tool validates its arguments with the REST API's own serializers, calls the same service the
REST view calls (boards, agents, chat, usage services) with the agent as the actor, and answers
with the REST API's serializer output. So limits, permissions, events and error messages are the
REST API's; this module adds no write path of its own. Handlers are synchronous (the ORM) and run
in a worker thread (agent_mcp.server).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from rest_framework.exceptions import ValidationError

from agent_api import serializers as agent_serializers
from agent_api.services import claim_and_start_task
from agents import services as agent_services
from agents.models import Agent
from boards import services as board_services
from boards.models import Board, Task, TaskStatus
from chat import services as chat_services
from chat.api import serializers as chat_serializers
from chat.models import ChatMessage
from core.actors import Actor
from core.ids import parse_id
from infra.exceptions import DomainError, NotFound
from usage.api import serializers as usage_serializers
from usage.services import record_usage

# A tool answers with at most this many rows: an agent's context window is the scarce resource,
# and the REST API (paginated) is there for the rest.
MAX_ROWS = 100
MAX_MEMORY_MESSAGES = 50

ID_SCHEMA = {"type": "integer", "minimum": 1}
STATUS_SCHEMA = {"type": "string", "enum": list(TaskStatus.values)}


@dataclass(frozen=True)
class AgentTool:
    name: str
    title: str
    description: str
    input_schema: dict[str, Any]
    handler: Callable[[Agent, dict[str, Any]], Any]
    read_only: bool = False


def _object_schema(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def _validated(serializer_class, data: dict[str, Any]) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _task(agent: Agent, task_id: Any) -> Task:
    """A task on the agent's boards, or the REST API's 404 (never a 403: ids cannot be probed)."""
    pk = parse_id(task_id)
    task = (
        Task.objects.for_agent(agent).select_related("board").filter(pk=pk).first()
        if pk is not None
        else None
    )
    if task is None:
        raise NotFound("Task not found.")
    return task


def _board(agent: Agent, board_id: Any) -> Board:
    pk = parse_id(board_id)
    board = Board.objects.for_agent(agent).filter(pk=pk).first() if pk is not None else None
    if board is None:
        raise NotFound("Board not found.")
    return board


def _task_out(task: Task) -> dict[str, Any]:
    task = Task.objects.prefetch_related("tags").get(pk=task.pk)
    return agent_serializers.AgentTaskSerializer(task).data


def _task_list(tasks) -> dict[str, Any]:
    rows = list(
        tasks.prefetch_related("tags").order_by("board_id", "status", "position", "id")[: MAX_ROWS + 1]
    )
    return {
        "tasks": agent_serializers.AgentTaskSerializer(rows[:MAX_ROWS], many=True).data,
        "truncated": len(rows) > MAX_ROWS,
    }


def _statuses(value: Any) -> list[str]:
    statuses = value if isinstance(value, list) else [value] if value else []
    unknown = set(statuses) - set(TaskStatus.values)
    if unknown:
        raise ValidationError({"status": [f"Unknown status: {', '.join(sorted(map(str, unknown)))}."]})
    return statuses


# --- reads ------------------------------------------------------------------------------------------


def whoami(agent: Agent, arguments: dict[str, Any]) -> dict[str, Any]:
    agent = Agent.objects.prefetch_related("boards").get(pk=agent.pk)
    return agent_serializers.AgentMeSerializer(agent).data


def list_boards(agent: Agent, arguments: dict[str, Any]) -> dict[str, Any]:
    boards = Board.objects.for_agent(agent).order_by("name", "id")[:MAX_ROWS]
    return {"boards": agent_serializers.AgentBoardSerializer(boards, many=True).data}


def list_my_tasks(agent: Agent, arguments: dict[str, Any]) -> dict[str, Any]:
    tasks = Task.objects.for_agent(agent).filter(assignee_agent=agent)
    statuses = _statuses(arguments.get("status"))
    if statuses:
        tasks = tasks.filter(status__in=statuses)
    return _task_list(tasks)


def list_board_tasks(agent: Agent, arguments: dict[str, Any]) -> dict[str, Any]:
    board = _board(agent, arguments.get("board_id"))
    tasks = Task.objects.for_agent(agent).filter(board=board)
    if arguments.get("unassigned_only"):
        tasks = tasks.unassigned()
    statuses = _statuses(arguments.get("status"))
    if statuses:
        tasks = tasks.filter(status__in=statuses)
    return _task_list(tasks)


def get_task(agent: Agent, arguments: dict[str, Any]) -> dict[str, Any]:
    return _task_out(_task(agent, arguments.get("task_id")))


def read_board_memory(agent: Agent, arguments: dict[str, Any]) -> dict[str, Any]:
    board = _board(agent, arguments.get("board_id"))
    # The board's memory is its pinned chat messages (GET …/chat/?pinned=true), newest pin first.
    messages = (
        ChatMessage.objects.filter(board=board, pinned_at__isnull=False)
        .with_authors()
        .order_by("-pinned_at", "-id")[:MAX_MEMORY_MESSAGES]
    )
    return {"messages": chat_serializers.ChatMessageSerializer(messages, many=True).data}


# --- writes (each one service call, as the REST view makes it) --------------------------------------


def claim_task(agent: Agent, arguments: dict[str, Any]) -> dict[str, Any]:
    task = claim_and_start_task(task=_task(agent, arguments.get("task_id")), agent=agent)
    return _task_out(task)


def move_task(agent: Agent, arguments: dict[str, Any]) -> dict[str, Any]:
    task = _task(agent, arguments.get("task_id"))
    values = _validated(
        agent_serializers.AgentTaskUpdateSerializer,
        {key: arguments[key] for key in ("status", "note", "progress_note") if key in arguments},
    )
    actor = Actor.for_agent(agent)
    # The same two calls, in the same transaction, as PATCH /api/v1/agent/tasks/<id>.
    with transaction.atomic():
        if "progress_note" in values:
            task = board_services.update_task(task=task, actor=actor, progress_note=values["progress_note"])
        if "status" in values and values["status"] != task.status:
            task = board_services.move_task(
                task=task, actor=actor, status=values["status"], note=values.get("note", "")
            )
    body = _task_out(task)
    approval = getattr(task, "approval_requested", None)
    if approval is not None:
        body["approval"] = {"id": approval.pk, "status": approval.status}
    return body


def request_approval(agent: Agent, arguments: dict[str, Any]) -> dict[str, Any]:
    task = _task(agent, arguments.get("task_id"))
    if not task.board.require_approval_for_done:
        raise DomainError(
            "This board does not require approval: move the task to done with move_task.",
            code="approval_not_required",
        )
    values = _validated(
        agent_serializers.AgentTaskUpdateSerializer,
        {"status": TaskStatus.DONE, "note": arguments.get("note", "")},
    )
    # On such a board a move to done files the approval (or keeps the open one) and leaves the task
    # in review: boards.services.move_task, exactly as PATCH status=done does.
    task = board_services.move_task(
        task=task, actor=Actor.for_agent(agent), status=TaskStatus.DONE, note=values.get("note", "")
    )
    approval = task.approval_requested
    body = _task_out(task)
    body["approval"] = {"id": approval.pk, "status": approval.status} if approval is not None else None
    return body


def comment_on_task(agent: Agent, arguments: dict[str, Any]) -> dict[str, Any]:
    task = _task(agent, arguments.get("task_id"))
    values = _validated(agent_serializers.AgentCommentSerializer, {"body": arguments.get("body")})
    comment = board_services.add_comment(task=task, actor=Actor.for_agent(agent), body=values["body"])
    return agent_serializers.CommentOutSerializer(comment).data


def post_chat_message(agent: Agent, arguments: dict[str, Any]) -> dict[str, Any]:
    board = _board(agent, arguments.get("board_id"))
    values = _validated(
        chat_serializers.ChatPostSerializer,
        {"body": arguments.get("body"), "task": arguments.get("task_id")},
    )
    thread = None
    if values.get("task") is not None:
        thread = Task.objects.filter(board=board, pk=values["task"]).first()
        if thread is None:
            raise NotFound("Task not found.")
    message = chat_services.post_message(
        board=board, actor=Actor.for_agent(agent), body=values["body"], task=thread
    )
    message = ChatMessage.objects.with_authors().get(pk=message.pk)
    return chat_serializers.ChatMessageSerializer(message).data


def report_usage(agent: Agent, arguments: dict[str, Any]) -> dict[str, Any]:
    reports = arguments.get("reports")
    batch = _validated(usage_serializers.UsageBatchSerializer, {"reports": reports})
    items = agent_serializers.usage_items(batch["reports"], agent=agent, field="reports")
    return usage_serializers.usage_result(record_usage(agent=agent, items=items))


def heartbeat(agent: Agent, arguments: dict[str, Any]) -> dict[str, Any]:
    values = _validated(
        agent_serializers.HeartbeatSerializer,
        {
            "status_text": arguments.get("status_text", ""),
            "current_task": arguments.get("current_task_id"),
        },
    )
    current_task = _task(agent, values["current_task"]) if values["current_task"] is not None else None
    agent = agent_services.record_heartbeat(
        agent=agent, status_text=values["status_text"], current_task=current_task
    )
    return whoami(agent, {})


USAGE_REPORT_SCHEMA = {
    "type": "object",
    "properties": {
        "model": {"type": "string", "maxLength": 100, "description": "The model that did the work."},
        "input_tokens": {"type": "integer", "minimum": 0},
        "output_tokens": {"type": "integer", "minimum": 0},
        "cached_tokens": {"type": "integer", "minimum": 0},
        "cost": {"type": ["string", "number", "null"], "description": "USD, when the agent knows its cost."},
        "task": {"type": ["integer", "null"], "minimum": 1, "description": "The task the work was for."},
        "occurred_at": {"type": ["string", "null"], "description": "ISO 8601; default now."},
        "idempotency_key": {
            "type": "string",
            "maxLength": 100,
            "description": "Unique per agent: a retried report with the same key is counted once.",
        },
    },
    "required": ["model", "idempotency_key"],
    "additionalProperties": False,
}

TOOLS: tuple[AgentTool, ...] = (
    AgentTool(
        "whoami",
        "Who am I",
        "This agent: its id, organization, boards, presence and status text (GET /api/v1/agent/me).",
        _object_schema({}),
        whoami,
        read_only=True,
    ),
    AgentTool(
        "list_boards",
        "List my boards",
        "The boards this agent is on, with their rules (approval for done, comment before review).",
        _object_schema({}),
        list_boards,
        read_only=True,
    ),
    AgentTool(
        "list_my_tasks",
        "List my tasks",
        f"Tasks assigned to this agent on its boards, optionally by status. At most {MAX_ROWS}.",
        _object_schema({"status": {"type": "array", "items": STATUS_SCHEMA, "description": "Only these."}}),
        list_my_tasks,
        read_only=True,
    ),
    AgentTool(
        "list_board_tasks",
        "List a board's tasks",
        "Tasks on one of this agent's boards; `unassigned_only` for the ones free to claim. "
        f"At most {MAX_ROWS}.",
        _object_schema(
            {
                "board_id": ID_SCHEMA,
                "status": {"type": "array", "items": STATUS_SCHEMA},
                "unassigned_only": {"type": "boolean"},
            },
            ("board_id",),
        ),
        list_board_tasks,
        read_only=True,
    ),
    AgentTool(
        "get_task",
        "Get a task",
        "One task on this agent's boards: title, description, status, assignee, tags, progress note.",
        _object_schema({"task_id": ID_SCHEMA}, ("task_id",)),
        get_task,
        read_only=True,
    ),
    AgentTool(
        "claim_task",
        "Claim a task",
        "Assign an unassigned task to this agent. Of concurrent claimers exactly one wins; the others "
        "get already_claimed. Claiming one's own task again changes nothing.",
        _object_schema({"task_id": ID_SCHEMA}, ("task_id",)),
        claim_task,
    ),
    AgentTool(
        "move_task",
        "Move a task",
        "Change a task's status (inbox, in_progress, review, done, blocked; the board's transition "
        "rules apply: done only from review, review may need a note) and/or its progress note. Only the "
        "assignee, the agent that filed it or a board lead may. On a board that requires approval, "
        "done files an approval and the task stays in review.",
        _object_schema(
            {
                "task_id": ID_SCHEMA,
                "status": STATUS_SCHEMA,
                "note": {"type": "string", "description": "A comment added with the move."},
                "progress_note": {"type": "string", "description": "Replaces the task's progress note."},
            },
            ("task_id",),
        ),
        move_task,
    ),
    AgentTool(
        "request_approval",
        "Ask for approval",
        "Ask a human to approve a task in review as done, on a board that requires approval. The task "
        "stays in review until an operator decides; the answer carries the approval's id.",
        _object_schema(
            {"task_id": ID_SCHEMA, "note": {"type": "string", "description": "What was done."}},
            ("task_id",),
        ),
        request_approval,
    ),
    AgentTool(
        "comment_on_task",
        "Comment on a task",
        "Add a comment to a task on this agent's boards: a message in the task's one conversation, "
        "its thread (at most 20000 characters unless the operator set another limit).",
        _object_schema(
            {"task_id": ID_SCHEMA, "body": {"type": "string", "minLength": 1}}, ("task_id", "body")
        ),
        comment_on_task,
    ),
    AgentTool(
        "post_chat_message",
        "Post to board chat",
        "Post a message to a board's chat, or to a task's thread with task_id. @name mentions notify "
        "people and agents; posts per author are rate-limited.",
        _object_schema(
            {"board_id": ID_SCHEMA, "body": {"type": "string", "minLength": 1}, "task_id": ID_SCHEMA},
            ("board_id", "body"),
        ),
        post_chat_message,
    ),
    AgentTool(
        "read_board_memory",
        "Read board memory",
        f"The board's memory: its pinned chat messages, newest pin first (at most {MAX_MEMORY_MESSAGES}).",
        _object_schema({"board_id": ID_SCHEMA}, ("board_id",)),
        read_board_memory,
        read_only=True,
    ),
    AgentTool(
        "report_usage",
        "Report usage",
        "Report model usage (tokens, cost) for budgets and the usage page: 1-100 reports, each with an "
        "idempotency_key so that a retry is counted once.",
        _object_schema(
            {"reports": {"type": "array", "items": USAGE_REPORT_SCHEMA, "minItems": 1, "maxItems": 100}},
            ("reports",),
        ),
        report_usage,
    ),
    AgentTool(
        "heartbeat",
        "Heartbeat",
        "A sign of life with an optional status line and the task being worked on; keeps the agent "
        "online on the board.",
        _object_schema(
            {
                "status_text": {"type": "string", "description": "What the agent is doing now."},
                "current_task_id": {"anyOf": [ID_SCHEMA, {"type": "null"}]},
            }
        ),
        heartbeat,
    ),
)

TOOLS_BY_NAME = {tool.name: tool for tool in TOOLS}
