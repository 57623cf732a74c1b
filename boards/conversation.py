"""A task's one conversation: the seam through which boards writes and reads it.

Comments and the task's chat thread are one conversation, kept by the app above boards that
stores messages (chat: its task threads). Boards may not import it, so the store is named in
settings.TASK_CONVERSATION (a dotted module path, the settings style of every seam: see
docs/architecture.md, "Seams"), and `boards.services.add_comment`, the note of a move and the
review rule reach it only through the two functions below. The store does the rest: its own
permission checks, mentions, events (`comment.added` among them) and limits.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.utils.module_loading import import_module

if TYPE_CHECKING:
    from boards.models import Task
    from core.actors import Actor


class TaskConversation(Protocol):
    """What the module named in settings.TASK_CONVERSATION provides."""

    def post_comment(self, *, task: Task, actor: Actor, body: str) -> Any:
        """Write `body` into the task's conversation as `actor` (already authorised by the
        caller; the store may check again) and return the stored message, which has at least
        `id`, `task_id`, `body`, `author_user`, `author_agent`, `created_at`."""

    def task_messages(self, *, task: Task) -> QuerySet:
        """The conversation's live messages (deletes left out), oldest first."""


@cache
def _load(path: str) -> ModuleType:
    return import_module(path)


def store() -> TaskConversation:
    path = getattr(settings, "TASK_CONVERSATION", "")
    if not path:
        # Fail loudly: with no store a comment would have nowhere to go.
        raise ImproperlyConfigured("settings.TASK_CONVERSATION names no conversation store.")
    return cast(TaskConversation, _load(path))


def post_comment(*, task: Task, actor: Actor, body: str) -> Any:
    """Add `body` to the task's conversation through the configured store."""
    return store().post_comment(task=task, actor=actor, body=body)


def task_messages(*, task: Task) -> QuerySet:
    """The task's conversation, oldest first: the comment APIs, the review rule, search."""
    return store().task_messages(task=task)
