"""Schedules, event automations, task and pipeline templates, and the outcome of every action.

Writes go through automations.services; actions run through automations.engine, which is also
what webhook rules call, so an action behaves and is recorded the same whoever triggered it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class BoardScopedQuerySet(models.QuerySet):
    def visible_to(self, user):
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(board__organization__memberships__user=user, board__archived=False)


class BoardTemplate(models.Model):
    """What a board's templates share: a name unique on its board, timestamps, the board-scoped
    manager. Each concrete template keeps its own `board` (its own related name) and its own
    `description` (its own length limit); the unique constraint is named per model."""

    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BoardScopedQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["board", "name"], name="%(class)s_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class TaskTemplate(BoardTemplate):
    """A task to stamp out: title, description, tags and a checklist (rendered as a Markdown
    task list at the end of the description: tasks have no checklist of their own)."""

    board = models.ForeignKey("boards.Board", on_delete=models.CASCADE, related_name="task_templates")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=10000)
    priority = models.CharField(max_length=8, default="medium")
    tags = models.JSONField(default=list, blank=True)
    checklist = models.JSONField(default=list, blank=True)

    class Meta(BoardTemplate.Meta):
        pass


class PipelineTemplate(BoardTemplate):
    """Ordered steps, each a task; `steps` = [{"key", "title", "description", "depends_on":
    [keys of earlier steps], "assignee": "agent:<name>" | "user:<username>" | ""}]."""

    board = models.ForeignKey("boards.Board", on_delete=models.CASCADE, related_name="pipeline_templates")
    description = models.TextField(blank=True, max_length=2000)
    steps = models.JSONField(default=list)

    class Meta(BoardTemplate.Meta):
        pass


class Pipeline(models.Model):
    """One instantiation of a pipeline template: its tasks, whose statuses are its progress."""

    board = models.ForeignKey("boards.Board", on_delete=models.CASCADE, related_name="pipelines")
    template = models.ForeignKey(
        PipelineTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="pipelines"
    )
    name = models.CharField(max_length=200)
    started_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = BoardScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name


class PipelineTask(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="steps")
    task = models.ForeignKey("boards.Task", on_delete=models.CASCADE, related_name="pipeline_steps")
    key = models.CharField(max_length=40)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "key"], name="pipelinetask_unique_key"),
        ]


class MissedRunPolicy(models.TextChoices):
    RUN_ONCE = "run_once", "Run once for all the missed slots"
    SKIP = "skip", "Skip missed slots"


class Schedule(models.Model):
    """Actions on a board on a clock (a cron expression in `time_zone`).

    `next_run_at` is the next slot (UTC) to fire; beat's tick takes the due ones. The
    ScheduleRun row of a slot, unique, is what makes a slot fire once whatever beat does.
    """

    board = models.ForeignKey("boards.Board", on_delete=models.CASCADE, related_name="schedules")
    name = models.CharField(max_length=100)
    cron = models.CharField(max_length=100)
    time_zone = models.CharField(max_length=64, default="UTC")
    enabled = models.BooleanField(default=True)
    missed_policy = models.CharField(
        max_length=10, choices=MissedRunPolicy.choices, default=MissedRunPolicy.RUN_ONCE
    )
    actions = models.JSONField(default=list)
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BoardScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["board", "name"], name="schedule_unique_name"),
        ]
        indexes = [
            # Beat's tick: the enabled schedules whose next slot has come.
            models.Index(fields=["next_run_at"], name="schedule_due", condition=models.Q(enabled=True)),
        ]

    def __str__(self) -> str:
        return self.name


class RunStatus(models.TextChoices):
    FIRED = "fired", "Fired"
    SKIPPED = "skipped", "Skipped"
    STOPPED = "stopped", "Stopped by the loop guard"
    FAILED = "failed", "Failed"


class ScheduleRun(models.Model):
    """One slot of a schedule, fired or skipped. Unique per (schedule, slot): a second beat, a
    restarted worker or a duplicated message finds the row and does nothing."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="runs")
    slot = models.DateTimeField()
    status = models.CharField(max_length=10, choices=RunStatus.choices)
    message = models.CharField(max_length=500, blank=True)
    missed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-slot"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "slot"], name="schedulerun_once_per_slot"),
        ]


class Trigger(models.TextChoices):
    TASK_ENTERS_COLUMN = "task_enters_column", "A task enters a column"
    TASK_DONE = "task_done", "A task is done"
    TASK_LABELLED = "task_labelled", "A task gets a tag"
    APPROVAL_WAITING = "approval_waiting", "A task waits for approval longer than X minutes"
    AGENT_OFFLINE = "agent_offline", "An agent goes offline holding tasks"
    BUDGET_CROSSED = "budget_crossed", "A budget crosses a threshold (80 % by default)"


class Automation(models.Model):
    """When `trigger` happens on the board and every condition holds, run `actions`."""

    board = models.ForeignKey("boards.Board", on_delete=models.CASCADE, related_name="automations")
    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    trigger = models.CharField(max_length=24, choices=Trigger.choices)
    trigger_params = models.JSONField(default=dict, blank=True)
    conditions = models.JSONField(default=list, blank=True)
    actions = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BoardScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["board", "name"], name="automation_unique_name"),
        ]
        indexes = [
            # The log consumer's read: a board's enabled automations for one trigger.
            models.Index(
                fields=["board", "trigger"], name="automation_trigger", condition=models.Q(enabled=True)
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AutomationRun(models.Model):
    """One firing of an automation for one subject (`key`: the event, or the waiting approval).
    Unique per (automation, key): the approval sweep and a replayed batch fire once."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="runs")
    key = models.CharField(max_length=80)
    event_id = models.BigIntegerField(null=True, blank=True)
    depth = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=10, choices=RunStatus.choices)
    message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["automation", "key"], name="automationrun_once_per_key"),
        ]
        indexes = [
            # The rate limit: an automation's runs in the last minute.
            models.Index(fields=["automation", "created_at"], name="automationrun_recent"),
        ]


class SourceKind(models.TextChoices):
    RULE = "rule", "Webhook rule"
    SCHEDULE = "schedule", "Schedule"
    AUTOMATION = "automation", "Automation"
    MANUAL = "manual", "By hand"


class OutcomeStatus(models.TextChoices):
    APPLIED = "applied", "Applied"
    UNCHANGED = "unchanged", "Nothing to change"
    APPROVAL_REQUESTED = "approval", "Approval requested instead"
    SKIPPED = "skipped", "Nothing to act on"
    STOPPED = "stopped", "Stopped by the loop guard"
    FAILED = "failed", "Failed"


class ActionOutcome(models.Model):
    """What one action did, whoever triggered it (a webhook rule, a schedule, an automation, a
    person): the one outcome record of the action engine. Rows are only added."""

    board = models.ForeignKey("boards.Board", on_delete=models.CASCADE, related_name="action_outcomes")
    source_kind = models.CharField(max_length=10, choices=SourceKind.choices)
    source_id = models.BigIntegerField(null=True, blank=True)
    source_name = models.CharField(max_length=100, blank=True)
    # The firing: "slot:<iso>" of a schedule, "event:<id>" of an automation, "payload:<id>" of a rule.
    firing = models.CharField(max_length=80, blank=True)
    action = models.CharField(max_length=24, blank=True)
    status = models.CharField(max_length=10, choices=OutcomeStatus.choices)
    task = models.ForeignKey(
        "boards.Task", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message = models.CharField(max_length=500, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    depth = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The outcomes pages: a board's newest, and one schedule's or automation's newest.
            models.Index(fields=["board", "id"], name="actionoutcome_board"),
            models.Index(fields=["source_kind", "source_id", "id"], name="actionoutcome_source"),
        ]
