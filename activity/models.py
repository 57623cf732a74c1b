"""The activity log: one append-only table that is the feed, the audit trail and the replay source.

Foreign keys to boards and agents are by name: the log sits below the domain apps and never
imports them (see docs/architecture.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.actors import ActorKind
from core.querysets import OrganizationScopedQuerySet


class ActivityEvent(models.Model):
    """Append-only: the feed, the audit trail and the source of live updates and replay.

    Never updated by the app. `position` orders the log in commit order and is the cursor of
    every stream and log consumer (docs/realtime.md, "The cursor"); the database assigns it
    while the writing transaction commits, so it is empty until then.
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
    # Assigned by the database at commit (migration 0003): a transaction that commits later always
    # gets a larger position, so a reader that has seen position P can never be handed a smaller
    # one afterwards. Ids are assigned at insert and do not have that property.
    position = models.BigIntegerField(null=True, blank=True, editable=False)
    # The agents whose own streams receive this event live (besides the board and organization
    # groups): kept on the row so the live publisher, which runs after the commit and possibly in
    # another process, reaches the same groups the writer asked for.
    notify_agent_ids = models.JSONField(default=list, blank=True)
    # False for entries that are only recorded (audit), never pushed to open streams.
    live = models.BooleanField(default=True)

    objects = OrganizationScopedQuerySet.as_manager()

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
            # Log consumers and the live publisher: every event after a cursor, in commit order.
            models.Index(
                fields=["position"], name="activity_position", condition=models.Q(position__isnull=False)
            ),
            # Board and organization stream replay: a scope's events after a cursor.
            models.Index(
                fields=["board", "position"],
                name="activity_board_position",
                condition=models.Q(position__isnull=False),
            ),
            models.Index(
                fields=["organization", "position"],
                name="activity_org_position",
                condition=models.Q(position__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.verb} {self.target_type}:{self.target_id}"


class LogConsumerCursor(models.Model):
    """How far one consumer of the log (activity.following) has got: the position of the last event
    whose effect is committed. Advanced in the same transaction as the effect, so a consumer that
    crashes resumes exactly where its last committed batch ended."""

    name = models.CharField(max_length=64, primary_key=True)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    # The last failure of a batch (its exception class and message), cleared by the next success;
    # the operations page shows it beside the lag.
    last_error = models.CharField(max_length=500, blank=True)
    failures = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} at {self.position}"
