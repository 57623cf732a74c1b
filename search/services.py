"""Writes to the search index: one document per task, agent, board, webhook payload and event.

The seam: `follow_activity` is a log consumer (settings.ACTIVITY_LOG_CONSUMERS): it follows the
committed activity log by its own cursor, in the worker (right after the commit on the embedded
default), never inside the writer's transaction. Every domain write records an event, so the
index catches up with every change. Other apps never call this module; a new searchable kind
adds a builder here.

`search_reindex` (management command) calls `rebuild_index` for data written before this app
existed, or after a bulk operation that bypassed the services (payload pruning, cascades).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from activity.models import ActivityEvent
from agents.models import Agent
from boards import conversation
from boards.markdown import plain_text
from boards.models import Board, Task
from boards.templatetags.boards_tags import describe_event
from search import backends
from search.models import SearchDocument, SearchKind
from webhooks.models import WebhookPayload

TITLE_MAX = 300
# A tsvector holds at most 1 MB and positions up to 16,383: long bodies are cut, not refused.
BODY_MAX = 100_000
# Header names senders use for the event type, first match wins.
EVENT_HEADERS = ("x-github-event", "x-gitlab-event", "x-event-type", "x-event-key", "x-webhook-event")
# Events that change nothing a person searches for (presence flips every few seconds).
UNSEARCHABLE_VERBS = frozenset({"agent.presence_changed", "agent.status_changed", "task.reordered"})


@dataclass(frozen=True)
class DocumentFields:
    organization_id: int
    board_id: int | None
    title: str
    body: str
    url: str


def _task_document(task_id: int) -> DocumentFields | None:
    task = Task.objects.filter(pk=task_id).first()
    if task is None:
        return None
    comments = list(conversation.task_messages(task=task).values_list("body", flat=True))
    return DocumentFields(
        organization_id=Board.objects.filter(pk=task.board_id).values_list("organization_id", flat=True)[0],
        board_id=task.board_id,
        title=task.title,
        # Indexed as plain text: an excerpt shows "182 ms", not "**182 ms**".
        body="\n\n".join(plain_text(text) for text in [task.description, *comments]),
        url=reverse("boards:task-detail", args=[task.board_id, task.pk]),
    )


def _agent_document(agent_id: int) -> DocumentFields | None:
    agent = Agent.objects.filter(pk=agent_id).first()
    if agent is None:
        return None
    return DocumentFields(
        organization_id=agent.organization_id,
        board_id=None,
        title=agent.name,
        body=agent.description,
        url=reverse("agents:agent-detail", args=[agent.pk]),
    )


def _board_document(board_id: int) -> DocumentFields | None:
    board = Board.objects.filter(pk=board_id).first()
    if board is None:
        return None
    return DocumentFields(
        organization_id=board.organization_id,
        board_id=board.pk,
        title=board.name,
        body=board.description,
        url=reverse("boards:board-detail", args=[board.pk]),
    )


def payload_event_name(payload: WebhookPayload) -> str:
    """The sender's event name: a known header, else an "event"/"type"/"action" key of the JSON."""
    headers = payload.headers or {}
    for header in EVENT_HEADERS:
        if headers.get(header):
            return str(headers[header])[:100]
    if isinstance(payload.payload, dict):
        for key in ("event", "type", "action"):
            if isinstance(payload.payload.get(key), str):
                return payload.payload[key][:100]
    return ""


def _payload_document(payload_id: int) -> DocumentFields | None:
    payload = WebhookPayload.objects.select_related("webhook", "board").filter(pk=payload_id).first()
    if payload is None:
        return None
    source = payload.webhook.description or f"webhook {payload.webhook_id}"
    event_name = payload_event_name(payload)
    text = bytes(payload.body)[:BODY_MAX].decode("utf-8", errors="replace")
    return DocumentFields(
        organization_id=payload.board.organization_id,
        board_id=payload.board_id,
        title=f"{source} · {event_name}" if event_name else source,
        body=f"{event_name}\n{text}",
        url=reverse("webhooks:payload-detail", args=[payload.pk]),
    )


def _activity_document(event: ActivityEvent) -> DocumentFields:
    url = (
        reverse("boards:board-activity", args=[event.board_id])
        if event.board_id
        else reverse("boards:activity")
    )
    return DocumentFields(
        organization_id=event.organization_id,
        board_id=event.board_id,
        # The feed sentence names who did it already ("maria created …"); text, not HTML.
        title=html.unescape(strip_tags(describe_event(event))),
        # The names in the detail ("release-bot", a task title) are what people type.
        body=" ".join(
            [event.verb, *(plain_text(v) for v in (event.detail or {}).values() if isinstance(v, str))]
        ),
        url=url,
    )


BUILDERS: dict[str, Callable[[int], DocumentFields | None]] = {
    SearchKind.TASK: _task_document,
    SearchKind.AGENT: _agent_document,
    SearchKind.BOARD: _board_document,
    SearchKind.PAYLOAD: _payload_document,
    SearchKind.ACTIVITY: lambda pk: _activity_document(ActivityEvent.objects.get(pk=pk)),
}
# An event's target_type -> the document kind it changes.
TARGET_KINDS = {
    "task": SearchKind.TASK,
    "agent": SearchKind.AGENT,
    "board": SearchKind.BOARD,
    "webhookpayload": SearchKind.PAYLOAD,
}


def _write(kind: str, object_id: int, fields: DocumentFields) -> None:
    title, body = fields.title[:TITLE_MAX], fields.body[:BODY_MAX]
    # An upsert on (kind, object_id): two writers indexing the same object cannot collide.
    SearchDocument.objects.bulk_create(
        [
            SearchDocument(
                kind=kind,
                object_id=object_id,
                organization_id=fields.organization_id,
                board_id=fields.board_id,
                title=title,
                body=body,
                url=fields.url,
                updated_at=timezone.now(),
            )
        ],
        update_conflicts=True,
        unique_fields=["kind", "object_id"],
        update_fields=["organization_id", "board_id", "title", "body", "url", "updated_at"],
    )
    backends.current().store(kind=kind, object_id=object_id, title=title, body=body)


def index_object(*, kind: str, object_id: int) -> None:
    """(Re)build the document of one object from the database; drop it if the object is gone."""
    fields = BUILDERS[kind](int(object_id))
    if fields is None:
        remove_objects(kind=kind, object_ids=[object_id])
    else:
        _write(kind, int(object_id), fields)


def remove_objects(*, kind: str, object_ids: Iterable[int]) -> None:
    documents = SearchDocument.objects.filter(kind=kind, object_id__in=[int(i) for i in object_ids])
    ids = list(documents.values_list("pk", flat=True))
    if ids:
        backends.current().forget(ids)
        SearchDocument.objects.filter(pk__in=ids).delete()


def _rebuilds_its_task(event: ActivityEvent) -> bool:
    """A comment, or an edit or delete in a task's thread (its conversation), changes the task's
    document. (A post records `comment.added` too; indexing it twice costs one rebuild.)"""
    return event.target_type == "comment" or (
        event.target_type == "chat_message" and bool(event.detail.get("thread_task_id"))
    )


def _target_id(event: ActivityEvent) -> int | None:
    if event.target_type == "comment":
        raw = event.detail.get("task_id")
    elif event.target_type == "chat_message":
        raw = event.detail.get("thread_task_id")
    else:
        raw = event.target_id
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def follow_activity(event: ActivityEvent, agent_ids: Sequence[int] = ()) -> None:
    """The listener: index the event itself and refresh (or drop) the object it changed."""
    if event.verb in UNSEARCHABLE_VERBS:
        return
    _write(SearchKind.ACTIVITY, event.pk, _activity_document(event))
    target_id = _target_id(event)
    if target_id is None:
        return
    if event.target_type == "boardwebhook" and event.verb == "webhook.deleted":
        # The payloads went with the webhook (a cascade, no event each), before this consumer of
        # the log got here: drop the board's payload documents whose payload no longer exists.
        indexed = SearchDocument.objects.filter(kind=SearchKind.PAYLOAD, board_id=event.board_id)
        kept = WebhookPayload.objects.filter(board_id=event.board_id).values("pk")
        gone = indexed.exclude(object_id__in=kept)
        remove_objects(kind=SearchKind.PAYLOAD, object_ids=list(gone.values_list("object_id", flat=True)))
        return
    rebuilds_task = _rebuilds_its_task(event)
    kind = SearchKind.TASK if rebuilds_task else TARGET_KINDS.get(event.target_type)
    if kind is None:
        return
    if event.verb.endswith(".deleted") and not rebuilds_task:
        # Recorded just before the row is deleted: building from the row would index it again.
        remove_objects(kind=kind, object_ids=[target_id])
    else:
        index_object(kind=kind, object_id=target_id)


SOURCES: dict[str, Callable[[], Iterable[int]]] = {
    SearchKind.TASK: lambda: Task.objects.values_list("pk", flat=True).iterator(),
    SearchKind.AGENT: lambda: Agent.objects.values_list("pk", flat=True).iterator(),
    SearchKind.BOARD: lambda: Board.objects.values_list("pk", flat=True).iterator(),
    SearchKind.PAYLOAD: lambda: WebhookPayload.objects.values_list("pk", flat=True).iterator(),
    SearchKind.ACTIVITY: lambda: (
        ActivityEvent.objects.exclude(verb__in=UNSEARCHABLE_VERBS).values_list("pk", flat=True).iterator()
    ),
}


def rebuild_index(*, kinds: Iterable[str] = tuple(SearchKind.values)) -> dict[str, int]:
    """Index every object of `kinds` again and drop documents whose object is gone."""
    counts: dict[str, int] = {}
    for kind in kinds:
        seen: set[int] = set()
        for object_id in list(SOURCES[kind]()):
            with transaction.atomic():
                index_object(kind=kind, object_id=object_id)
            seen.add(object_id)
        indexed = set(SearchDocument.objects.filter(kind=kind).values_list("object_id", flat=True))
        stale = sorted(indexed - seen)
        for start in range(0, len(stale), 500):  # SQLite caps the parameters of one statement
            remove_objects(kind=kind, object_ids=stale[start : start + 500])
        counts[kind] = len(seen)
    return counts
