"""Boards and the work on them: groups, tasks, tags, dependencies, comments, approvals."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.ids import MAX_ID
from core.models import Organization, creation_stamps
from core.querysets import OrganizationScopedQuerySet
from core.vocabulary import TaskStatus  # boards.models.TaskStatus stays importable for the apps above


class BoardGroup(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="board_groups")
    name = models.CharField(max_length=120)
    # The order admins chose for the board list and the sidebar (boards.services.reorder_board_groups).
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="boardgroup_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class BoardQuerySet(OrganizationScopedQuerySet):
    """Boards of the organizations the user belongs to; the base of every board read."""

    def for_agent(self, agent) -> BoardQuerySet:
        """The boards an agent is on, in its own organization: every agent-API board read."""
        return self.filter(agents=agent, organization_id=agent.organization_id)


class Board(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="boards")
    group = models.ForeignKey(
        BoardGroup, on_delete=models.SET_NULL, null=True, blank=True, related_name="boards"
    )
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60)
    description = models.TextField(blank=True)
    archived = models.BooleanField(default=False)
    require_approval_for_done = models.BooleanField(default=False)
    require_comment_for_review = models.BooleanField(default=False)
    agents_can_create_tasks = models.BooleanField(default=True)
    # A task assigned to an agent that runs on an OpenClaw gateway starts a run of it with the
    # task (gateways.assignment, a log consumer: never inside the assigning request).
    send_work_to_gateway_agents = models.BooleanField(default=False)
    created_by, created_at, updated_at = creation_stamps()

    objects = BoardQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="board_unique_slug"),
        ]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=40)
    color = models.CharField(max_length=7, default="#6b7280")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="tag_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class TaskPriority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class TaskQuerySet(OrganizationScopedQuerySet):
    organization_path = "board__organization"

    def for_agent(self, agent) -> TaskQuerySet:
        """Every task on the boards the agent is on, in its own organization."""
        return self.filter(board__agents=agent, board__organization_id=agent.organization_id)

    # The task filters, shared by the board page, the human API's TaskFilter and the agent API.
    def unassigned(self) -> TaskQuerySet:
        return self.filter(assignee_agent__isnull=True, assignee_user__isnull=True)

    def assigned_elsewhere(self) -> TaskQuerySet:
        return self.exclude(assignee_agent__isnull=True, assignee_user__isnull=True)

    def with_tag(self, tag: str) -> TaskQuerySet:
        """By tag id (digits) or by name, case-insensitively."""
        if tag.isdigit() and len(tag) <= 19 and int(tag) <= MAX_ID:
            return self.filter(tags__id=int(tag))
        return self.filter(tags__name__iexact=tag)

    def matching_text(self, text: str) -> TaskQuerySet:
        return self.filter(Q(title__icontains=text) | Q(description__icontains=text))

    def with_card_data(self) -> TaskQuerySet:
        """Everything a card or a list row shows, in a fixed number of queries."""
        return self.select_related("assignee_agent", "assignee_user", "board").prefetch_related(
            "tags", "dependencies"
        )


class Task(models.Model):
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=20000)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.INBOX)
    priority = models.CharField(max_length=8, choices=TaskPriority.choices, default=TaskPriority.MEDIUM)
    assignee_agent = models.ForeignKey(
        "agents.Agent", on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_tasks"
    )
    assignee_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tasks",
    )
    due_date = models.DateField(null=True, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="tasks")
    dependencies = models.ManyToManyField(
        "self", through="TaskDependency", symmetrical=False, related_name="dependents", blank=True
    )
    # Ordering within a column; gaps let a move rewrite one row.
    position = models.FloatField(default=0)
    progress_note = models.CharField(max_length=500, blank=True)
    # Set when a webhook rule made the task: the sender's id for it (e.g. "octo/repo#12") and a
    # link back; the rules find the task again by (board, external_id), so it is unique per board.
    external_id = models.CharField(max_length=200, blank=True)
    external_url = models.URLField(max_length=500, blank=True)
    created_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by_agent = models.ForeignKey(
        "agents.Agent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        indexes = [
            # The kanban columns and the agent task list: tasks of a board by status, in order.
            models.Index(fields=["board", "status", "position"], name="task_board_status_pos"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(assignee_agent__isnull=True) | Q(assignee_user__isnull=True),
                name="task_single_assignee",
            ),
            # Also the index of the rules' lookup by external id.
            models.UniqueConstraint(
                fields=["board", "external_id"], condition=~Q(external_id=""), name="task_unique_external_id"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class TaskDependency(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="dependency_links")
    depends_on = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="dependent_links")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "task dependencies"
        constraints = [
            models.UniqueConstraint(fields=["task", "depends_on"], name="taskdependency_unique"),
            models.CheckConstraint(condition=~Q(task=models.F("depends_on")), name="taskdependency_not_self"),
        ]


class Comment(models.Model):
    """Deprecated, read-only: a comment from before comments moved into the task's chat thread
    (chat 0002 copied every row there, `ChatMessage.legacy_comment_id`). Nothing writes it; it
    stays one release for a rollback and the audit, then a later migration drops it. A task's
    comments are `boards.conversation.task_messages(task=...)`."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="legacy_comments")
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author_agent = models.ForeignKey(
        "agents.Agent", on_delete=models.SET_NULL, null=True, blank=True, related_name="comments"
    )
    body = models.TextField(max_length=20000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "legacy comment"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Approval(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="approvals")
    status = models.CharField(max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    requested_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_by_agent = models.ForeignKey(
        "agents.Agent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one open approval per task: a second "move to done" reuses it.
            models.UniqueConstraint(
                fields=["task"], condition=Q(status="pending"), name="approval_one_pending_per_task"
            ),
        ]
