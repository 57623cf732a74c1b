"""Usage reported by agents, what it cost, and the daily rollup the pages and the API read.

Money is kept in integer micro-dollars (`*_micros`): sums are exact on every database, and a
price "per million tokens" in USD is the same number as micro-dollars per token.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import models
from django.db.models import F, Q, Sum

MICROS_PER_DOLLAR = 1_000_000


class ModelPrice(models.Model):
    """A model's price from a date on. A change is a new row with a later `effective_from`, so
    costs already computed keep the price they were computed with (reports point at it)."""

    # Null: the shipped default catalogue (data migration); an organization's own row wins.
    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, null=True, blank=True, related_name="model_prices"
    )
    model = models.CharField(max_length=100)
    input_per_million = models.DecimalField(
        max_digits=12, decimal_places=4, help_text="USD per 1M input tokens"
    )
    output_per_million = models.DecimalField(
        max_digits=12, decimal_places=4, help_text="USD per 1M output tokens"
    )
    cached_per_million = models.DecimalField(
        max_digits=12, decimal_places=4, default=Decimal(0), help_text="USD per 1M cached input tokens"
    )
    effective_from = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model", "-effective_from"]
        constraints = [
            # One price per model and date, for the default catalogue and for each organization
            # (two partial constraints: NULL organizations would never collide in one).
            models.UniqueConstraint(
                fields=["model", "effective_from"],
                condition=Q(organization__isnull=True),
                name="model_price_default_unique",
            ),
            models.UniqueConstraint(
                fields=["organization", "model", "effective_from"],
                condition=Q(organization__isnull=False),
                name="model_price_org_unique",
            ),
            models.CheckConstraint(
                condition=Q(input_per_million__gte=0, output_per_million__gte=0, cached_per_million__gte=0),
                name="model_price_not_negative",
            ),
        ]
        indexes = [
            # The price lookup at write time: a model's newest row on or before a day.
            models.Index(fields=["model", "-effective_from"], name="model_price_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.model} from {self.effective_from}"


class CostSource(models.TextChoices):
    COMPUTED = "computed", "Computed from the price catalogue"
    REPORTED = "reported", "Reported by the agent"
    UNKNOWN = "unknown", "Unknown (no price for the model)"


class UsageReport(models.Model):
    """One report of an agent: tokens of one model, its cost fixed at write time."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="usage_reports")
    board = models.ForeignKey(
        "boards.Board", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    task = models.ForeignKey(
        "boards.Task", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    model = models.CharField(max_length=100)
    # False: no price in the catalogue for this model (accepted, flagged, cost from the agent or none).
    model_known = models.BooleanField(default=True)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cached_tokens = models.PositiveBigIntegerField(default=0)
    cost_micros = models.BigIntegerField(null=True, blank=True)
    cost_source = models.CharField(max_length=10, choices=CostSource.choices)
    price = models.ForeignKey(ModelPrice, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    occurred_at = models.DateTimeField()
    idempotency_key = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            # A retried report is counted once: the constraint decides, also between concurrent
            # requests (no check-then-insert).
            models.UniqueConstraint(fields=["agent", "idempotency_key"], name="usage_report_idempotency"),
        ]
        indexes = [
            # Raw reports of an organization by time (exports, recomputation of the rollup).
            models.Index(fields=["organization", "occurred_at"], name="usage_report_org_time"),
        ]


GROUP_BY_FIELDS = {
    "agent": "agent_id",
    "model": "model",
    "board": "board_key",
    "task": "task_key",
    "day": "day",
}


class UsageDailyQuerySet(models.QuerySet):
    def of_organization(self, organization_id: int) -> UsageDailyQuerySet:
        return self.filter(organization_id=organization_id)

    def between(self, first: date | None, last: date | None) -> UsageDailyQuerySet:
        """Days from `first` to `last`, both included (either may be open)."""
        queryset = self
        if first is not None:
            queryset = queryset.filter(day__gte=first)
        if last is not None:
            queryset = queryset.filter(day__lte=last)
        return queryset

    def totals_by(self, group_by: str) -> models.QuerySet:
        """One row per value of the dimension, with the sums; biggest cost first (days in order)."""
        field = GROUP_BY_FIELDS[group_by]
        rows = self.values(field).annotate(
            reports=Sum("reports"),
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
            cached_tokens=Sum("cached_tokens"),
            cost_micros=Sum("cost_micros"),
            unpriced_reports=Sum("unpriced_reports"),
        )
        return rows.order_by(field) if group_by == "day" else rows.order_by("-cost_micros", field)


class RollupSums(models.Model):
    """The sums every rollup keeps."""

    reports = models.BigIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cached_tokens = models.BigIntegerField(default=0)
    cost_micros = models.BigIntegerField(default=0)
    # Reports without a cost (unknown model, none reported): the cost sum is a lower bound.
    unpriced_reports = models.BigIntegerField(default=0)

    objects = UsageDailyQuerySet.as_manager()

    class Meta:
        abstract = True


class UsageDaily(RollupSums):
    """The rollup every read uses: one row per organization, UTC day, agent, model, board and task,
    incremented in the reports' transaction by one INSERT … ON CONFLICT DO UPDATE (services), so
    concurrent reports never lose an update and reads never scan the raw reports.

    Board and task are plain ids (0: none) rather than nullable foreign keys: a unique key with
    NULLs never conflicts, and usage history outlives a deleted board or task.
    """

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="+")
    model = models.CharField(max_length=100)
    board_key = models.BigIntegerField(default=0)
    task_key = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "day", "agent", "model", "board_key", "task_key"],
                name="usage_daily_key",
            ),
        ]
        indexes = [
            # Every read: an organization's days in a range (then grouped).
            models.Index(fields=["organization", "day"], name="usage_daily_org_day"),
        ]

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cached_tokens


class UsageDailyByAgent(RollupSums):
    """The rollup per (organization, day, agent, model): at most days x agents x models rows, what
    the chart, the top agents, the agent page, organization and agent budgets and the API's day,
    model and agent totals read. The full key of UsageDaily has a row per task too: at a million
    reports a month of it is a quarter of a million rows to sum on every page view."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="+")
    model = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "day", "agent", "model"], name="usage_by_agent_key"
            )
        ]
        indexes = [models.Index(fields=["organization", "day"], name="usage_by_agent_org_day")]


class UsageDailyByTask(RollupSums):
    """The rollup per (organization, day, board, task): the top tasks, the task page, cost per task
    done, board budgets and the API's board and task totals (ids as in UsageDaily; 0: none)."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    board_key = models.BigIntegerField(default=0)
    task_key = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "day", "board_key", "task_key"], name="usage_by_task_key"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "day"], name="usage_by_task_org_day"),
            models.Index(fields=["task_key"], name="usage_by_task_task"),
        ]


def rollup_for(group_by: str) -> type[RollupSums]:
    """The narrowest rollup that has the dimension."""
    return UsageDailyByTask if group_by in ("board", "task") else UsageDailyByAgent


TOTAL_TOKENS = F("input_tokens") + F("output_tokens") + F("cached_tokens")


class BudgetScope(models.TextChoices):
    ORGANIZATION = "organization", "Organization"
    BOARD = "board", "Board"
    AGENT = "agent", "Agent"


class BudgetPeriod(models.TextChoices):
    DAILY = "daily", "Daily"
    MONTHLY = "monthly", "Monthly"


class Budget(models.Model):
    """A spending limit of an organization, or of one of its boards or agents, per UTC day or
    calendar month. Crossing 80 % and 100 % is recorded once each per period (BudgetCrossing)."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=12, choices=BudgetScope.choices, default=BudgetScope.ORGANIZATION)
    board = models.ForeignKey(
        "boards.Board", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    period = models.CharField(max_length=8, choices=BudgetPeriod.choices, default=BudgetPeriod.MONTHLY)
    limit_micros = models.BigIntegerField()
    # Off by default: at 100 % the agent API refuses the agent's work-taking calls with 402
    # (agents.gates); usage reports are always accepted, so nothing spent goes unrecorded.
    hard_stop = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(limit_micros__gt=0), name="budget_limit_positive"),
            models.CheckConstraint(
                condition=(
                    Q(scope="organization", board__isnull=True, agent__isnull=True)
                    | Q(scope="board", board__isnull=False, agent__isnull=True)
                    | Q(scope="agent", agent__isnull=False, board__isnull=True)
                ),
                name="budget_scope_matches_target",
            ),
        ]

    def __str__(self) -> str:
        limit = (Decimal(self.limit_micros) / MICROS_PER_DOLLAR).quantize(Decimal("0.01"))
        return f"{self.target_label}, {self.get_period_display().lower()} ${limit}"

    @property
    def target_label(self) -> str:
        """What the budget limits, as a person says it (select_related board and agent)."""
        if self.scope == BudgetScope.BOARD:
            return f"board {self.board.name}"
        if self.scope == BudgetScope.AGENT:
            return f"agent {self.agent.name}"
        return "the organization"


class BudgetCrossing(models.Model):
    """A threshold (80 or 100 %) a budget passed in one period. The unique constraint makes the
    alert fire once per threshold and period, however many concurrent reports pass it."""

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="crossings")
    period_start = models.DateField()
    threshold = models.PositiveSmallIntegerField()
    spent_micros = models.BigIntegerField()
    crossed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["budget", "period_start", "threshold"], name="budget_crossing_once"
            ),
        ]
