"""The activity log: one append-only table that is the feed, the audit trail and the replay source.

Foreign keys to boards and agents are by name: the log sits below the domain apps and never
imports them (see docs/architecture.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.actors import ActorKind


class ActivityEventQuerySet(models.QuerySet):
    def visible_to(self, user) -> ActivityEventQuerySet:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(organization__memberships__user=user)


class ActivityEvent(models.Model):
    """Append-only: the feed, the audit trail and the source of live updates and replay.

    Never updated or deleted by the app; the id orders events and is the replay cursor.
    """

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="activity")
    board = models.ForeignKey(
        "boards.Board", on_delete=models.CASCADE, null=True, blank=True, related_name="activity"
    )
    actor_kind = models.CharField(max_length=8, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_agent = models.ForeignKey(
        "agents.Agent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept as written so the feed still reads right after the actor is renamed or deleted.
    actor_label = models.CharField(max_length=150)
    verb = models.CharField(max_length=64)
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = ActivityEventQuerySet.as_manager()

    class Meta:
        # The table keeps the name it was created with in boards (moved in activity 0001, no copy).
        db_table = "boards_activityevent"
        ordering = ["-id"]
        indexes = [
            # Board feed and websocket replay: events of a board after a given id.
            models.Index(fields=["board", "id"], name="activity_board_id"),
            # Organization feed and the /ws/activity/ replay.
            models.Index(fields=["organization", "id"], name="activity_org_id"),
            models.Index(fields=["verb"], name="activity_verb"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.verb} {self.target_type}:{self.target_id}"
