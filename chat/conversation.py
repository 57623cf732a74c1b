"""The store of a task's one conversation (settings.TASK_CONVERSATION, read by
boards.conversation): its chat thread. A comment is a message in the thread."""

from __future__ import annotations

from boards.models import Task
from chat import services
from chat.models import ChatMessage, ChatMessageQuerySet
from core.actors import Actor


def post_comment(*, task: Task, actor: Actor, body: str) -> ChatMessage:
    return services.post_task_comment(task=task, actor=actor, body=body)


def task_messages(*, task: Task) -> ChatMessageQuerySet:
    return (
        ChatMessage.objects.in_thread(board_id=task.board_id, task_id=task.pk)
        .filter(deleted_at__isnull=True)
        .select_related("author_user", "author_agent")
        .order_by("created_at", "id")
    )
