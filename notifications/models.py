"""Notifications for people: what happened that concerns them, read or unread; and what they
asked to hear about (watched tasks) or not (muted boards). Writes go through
notifications.services."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class NotificationKind(models.TextChoices):
    MENTION = "mention", "Mention"
    HERE = "here", "@here"
    TASK_STATUS = "task_status", "Task status"
    APPROVAL = "approval", "Approval"
    ALERT = "alert", "Alert"


class NotificationQuerySet(models.QuerySet):
    def for_recipient(self, user) -> NotificationQuerySet:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(recipient=user)

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    board = models.ForeignKey(
        "boards.Board", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    # Plain text, escaped when shown: it may quote what an agent or a person wrote.
    title = models.CharField(max_length=200)
    excerpt = models.CharField(max_length=300, blank=True)
    url = models.CharField(max_length=500, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The notifications page: a person's newest first.
            models.Index(fields=["recipient", "-id"], name="notification_recipient_id"),
            # The bell's unread count, read on every connect of the notification stream.
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient} · {self.title}"


class BoardMute(models.Model):
    """A person who asked to hear nothing from a board: notify() skips them there."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    board = models.ForeignKey("boards.Board", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "board"], name="boardmute_unique")]


class TaskWatch(models.Model):
    """A person who wants to hear when a task changes status (its creator hears anyway)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey("boards.Task", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "task"], name="taskwatch_unique")]
