"""Reads for usage pages, panels, budgets and the alert condition: all from the daily rollup,
a fixed number of queries however many budgets, days or reports there are."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Model, Q, Subquery, Sum
from django.utils import timezone

from core.models import Organization
from core.vocabulary import TaskStatus
from usage.models import (
    MICROS_PER_DOLLAR,
    TOTAL_TOKENS,
    Budget,
    BudgetPeriod,
    BudgetScope,
    UsageDailyByAgent,
    UsageDailyByTask,
)

WARNING_PERCENT = 80


def dollars(micros: int) -> Decimal:
    return (Decimal(micros) / MICROS_PER_DOLLAR).quantize(Decimal("0.01"))


def period_of(budget: Budget, day: date) -> tuple[date, date]:
    """The first and last day of the budget's period containing `day`."""
    if budget.period == BudgetPeriod.DAILY:
        return day, day
    first = day.replace(day=1)
    following = (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else first.replace(month=first.month + 1)
    )
    return first, following - timedelta(days=1)


@dataclass(frozen=True)
class BudgetStatus:
    """A budget and what its current period has spent."""

    budget: Budget
    period_start: date
    period_end: date
    spent_micros: int

    @property
    def percent(self) -> int:
        return self.spent_micros * 100 // self.budget.limit_micros

    @property
    def level(self) -> str:
        """ "over" at 100 %, "warning" from 80 %, else "ok" (the banner and the meter's colour)."""
        if self.percent >= 100:
            return "over"
        return "warning" if self.percent >= WARNING_PERCENT else "ok"

    @property
    def spent(self) -> Decimal:
        return dollars(self.spent_micros)

    @property
    def limit(self) -> Decimal:
        return dollars(self.budget.limit_micros)

    @property
    def target(self) -> str:
        return self.budget.target_label

    @property
    def period_label(self) -> str:
        if self.budget.period == BudgetPeriod.DAILY:
            return "today"
        return self.period_start.strftime("%B %Y")

    @property
    def sentence(self) -> str:
        period = "daily" if self.budget.period == BudgetPeriod.DAILY else "monthly"
        return (
            f"The {period} budget of {self.target} is at {self.percent}%: "
            f"${self.spent} of ${self.limit} spent {'today' if period == 'daily' else 'this month'}."
        )


def _spend_rows(organization_id: int, today: date, budgets: list[Budget]) -> list[dict]:
    """This month's spend per day and agent (organization and agent budgets) and per day and board
    (board budgets), from the narrow rollups: one grouped query per kind the budgets need."""
    rows: list[dict] = []
    month = (today.replace(day=1), today)
    if any(budget.scope != BudgetScope.BOARD for budget in budgets):
        rows += (
            UsageDailyByAgent.objects.of_organization(organization_id)
            .between(*month)
            .values("day", "agent_id")
            .annotate(cost=Sum("cost_micros"))
            .order_by()
        )
    if any(budget.scope == BudgetScope.BOARD for budget in budgets):
        rows += (
            UsageDailyByTask.objects.of_organization(organization_id)
            .between(*month)
            .values("day", "board_key")
            .annotate(cost=Sum("cost_micros"))
            .order_by()
        )
    return rows


def _status(budget: Budget, rows: list[dict], today: date) -> BudgetStatus:
    first, last = period_of(budget, today)
    by_board = budget.scope == BudgetScope.BOARD
    spent = 0
    for row in rows:
        if not first <= row["day"] <= last or ("board_key" in row) != by_board:
            continue
        if by_board and row["board_key"] != budget.board_id:
            continue
        if budget.scope == BudgetScope.AGENT and row["agent_id"] != budget.agent_id:
            continue
        spent += row["cost"] or 0
    return BudgetStatus(budget=budget, period_start=first, period_end=last, spent_micros=spent)


def budget_statuses(
    organization_id: int, *, budgets: Iterable[Budget] | None = None, today: date | None = None
) -> list[BudgetStatus]:
    """Each budget of the organization (or the given ones) with its current period's spend,
    fullest first. At most three queries."""
    today = today or timezone.now().date()
    if budgets is None:
        budgets = Budget.objects.filter(organization_id=organization_id).select_related("board", "agent")
    budgets = list(budgets)
    if not budgets:
        return []
    rows = _spend_rows(organization_id, today, budgets)
    statuses = [_status(budget, rows, today) for budget in budgets]
    return sorted(statuses, key=lambda status: (-status.percent, status.budget.pk))


def budgets_touching(agent: Model):
    """The budgets an agent's usage counts against: its organization's, its own, its boards'."""
    return Budget.objects.filter(organization_id=agent.organization_id).filter(
        Q(scope=BudgetScope.ORGANIZATION)
        | Q(scope=BudgetScope.AGENT, agent_id=agent.pk)
        | Q(scope=BudgetScope.BOARD, board_id__in=agent.boards.values("pk"))
    )


def exhausted_hard_stop(agent: Model) -> BudgetStatus | None:
    """The first spent budget with a hard stop that this agent's usage counts against."""
    budgets = budgets_touching(agent).filter(hard_stop=True).select_related("board", "agent")
    spent = [
        status for status in budget_statuses(agent.organization_id, budgets=budgets) if status.percent >= 100
    ]
    return spent[0] if spent else None


@dataclass(frozen=True)
class SpendSummary:
    """Totals of one agent or one task over a range."""

    reports: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_micros: int
    unpriced_reports: int

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cached_tokens

    @property
    def cost(self) -> Decimal:
        return dollars(self.cost_micros)


_SUMS = {
    "reports": Sum("reports"),
    "input_tokens": Sum("input_tokens"),
    "output_tokens": Sum("output_tokens"),
    "cached_tokens": Sum("cached_tokens"),
    "cost_micros": Sum("cost_micros"),
    "unpriced_reports": Sum("unpriced_reports"),
}


def _summary(rows) -> SpendSummary:
    totals = rows.aggregate(**_SUMS)
    return SpendSummary(**{name: totals[name] or 0 for name in _SUMS})


def agent_spend(agent: Model, *, days: int = 30) -> tuple[SpendSummary, list[dict]]:
    """An agent's totals over the last `days` days and its spend per model (biggest first)."""
    today = timezone.now().date()
    rows = UsageDailyByAgent.objects.of_organization(agent.organization_id).between(
        today - timedelta(days=days - 1), today
    )
    rows = rows.filter(agent_id=agent.pk)
    per_model = [
        {**row, "cost": dollars(row["cost_micros"]), "tokens": row["input_tokens"] + row["output_tokens"]}
        for row in rows.totals_by("model")
    ]
    return _summary(rows), per_model


def task_spend(task: Model) -> SpendSummary:
    """Everything reported against a task, all time."""
    return _summary(UsageDailyByTask.objects.filter(task_key=task.pk, board_key=task.board_id))


@dataclass(frozen=True)
class UnitCost:
    """Tokens and cost per finished task: what a unit of work costs."""

    tasks_done: int
    total_tokens: int
    cost_micros: int

    @property
    def tokens_per_task(self) -> int:
        return self.total_tokens // self.tasks_done if self.tasks_done else 0

    @property
    def cost_per_task(self) -> Decimal:
        return dollars(self.cost_micros // self.tasks_done) if self.tasks_done else Decimal("0.00")


def cost_per_task_done(organization_id: int, first: date, last: date) -> UnitCost:
    """Over the tasks now done that had usage reported in the range: their tokens and cost in
    the range, divided by how many they are. One query."""
    done = Organization.objects.filter(pk=organization_id, boards__tasks__status=TaskStatus.DONE).values(
        "boards__tasks__pk"
    )
    totals = (
        UsageDailyByTask.objects.of_organization(organization_id)
        .between(first, last)
        .filter(task_key__in=Subquery(done))
        .aggregate(tasks=Count("task_key", distinct=True), tokens=Sum(TOTAL_TOKENS), cost=Sum("cost_micros"))
    )
    return UnitCost(
        tasks_done=totals["tasks"] or 0, total_tokens=totals["tokens"] or 0, cost_micros=totals["cost"] or 0
    )


def hard_stop_refusal(agent: Model) -> str | None:
    """The 402 sentence for an agent stopped by a spent budget (agents.gates), else None."""
    status = exhausted_hard_stop(agent)
    if status is None:
        return None
    return (
        f"{status.sentence} Its hard stop is on: this agent takes no new work until the period ends "
        "or an admin raises the limit. Usage reports are still accepted."
    )
