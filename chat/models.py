"""Board chat: messages between people and agents on a board (or in one task's thread), with
structured mentions and pins (the board's memory). Writes go through chat.services."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.querysets import OrganizationScopedQuerySet


class ChatMessageQuerySet(OrganizationScopedQuerySet):
    organization_path = "board__organization"

    def in_thread(self, *, board_id: int, task_id: int | None) -> ChatMessageQuerySet:
        """The board's chat (task_id None) or one task's thread."""
        return self.filter(board_id=board_id, task_id=task_id)

    def with_authors(self) -> ChatMessageQuerySet:
        return self.select_related("author_user", "author_agent").prefetch_related("mentions")


class ChatMessage(models.Model):
    board = models.ForeignKey("boards.Board", on_delete=models.CASCADE, related_name="chat_messages")
    # Set for a task's thread; the board's own chat has none.
    task = models.ForeignKey(
        "boards.Task", on_delete=models.CASCADE, null=True, blank=True, related_name="chat_messages"
    )
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author_agent = models.ForeignKey(
        "agents.Agent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept as written so the chat still reads right after the author is renamed or deleted.
    author_label = models.CharField(max_length=150)
    body = models.TextField()
    mentions_here = models.BooleanField(default=False)
    pinned_at = models.DateTimeField(null=True, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    # Deleted messages keep their row (the thread's shape and the audit stay); the body goes.
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The boards.Comment this message was copied from (chat 0002): the copy runs once per comment
    # and stays traceable to the old row.
    legacy_comment_id = models.PositiveBigIntegerField(null=True, blank=True, unique=True, editable=False)

    objects = ChatMessageQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            # The chat panel and the agent API: a thread's messages before/after an id.
            models.Index(fields=["board", "task", "id"], name="chatmessage_thread_id"),
            # The board's memory: its pinned messages.
            models.Index(fields=["board"], condition=Q(pinned_at__isnull=False), name="chatmessage_pinned"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(author_user__isnull=True) | Q(author_agent__isnull=True),
                name="chatmessage_single_author",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.author_label}: {self.body[:40]}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class MentionKind(models.TextChoices):
    USER = "user", "Person"
    AGENT = "agent", "Agent"


class ChatMention(models.Model):
    """One person or agent a message names with @; the text keeps the @name as typed."""

    message = models.ForeignKey(ChatMessage, on_delete=models.CASCADE, related_name="mentions")
    kind = models.CharField(max_length=8, choices=MentionKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # The name as matched (lower-cased), to turn @name into a link when rendering.
    name = models.CharField(max_length=150)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="chatmention_unique_user"),
            models.UniqueConstraint(fields=["message", "agent"], name="chatmention_unique_agent"),
            models.CheckConstraint(
                condition=(
                    Q(kind="user", user__isnull=False, agent__isnull=True)
                    | Q(kind="agent", agent__isnull=False, user__isnull=True)
                ),
                name="chatmention_one_target",
            ),
        ]
