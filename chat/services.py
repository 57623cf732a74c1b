"""Every write to board chat; each records its activity events (published on commit).

Who may do what (boards.services.authorize does the membership and agent checks):
- post: operators and admins of the organization; agents on the board. Viewers read only.
- edit, delete: the author (person or agent), or an admin of the organization.
- pin, unpin: operators and admins (the pins are the board's memory, which agents read).
Limits, in the order they are checked after permissions: body required and at most
CHAT_MESSAGE_MAX_CHARS; at most CHAT_MENTION_FANOUT_MAX people + agents notified by one message
(more is refused, not silently truncated); @here/@board at most CHAT_HERE_RATE per author and
board; posts at most CHAT_POST_RATE per author (429 with Retry-After), except a task's
comments (post_task_comment).

A message in a task's thread is also the task's comment (`post_task_comment` is the store of
boards.conversation; docs/chat.md, "One conversation per task"): it records `comment.added` too.

A mention notifies each named person once (notifications.notify, which skips muted boards) and
wakes each named agent with one `chat.mentioned` event on its stream, which the delivery outbox
also sends, signed, to push-mode agents.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import dateformat, timezone

from activity.services import record_activity
from boards.mentions import Mentions, board_agents, board_members, resolve_mentions
from boards.models import Board, Task
from chat.mentions import render_message_body
from chat.models import ChatMention, ChatMessage, MentionKind
from core.access import authorize
from core.actors import Actor, ActorKind
from core.models import Role
from infra.exceptions import Conflict, DomainError, NotFound, PermissionDenied, RateLimited
from infra.ratelimits import hit
from notifications.models import NotificationKind
from notifications.services import notify

EXCERPT_CHARS = 200


def _author_key(actor: Actor) -> str:
    if actor.kind == ActorKind.AGENT:
        return f"agent:{actor.agent.pk}"
    if actor.kind == ActorKind.USER:
        return f"user:{actor.user.pk}"
    return f"{actor.kind}:{actor.label}"


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise DomainError("A message cannot be empty.", code="body_required")
    limit = settings.CHAT_MESSAGE_MAX_CHARS
    if len(body) > limit:
        raise DomainError(f"A message is at most {limit} characters.", code="body_too_long")
    return body


def _require_writable(board: Board) -> None:
    if board.archived:
        raise Conflict("This board is archived; its chat is read-only.", code="board_archived")


def _check_rate(limiter: str, key: str, rate: str, message: str) -> None:
    decision = hit(limiter, key, rate)
    if not decision.allowed:
        raise RateLimited(message, retry_after=decision.retry_after)


def message_url(message: ChatMessage) -> str:
    if message.task_id:
        base = reverse("boards:task-detail", args=[message.board_id, message.task_id])
    else:
        base = reverse("boards:board-detail", args=[message.board_id])
    return f"{base}#chat-message-{message.pk}"


def _summary(message: ChatMessage) -> dict[str, Any]:
    summary = {
        "message_id": message.pk,
        "thread_task_id": message.task_id,
        "excerpt": message.body[:EXCERPT_CHARS],
    }
    if message.task_id:
        # The feed sentence names the task: "ann commented on Fix the deploy".
        summary["thread_task_title"] = message.task.title
    return summary


def message_wire(message: ChatMessage) -> dict[str, Any]:
    """What a client needs to show the message, carried in its posted/edited event (`message`).

    Rendered once here, at the write, instead of once per open page: before, every client that
    saw the event fetched the message's fragment, and 100 open boards meant 100 renders and
    requests per message. `body_html` is the fragment's own sanitised Markdown with mention
    links (chat.mentions.render_message_body); the viewer's controls are the client's to add."""
    created = timezone.localtime(message.created_at)
    return {
        "id": message.pk,
        "task_id": message.task_id,
        "author_label": message.author_label,
        "author_user_id": message.author_user_id,
        "author_agent_id": message.author_agent_id,
        "created_at": created.isoformat(),
        "created_label": dateformat.format(created, "M j, H:i"),
        "body": message.body,
        "body_html": str(render_message_body(message)),
        "edited": message.edited_at is not None,
        "pinned": message.pinned_at is not None,
    }


def _record(message: ChatMessage, actor: Actor, verb: str, detail: dict[str, Any], **kwargs: Any) -> None:
    record_activity(
        organization=message.board.organization_id,
        board=message.board_id,
        verb=verb,
        actor=actor,
        target_type="chat_message",
        target_id=message.pk,
        detail=detail,
        **kwargs,
    )


def _recipients(message: ChatMessage, mentions: Mentions, actor: Actor) -> tuple[set[int], set[int]]:
    """The people and agents a message notifies: those named, plus everyone for @here; never
    its author."""
    user_ids = {user.pk for user in mentions.users}
    agent_ids = {agent.pk for agent in mentions.agents}
    if mentions.here:
        user_ids |= set(board_members(message.board).values_list("pk", flat=True))
        agent_ids |= set(board_agents(message.board).values_list("pk", flat=True))
    user_ids.discard(actor.user.pk if actor.user is not None else None)
    agent_ids.discard(actor.agent.pk if actor.agent is not None else None)
    return user_ids, agent_ids


def _check_fan_out(user_ids: set[int], agent_ids: set[int]) -> None:
    cap = settings.CHAT_MENTION_FANOUT_MAX
    if len(user_ids) + len(agent_ids) > cap:
        raise DomainError(
            f"This message would notify {len(user_ids) + len(agent_ids)} people and agents; one message "
            f"may notify at most {cap}.",
            code="too_many_mentions",
        )


def _store_mentions(message: ChatMessage, mentions: Mentions) -> None:
    ChatMention.objects.filter(message=message).delete()
    ChatMention.objects.bulk_create(
        [
            ChatMention(message=message, kind=MentionKind.USER, user=u, name=u.get_username().lower())
            for u in mentions.users
        ]
        + [
            ChatMention(message=message, kind=MentionKind.AGENT, agent=a, name=a.name.lower())
            for a in mentions.agents
        ]
    )


def _announce_mentions(
    message: ChatMessage, actor: Actor, user_ids: set[int], agent_ids: set[int], *, here: bool
) -> None:
    """Notify the people and wake the agents (stream event + signed push delivery)."""
    if not user_ids and not agent_ids:
        return
    board = message.board
    where = f"“{message.task.title}”" if message.task_id else board.name
    notify(
        recipients=user_ids,
        kind=NotificationKind.HERE if here else NotificationKind.MENTION,
        organization=board.organization_id,
        board=board,
        url=message_url(message),
        title=f"{actor.label} {'wrote to everyone' if here else 'mentioned you'} in {where}"[:200],
        excerpt=message.body[:300],
        actor_label=actor.label,
        target_type="chat_message",
        target_id=message.pk,
    )
    _record(
        message,
        actor,
        "chat.mentioned",
        {
            **_summary(message),
            "agent_ids": sorted(agent_ids),
            "user_ids": sorted(user_ids),
            "here": here,
        },
        notify_agent_ids=sorted(agent_ids),
    )


def _resolve_and_limit(message: ChatMessage, actor: Actor, body: str) -> tuple[Mentions, set[int], set[int]]:
    mentions = resolve_mentions(board=message.board, text=body)
    user_ids, agent_ids = _recipients(message, mentions, actor)
    _check_fan_out(user_ids, agent_ids)
    return mentions, user_ids, agent_ids


@transaction.atomic
def post_message(*, board: Board, actor: Actor, body: str, task: Task | None = None) -> ChatMessage:
    """A new message in the board's chat, or in `task`'s thread when given."""
    return _post(board=board, actor=actor, body=body, task=task, rate_limited=True)


@transaction.atomic
def post_task_comment(*, task: Task, actor: Actor, body: str) -> ChatMessage:
    """A comment on `task`: a message in its thread (boards.conversation's store, so every path
    that comments writes here: the comment APIs, MCP, move notes, rules, automations).

    Not under CHAT_POST_RATE: a move's note must not fail the move, and the comment endpoints
    were never under a per-message rate (AGENT_RATE bounds an agent's calls); the rest is
    post_message's (permissions, length, mentions and their cap, @here's rate, events)."""
    return _post(board=task.board, actor=actor, body=body, task=task, rate_limited=False)


def _post(*, board: Board, actor: Actor, body: str, task: Task | None, rate_limited: bool) -> ChatMessage:
    authorize(actor, organization=board, role=Role.OPERATOR, board=board)
    _require_writable(board)
    if task is not None and task.board_id != board.pk:
        raise NotFound("Task not found.")
    body = _clean_body(body)
    message = ChatMessage(
        board=board,
        task=task,
        author_user=actor.user,
        author_agent=actor.agent,
        author_label=actor.label[:150],
        body=body,
    )
    mentions, user_ids, agent_ids = _resolve_and_limit(message, actor, body)
    if mentions.here:
        _check_rate(
            "chat_here",
            f"{_author_key(actor)}:board:{board.pk}",
            settings.CHAT_HERE_RATE,
            "@here and @board are limited on this board; try again later or mention people by name.",
        )
    if rate_limited and actor.kind in (ActorKind.USER, ActorKind.AGENT):
        # The system (standups) posts on a schedule that bounds it, one message per board and
        # day: one shared "system" budget would refuse the 31st board's standup.
        _check_rate(
            "chat_post",
            _author_key(actor),
            settings.CHAT_POST_RATE,
            "Too many messages; wait a little before posting again.",
        )
    message.mentions_here = mentions.here
    message.save()
    _store_mentions(message, mentions)
    mentioned_user_ids = sorted(u.pk for u in mentions.users)
    mentioned_agent_ids = sorted(a.pk for a in mentions.agents)
    _record(
        message,
        actor,
        "chat.message_posted",
        {
            **_summary(message),
            "mentioned_user_ids": mentioned_user_ids,
            "mentioned_agent_ids": mentioned_agent_ids,
            "here": mentions.here,
            "message": message_wire(message),
        },
    )
    if task is not None:
        _record_comment_added(
            message,
            task,
            actor,
            [pk for pk in mentioned_user_ids if pk in user_ids],
            [pk for pk in mentioned_agent_ids if pk in agent_ids],
        )
    _announce_mentions(message, actor, user_ids, agent_ids, here=mentions.here)
    return message


def _record_comment_added(
    message: ChatMessage, task: Task, actor: Actor, user_ids: list[int], agent_ids: list[int]
) -> None:
    """A message in a task's thread is a comment on the task: `comment.added`, as comments
    recorded it before they moved into the thread, so everything that listens to comments
    (agents, subscriptions, rules, automations, alerts, search, the task's history) still hears
    every one. Addressed, as before, to the assignee and the agents it names. The people it
    names were notified by _announce_mentions (the notifications consumer skips an event with
    `message_id`); the post itself is on the board feed (`comment.added` is not)."""
    record_activity(
        organization=message.board.organization_id,
        board=message.board_id,
        verb="comment.added",
        actor=actor,
        target_type="comment",
        target_id=message.pk,
        detail={
            "task_id": task.pk,
            "title": task.title,
            "status": task.status,
            "comment_id": message.pk,
            "message_id": message.pk,
            "excerpt": message.body[:EXCERPT_CHARS],
            "mentioned_user_ids": user_ids,
            "mentioned_agent_ids": agent_ids,
        },
        notify_agent_ids=list(dict.fromkeys(i for i in (task.assignee_agent_id, *agent_ids) if i)),
    )


def _authorize_author_or_admin(message: ChatMessage, actor: Actor) -> None:
    board = message.board
    if actor.kind == ActorKind.AGENT:
        authorize(actor, organization=board, role=Role.OPERATOR, board=board)
        if message.author_agent_id != actor.agent.pk:
            raise PermissionDenied("Agents may change only their own messages.")
        return
    if actor.kind == ActorKind.USER and message.author_user_id == actor.user.pk:
        authorize(actor, organization=board, role=Role.OPERATOR, board=board)
        return
    authorize(actor, organization=board, role=Role.VIEWER, board=board)
    try:
        authorize(actor, organization=board, role=Role.ADMIN, board=board)
    except PermissionDenied:
        raise PermissionDenied("Only the author or an admin may change this message.") from None


def _locked(message: ChatMessage) -> ChatMessage:
    # Two edits (or an edit and a delete) at once: the second reads the first's result.
    locked = (
        ChatMessage.objects.select_for_update(of=("self",)).select_related("board", "task").get(pk=message.pk)
    )
    if locked.is_deleted:
        raise Conflict("This message was deleted.", code="message_deleted")
    return locked


@transaction.atomic
def edit_message(*, message: ChatMessage, actor: Actor, body: str) -> ChatMessage:
    """Change a message's text (recorded with the previous text); people and agents it newly
    mentions are notified, those it already mentioned are not notified again."""
    _authorize_author_or_admin(message, actor)
    message = _locked(message)
    _require_writable(message.board)
    body = _clean_body(body)
    before_users, before_agents = _recipients(
        message, resolve_mentions(board=message.board, text=message.body), actor
    )
    mentions, user_ids, agent_ids = _resolve_and_limit(message, actor, body)
    if mentions.here and not message.mentions_here:
        _check_rate(
            "chat_here",
            f"{_author_key(actor)}:board:{message.board_id}",
            settings.CHAT_HERE_RATE,
            "@here and @board are limited on this board; try again later or mention people by name.",
        )
    previous, was_here = message.body, message.mentions_here
    message.body = body
    message.mentions_here = mentions.here
    message.edited_at = timezone.now()
    message.save(update_fields=["body", "mentions_here", "edited_at"])
    _store_mentions(message, mentions)
    _record(
        message,
        actor,
        "chat.message_edited",
        {**_summary(message), "previous_excerpt": previous[:EXCERPT_CHARS], "message": message_wire(message)},
    )
    _announce_mentions(
        message,
        actor,
        user_ids - before_users,
        agent_ids - before_agents,
        here=mentions.here and not was_here,
    )
    return message


@transaction.atomic
def delete_message(*, message: ChatMessage, actor: Actor) -> ChatMessage:
    """Remove a message's text; the row stays (as “message deleted”) and the event records what
    it said, for the audit."""
    _authorize_author_or_admin(message, actor)
    message = _locked(message)
    previous = message.body
    message.body = ""
    message.deleted_at = timezone.now()
    message.pinned_at = None
    message.save(update_fields=["body", "deleted_at", "pinned_at"])
    ChatMention.objects.filter(message=message).delete()
    _record(
        message,
        actor,
        "chat.message_deleted",
        {
            "message_id": message.pk,
            "thread_task_id": message.task_id,
            "excerpt": previous[:EXCERPT_CHARS],
        },
    )
    return message


@transaction.atomic
def set_pinned(*, message: ChatMessage, actor: Actor, pinned: bool) -> ChatMessage:
    """Pin a message to the board's memory (or take it off). People with the operator role."""
    board = message.board
    authorize(actor, organization=board, role=Role.OPERATOR, board=board, allow_agent=False)
    message = _locked(message)
    _require_writable(message.board)
    if (message.pinned_at is not None) == pinned:
        return message
    message.pinned_at = timezone.now() if pinned else None
    message.save(update_fields=["pinned_at"])
    _record(message, actor, "chat.message_pinned" if pinned else "chat.message_unpinned", _summary(message))
    return message
