"""The task-flow rollup behind the overview's flow metrics (docs/overview.md).

Cycle and lead time need, per task, the first move to in progress and the move to done that
holds; reading those out of the activity log for every page view means correlated subqueries over
every status event. One row per task, caught up from the log (overview.rollup), turns every flow
metric into an indexed range scan over this table.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TaskFlowQuerySet(models.QuerySet):
    def in_scope(self, organization_id: int, board_ids: list[int] | None = None) -> TaskFlowQuerySet:
        flows = self.filter(organization_id=organization_id)
        return flows if board_ids is None else flows.filter(board_id__in=board_ids)

    def done_between(self, start, end) -> TaskFlowQuerySet:
        return self.filter(done_at__gte=start, done_at__lt=end)


class TaskFlow(models.Model):
    task = models.OneToOneField(
        "boards.Task", on_delete=models.CASCADE, primary_key=True, related_name="flow"
    )
    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    board = models.ForeignKey("boards.Board", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    # The first move to in progress ever; a task that skipped it ("never started") has none.
    started_at = models.DateTimeField(null=True, blank=True)
    # The move to done that holds: cleared when the task is reopened, set again when it is re-done.
    done_at = models.DateTimeField(null=True, blank=True)
    cycle_seconds = models.FloatField(null=True, blank=True)
    lead_seconds = models.FloatField(null=True, blank=True)
    # The current status, since when, and the event that set it (ties on time go to the later id).
    status = models.CharField(max_length=16)
    status_changed_at = models.DateTimeField()
    status_event_id = models.BigIntegerField(default=0)

    objects = TaskFlowQuerySet.as_manager()

    class Meta:
        indexes = [
            # Tasks done, throughput, cycle/lead percentiles and the histogram: done in a window.
            models.Index(fields=["organization", "done_at"], name="taskflow_org_done"),
            models.Index(fields=["board", "done_at"], name="taskflow_board_done"),
            # The cumulative-flow diagram's arrivals and starts per board and day.
            models.Index(fields=["board", "created_at"], name="taskflow_board_created"),
            models.Index(fields=["board", "started_at"], name="taskflow_board_started"),
            # Needs attention: blocked / in review for longer than a threshold.
            models.Index(fields=["organization", "status", "status_changed_at"], name="taskflow_org_status"),
        ]

    def __str__(self) -> str:
        return f"flow of task {self.task_id}"


class RollupCursor(models.Model):
    """How far a rollup has read the activity log (by event id)."""

    name = models.CharField(max_length=40, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at event {self.last_event_id}"


class OnboardingDismissal(models.Model):
    """A person hid the first-run checklist of an organization (per person: a colleague who has
    not dismissed it still sees it until every step is done)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    dismissed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One row per person and organization; the overview reads it by this pair.
            models.UniqueConstraint(fields=["user", "organization"], name="onboarding_dismissal_unique"),
        ]
