"""Writes for usage: reports with their cost fixed at write time, the daily rollup, prices.

Every report is stored once per (agent, idempotency key): the unique constraint settles retries
and concurrent duplicates. The rollup is incremented in the same transaction, with one
INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x per batch (PostgreSQL and SQLite share
the syntax), so concurrent batches add up instead of overwriting each other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Model, Q, Sum
from django.utils import timezone

from activity.services import record_activity
from core.access import authorize
from core.actors import Actor
from core.models import Organization, Role
from infra.exceptions import DomainError, NotFound, PermissionDenied
from usage.models import (
    MICROS_PER_DOLLAR,
    Budget,
    BudgetCrossing,
    BudgetPeriod,
    BudgetScope,
    CostSource,
    ModelPrice,
    UsageDaily,
    UsageDailyByAgent,
    UsageDailyByTask,
    UsageReport,
)
from usage.selectors import budgets_touching, period_of


@dataclass(frozen=True)
class UsageItem:
    """One validated report (usage.api.serializers builds them)."""

    model: str
    idempotency_key: str
    occurred_at: datetime
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost: Decimal | None = None  # USD, when the agent knows it
    task: Model | None = None  # a boards.Task the agent can see


@dataclass(frozen=True)
class RecordedUsage:
    report: UsageReport
    duplicate: bool


def price_for(*, organization_id: int, model: str, day: date) -> ModelPrice | None:
    """The price in force on `day`: the organization's own newest row on or before it, else the
    default catalogue's."""
    return (
        ModelPrice.objects.filter(
            Q(organization_id=organization_id) | Q(organization__isnull=True),
            model=model,
            effective_from__lte=day,
        )
        .order_by(F("organization_id").desc(nulls_last=True), "-effective_from")
        .first()
    )


def cost_micros(price: ModelPrice, *, input_tokens: int, output_tokens: int, cached_tokens: int) -> int:
    # USD per million tokens is micro-dollars per token.
    exact = (
        price.input_per_million * input_tokens
        + price.output_per_million * output_tokens
        + price.cached_per_million * cached_tokens
    )
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _cost_fields(item: UsageItem, price: ModelPrice | None) -> dict:
    if item.cost is not None:
        micros = int((item.cost * MICROS_PER_DOLLAR).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        return {"cost_micros": micros, "cost_source": CostSource.REPORTED, "price": price}
    if price is not None:
        micros = cost_micros(
            price,
            input_tokens=item.input_tokens,
            output_tokens=item.output_tokens,
            cached_tokens=item.cached_tokens,
        )
        return {"cost_micros": micros, "cost_source": CostSource.COMPUTED, "price": price}
    return {"cost_micros": None, "cost_source": CostSource.UNKNOWN, "price": None}


@transaction.atomic
def record_usage(*, agent: Model, items: Sequence[UsageItem]) -> list[RecordedUsage]:
    """Store a batch of an agent's reports (duplicates return the first report), add the new
    ones to the rollup and record one `usage.reported` event for them."""
    prices: dict[tuple[str, date], ModelPrice | None] = {}
    candidates: dict[str, UsageReport] = {}
    for item in items:
        if item.idempotency_key in candidates:
            continue  # the same key twice in one batch: the first one counts
        day = item.occurred_at.date()
        if (item.model, day) not in prices:
            prices[item.model, day] = price_for(
                organization_id=agent.organization_id, model=item.model, day=day
            )
        price = prices[item.model, day]
        candidates[item.idempotency_key] = UsageReport(
            organization_id=agent.organization_id,
            agent=agent,
            board_id=item.task.board_id if item.task is not None else None,
            task=item.task,
            model=item.model,
            model_known=price is not None,
            input_tokens=item.input_tokens,
            output_tokens=item.output_tokens,
            cached_tokens=item.cached_tokens,
            occurred_at=item.occurred_at,
            idempotency_key=item.idempotency_key,
            **_cost_fields(item, price),
        )
    created = _insert_new_reports(sorted(candidates.values(), key=lambda report: report.idempotency_key))
    created_keys = {report.idempotency_key for report in created}
    earlier = {
        report.idempotency_key: report
        for report in UsageReport.objects.filter(
            agent=agent, idempotency_key__in=[key for key in candidates if key not in created_keys]
        )
    }
    if created:
        add_to_rollup(created)
        _record_reported(agent, created)
        check_budgets(agent=agent, days={report.occurred_at.date() for report in created})
    results, seen = [], set()
    for item in items:
        key = item.idempotency_key
        if key in created_keys and key not in seen:
            results.append(RecordedUsage(report=candidates[key], duplicate=False))
        else:
            results.append(RecordedUsage(report=earlier.get(key) or candidates[key], duplicate=True))
        seen.add(key)
    return results


def _insert_new_reports(reports: list[UsageReport]) -> list[UsageReport]:
    """Insert the reports whose (agent, key) is new, in one statement; return those, with ids.

    ON CONFLICT DO NOTHING lets the unique constraint decide: a key stored earlier, or by a
    concurrent request (whose commit this statement waits for), is skipped, never an error. Keys
    are sorted by the caller, so two batches sharing keys wait in the same order (no deadlock).
    """
    if not reports:
        return []
    received_at = timezone.now()
    fields = [field for field in UsageReport._meta.concrete_fields if not field.primary_key]
    for report in reports:
        report.received_at = received_at
    table = connection.ops.quote_name(UsageReport._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    values = ", ".join([row] * len(reports))
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES {values} "  # noqa: S608 - constant identifiers only
        "ON CONFLICT (agent_id, idempotency_key) DO NOTHING RETURNING id, idempotency_key"
    )
    params = [
        field.get_db_prep_save(getattr(report, field.attname), connection)
        for report in reports
        for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = dict((key, pk) for pk, key in cursor.fetchall())
    created = []
    for report in reports:
        if report.idempotency_key in inserted:
            report.pk = inserted[report.idempotency_key]
            report._state.adding = False
            created.append(report)
    return created


_ROLLUP_SUMS = (
    "reports",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "cost_micros",
    "unpriced_reports",
)
# Each rollup with its key, as columns and as read from a report.
_ROLLUPS = (
    (
        UsageDaily,
        ("organization_id", "day", "agent_id", "model", "board_key", "task_key"),
        lambda r: (
            r.organization_id,
            r.occurred_at.date(),
            r.agent_id,
            r.model,
            r.board_id or 0,
            r.task_id or 0,
        ),
    ),
    (
        UsageDailyByAgent,
        ("organization_id", "day", "agent_id", "model"),
        lambda r: (r.organization_id, r.occurred_at.date(), r.agent_id, r.model),
    ),
    (
        UsageDailyByTask,
        ("organization_id", "day", "board_key", "task_key"),
        lambda r: (r.organization_id, r.occurred_at.date(), r.board_id or 0, r.task_id or 0),
    ),
)


def add_to_rollup(reports: Sequence[UsageReport]) -> None:
    """Add reports to the three rollups (the full key, per agent and model, per board and task):
    one statement each, in the reports' transaction."""
    for model, key_columns, key_of in _ROLLUPS:
        _add_to(model, key_columns, key_of, reports)


def _add_to(model, key_columns: tuple[str, ...], key_of, reports: Sequence[UsageReport]) -> None:
    """INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x. Rows are summed per key first (one
    statement may not update a row twice) and sorted, so concurrent batches lock rows in the same
    order."""
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(_ROLLUP_SUMS))
    for report in reports:
        row = sums[key_of(report)]
        for index, value in enumerate(
            (
                1,
                report.input_tokens,
                report.output_tokens,
                report.cached_tokens,
                report.cost_micros or 0,
                1 if report.cost_micros is None else 0,
            )
        ):
            row[index] += value
    table = connection.ops.quote_name(model._meta.db_table)
    columns = [*key_columns, *_ROLLUP_SUMS]
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    updates = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in _ROLLUP_SUMS)
    rows = sorted(sums.items(), key=lambda pair: tuple(str(part) for part in pair[0]))
    # Only constant identifiers are interpolated; every value is a parameter.
    values = ", ".join([placeholders] * len(rows))
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values} "  # noqa: S608
        f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {updates}"
    )
    params = [value for key, totals in rows for value in (*key, *totals)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _record_reported(agent: Model, reports: Sequence[UsageReport]) -> None:
    total_tokens = sum(r.input_tokens + r.output_tokens + r.cached_tokens for r in reports)
    micros = sum(r.cost_micros or 0 for r in reports)
    task_ids = sorted({r.task_id for r in reports if r.task_id})
    boards = {r.board_id for r in reports}
    record_activity(
        organization=agent.organization_id,
        # On the board's stream too when every report is about one board's tasks, so that the open
        # task pages (which follow their board) refresh their cost card.
        board=boards.pop() if len(boards) == 1 else None,
        verb="usage.reported",
        actor=Actor.for_agent(agent),
        target=agent,
        detail={
            "task_ids": task_ids,
            "reports": len(reports),
            "total_tokens": total_tokens,
            "cost": str(Decimal(micros) / MICROS_PER_DOLLAR),
            "models": sorted({r.model for r in reports}),
            "unknown_models": sorted({r.model for r in reports if not r.model_known}),
        },
    )


@transaction.atomic
def set_model_price(
    *,
    actor: Actor,
    organization: Organization | None,
    model: str,
    effective_from: date,
    input_per_million: Decimal,
    output_per_million: Decimal,
    cached_per_million: Decimal = Decimal(0),
) -> ModelPrice:
    """A price from a date on (replacing one set for the same date). Costs already computed keep
    their price: only reports written later use the new row. An organization's prices need its
    admin; the default catalogue (organization None) is changed by the system or in Django admin."""
    if organization is not None:
        authorize(actor, organization=organization, role=Role.ADMIN, allow_agent=False)
    elif actor.kind != "system" and not getattr(actor.user, "is_superuser", False):
        raise PermissionDenied("Only a superuser changes the default price catalogue.")
    price, _created = ModelPrice.objects.update_or_create(
        organization=organization,
        model=model,
        effective_from=effective_from,
        defaults={
            "input_per_million": input_per_million,
            "output_per_million": output_per_million,
            "cached_per_million": cached_per_million,
        },
    )
    return price


BUDGET_THRESHOLDS = (80, 100)


def budget_spend(budget: Budget, first: date, last: date) -> int:
    model = UsageDailyByTask if budget.scope == BudgetScope.BOARD else UsageDailyByAgent
    rows = model.objects.of_organization(budget.organization_id).between(first, last)
    if budget.scope == BudgetScope.BOARD:
        rows = rows.filter(board_key=budget.board_id)
    elif budget.scope == BudgetScope.AGENT:
        rows = rows.filter(agent_id=budget.agent_id)
    return rows.aggregate(total=Sum("cost_micros"))["total"] or 0


def check_budgets(*, agent: Model, days: set[date]) -> list[BudgetCrossing]:
    """Record each threshold a budget touching this agent's usage has newly passed, once per
    period (the constraint settles concurrent reports), with a `usage.budget_crossed` event."""
    crossings = []
    for budget in budgets_touching(agent):
        for first, last in {period_of(budget, day) for day in days}:
            spent = budget_spend(budget, first, last)
            for threshold in BUDGET_THRESHOLDS:
                if spent * 100 < budget.limit_micros * threshold:
                    continue
                try:
                    with transaction.atomic():
                        crossing = BudgetCrossing.objects.create(
                            budget=budget, period_start=first, threshold=threshold, spent_micros=spent
                        )
                except IntegrityError:
                    continue  # already recorded for this period
                crossings.append(crossing)
                record_activity(
                    organization=budget.organization_id,
                    verb="usage.budget_crossed",
                    actor=Actor.system(),
                    board=budget.board_id,
                    target=budget,
                    detail={
                        "budget_id": budget.pk,
                        "scope": budget.scope,
                        "period": budget.period,
                        "period_start": first.isoformat(),
                        "threshold": threshold,
                        "spent": str(Decimal(spent) / MICROS_PER_DOLLAR),
                        "limit": str(Decimal(budget.limit_micros) / MICROS_PER_DOLLAR),
                    },
                )
    return crossings


BUDGET_MAX_DOLLARS = Decimal("10000000")


@transaction.atomic
def create_budget(
    *,
    actor: Actor,
    organization: Organization,
    scope: str,
    period: str,
    limit: Decimal,
    board_id: int | None = None,
    agent_id: int | None = None,
    hard_stop: bool = False,
) -> Budget:
    """A spending limit for the organization, one of its boards or one of its agents. Admins only;
    the board or agent must be the organization's (404 otherwise, like any object it cannot see)."""
    authorize(actor, organization=organization, role=Role.ADMIN, allow_agent=False)
    if scope not in BudgetScope.values:
        raise DomainError(
            "Choose what the budget limits: organization, board or agent.", code="invalid_scope"
        )
    if period not in BudgetPeriod.values:
        raise DomainError("Choose a daily or monthly budget.", code="invalid_period")
    if not Decimal(0) < limit <= BUDGET_MAX_DOLLARS:
        raise DomainError(
            f"The limit must be more than $0 and at most ${BUDGET_MAX_DOLLARS:,}.", code="invalid_limit"
        )
    board = agent = None
    if scope == BudgetScope.BOARD:
        board = organization.boards.filter(pk=board_id).first() if board_id else None
        if board is None:
            raise NotFound("No such board in this organization.")
    elif scope == BudgetScope.AGENT:
        agent = organization.agents.filter(pk=agent_id).first() if agent_id else None
        if agent is None:
            raise NotFound("No such agent in this organization.")
    budget = Budget.objects.create(
        organization=organization,
        scope=scope,
        board=board,
        agent=agent,
        period=period,
        limit_micros=int((limit * MICROS_PER_DOLLAR).to_integral_value(rounding=ROUND_HALF_UP)),
        hard_stop=hard_stop,
    )
    record_activity(
        organization=organization,
        verb="usage.budget_set",
        actor=actor,
        board=board,
        target=budget,
        detail={"scope": scope, "period": period, "limit": str(limit), "hard_stop": hard_stop},
    )
    return budget


@transaction.atomic
def delete_budget(*, actor: Actor, budget: Budget) -> None:
    authorize(actor, organization=budget.organization, role=Role.ADMIN, allow_agent=False)
    record_activity(
        organization=budget.organization_id,
        verb="usage.budget_removed",
        actor=actor,
        board=budget.board_id,
        target=budget,
        detail={
            "scope": budget.scope,
            "period": budget.period,
            "limit": str(Decimal(budget.limit_micros) / MICROS_PER_DOLLAR),
        },
    )
    budget.delete()
