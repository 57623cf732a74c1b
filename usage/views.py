"""The usage pages: spend per day stacked by model or agent, the top agents and tasks, cost per
finished task, CSV export; budgets and the organization's prices. Reads come from
usage.selectors and the rollup, writes go through usage.services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_POST

from core.access import current_organization, membership_for
from core.actors import Actor
from core.models import Role
from infra.csv_export import csv_lines
from infra.exceptions import DomainError
from usage import selectors, services
from usage.charts import spend_chart
from usage.models import (
    Budget,
    BudgetPeriod,
    BudgetScope,
    ModelPrice,
    UsageDaily,
    UsageDailyByAgent,
    UsageDailyByTask,
)
from usage.selectors import dollars

RANGES = (7, 30, 90)
STACKS = ("model", "agent")


def _choice(value: str | None, allowed: tuple, default):
    return next((option for option in allowed if str(option) == value), default)


def _is_admin(request: HttpRequest, organization) -> bool:
    membership = membership_for(request.user, organization)
    return membership is not None and membership.has_role(Role.ADMIN)


@login_required
def usage_page(request: HttpRequest) -> HttpResponse:
    organization = current_organization(request)
    days = _choice(request.GET.get("days"), RANGES, 30)
    stack = _choice(request.GET.get("stack"), STACKS, "model")
    context = {"organization": organization, "days": days, "stack": stack, "ranges": RANGES, "stacks": STACKS}
    if organization is None:
        return render(request, "usage/usage.html", context)
    last = timezone.now().date()
    first = last - timedelta(days=days - 1)
    rollup = UsageDailyByAgent.objects.of_organization(organization.pk).between(first, last)
    by_task = UsageDailyByTask.objects.of_organization(organization.pk).between(first, last)
    field = "model" if stack == "model" else "agent_id"
    per_day = list(rollup.values("day", field).annotate(cost=Sum("cost_micros")).order_by())
    agent_names = dict(organization.agents.values_list("pk", "name"))

    def label(row) -> str:
        return (
            row["model"] if stack == "model" else agent_names.get(row["agent_id"], f"agent {row['agent_id']}")
        )

    chart = spend_chart(
        [(row["day"], label(row), row["cost"]) for row in per_day], first=first, last=last, stack=stack
    )
    totals = rollup.aggregate(
        reports=Sum("reports"), input_tokens=Sum("input_tokens"), output_tokens=Sum("output_tokens")
    )
    top_agents = [
        {**row, "name": agent_names.get(row["agent_id"], ""), "cost": dollars(row["cost_micros"])}
        for row in rollup.totals_by("agent")[:10]
    ]
    top_tasks = [
        {**row, "cost": dollars(row["cost_micros"])}
        for row in by_task.exclude(task_key=0).totals_by("task")[:10]
    ]
    titles = dict(
        organization.boards.filter(tasks__pk__in=[row["task_key"] for row in top_tasks]).values_list(
            "tasks__pk", "tasks__title"
        )
    )
    for row in top_tasks:
        row["title"] = titles.get(row["task_key"], f"task {row['task_key']} (deleted)")
    context.update(
        chart=chart,
        has_usage=bool(per_day),
        top_agents=top_agents,
        top_tasks=top_tasks,
        total=dollars(sum(row["cost"] for row in per_day)),
        reports=totals["reports"] or 0,
        tokens=(totals["input_tokens"] or 0) + (totals["output_tokens"] or 0),
        unit_cost=selectors.cost_per_task_done(organization.pk, first, last),
        budget_alerts=[s for s in selectors.budget_statuses(organization.pk) if s.level != "ok"],
    )
    return render(request, "usage/usage.html", context)


@login_required
def usage_csv(request: HttpRequest) -> HttpResponse:
    """The rollup rows of the chosen range, one per day, agent, model, board and task."""
    organization = current_organization(request)
    days = _choice(request.GET.get("days"), RANGES, 30)
    last = timezone.now().date()
    rows = (
        UsageDaily.objects.none()
        if organization is None
        else UsageDaily.objects.of_organization(organization.pk).between(
            last - timedelta(days=days - 1), last
        )
    )
    header = [
        "day",
        "agent_id",
        "agent",
        "model",
        "board_id",
        "task_id",
        "reports",
        "input_tokens",
        "output_tokens",
        "cached_tokens",
        "cost_usd",
        "unpriced_reports",
    ]

    def cells():
        for row in (
            rows.select_related("agent").order_by("day", "agent_id", "model").iterator(chunk_size=2000)
        ):
            # Model and agent names are what an agent reported: csv_lines escapes formulas.
            yield [
                row.day,
                row.agent_id,
                row.agent.name,
                row.model,
                row.board_key or "",
                row.task_key or "",
                row.reports,
                row.input_tokens,
                row.output_tokens,
                row.cached_tokens,
                dollars(row.cost_micros),
                row.unpriced_reports,
            ]

    response = StreamingHttpResponse(csv_lines(header, cells()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="usage-{last.isoformat()}-{days}d.csv"'
    return response


# --- budgets and prices ----------------------------------------------------------------------------


def _decimal(value: str | None, label: str) -> Decimal:
    try:
        number = Decimal((value or "").strip().lstrip("$").replace(",", ""))
    except InvalidOperation:
        raise DomainError(f"{label} must be a number of dollars, such as 50 or 12.50.") from None
    if not number.is_finite():
        raise DomainError(f"{label} must be a number of dollars, such as 50 or 12.50.")
    return number


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _settings_page(request: HttpRequest, organization, *, form=None, price_form=None, error="", status=200):
    prices = list(
        ModelPrice.objects.filter(organization=organization).order_by("model", "-effective_from")[:200]
    )
    defaults = list(ModelPrice.objects.filter(organization__isnull=True).order_by("model", "-effective_from"))
    return render(
        request,
        "usage/budgets.html",
        {
            "organization": organization,
            "statuses": selectors.budget_statuses(organization.pk),
            "can_manage": _is_admin(request, organization),
            "boards": organization.boards.filter(archived=False).order_by("name").only("id", "name"),
            # organization_id too: the relation sets each agent's organization from it (deferred, it
            # would cost a query per agent).
            "agents": organization.agents.order_by("name").only("id", "name", "organization_id"),
            "scopes": BudgetScope.choices,
            "periods": BudgetPeriod.choices,
            "form": form or {"scope": "organization", "period": "monthly"},
            "price_form": price_form or {"effective_from": timezone.now().date().isoformat()},
            "prices": prices,
            "default_prices": defaults,
            "error": error,
        },
        status=status,
    )


@login_required
def budgets_page(request: HttpRequest) -> HttpResponse:
    """Budgets with how full each is, the form to add one, and the organization's own prices."""
    organization = current_organization(request)
    if organization is None:
        raise Http404("You are not in an organization yet.")
    if request.method != "POST":
        return _settings_page(request, organization)
    if not _is_admin(request, organization):
        raise DjangoPermissionDenied("Only organization admins set budgets.")
    form = {name: request.POST.get(name, "") for name in ("scope", "period", "limit", "board", "agent")}
    form["hard_stop"] = request.POST.get("hard_stop") == "on"
    try:
        budget = services.create_budget(
            actor=Actor.for_user(request.user),
            organization=organization,
            scope=form["scope"],
            period=form["period"],
            limit=_decimal(form["limit"], "The limit"),
            board_id=_int_or_none(form["board"]),
            agent_id=_int_or_none(form["agent"]),
            hard_stop=form["hard_stop"],
        )
    except DomainError as exc:
        return _settings_page(request, organization, form=form, error=exc.message, status=400)
    status = selectors.budget_statuses(organization.pk, budgets=[budget])[0]
    messages.success(request, f"Budget set. {status.sentence}")
    return redirect("usage:budgets")


@login_required
@require_POST
def budget_delete(request: HttpRequest, pk: int) -> HttpResponse:
    organization = current_organization(request)
    budget = Budget.objects.filter(pk=pk, organization=organization).first() if organization else None
    if budget is None:
        raise Http404("No such budget.")
    if not _is_admin(request, organization):
        raise DjangoPermissionDenied("Only organization admins remove budgets.")
    services.delete_budget(actor=Actor.for_user(request.user), budget=budget)
    messages.success(request, "Budget removed.")
    return redirect("usage:budgets")


@login_required
@require_POST
def price_set(request: HttpRequest) -> HttpResponse:
    """The organization's own price for a model from a date on (it wins over the default list)."""
    organization = current_organization(request)
    if organization is None:
        raise Http404("You are not in an organization yet.")
    if not _is_admin(request, organization):
        raise DjangoPermissionDenied("Only organization admins set prices.")
    form = {
        name: request.POST.get(name, "").strip()
        for name in (
            "model",
            "effective_from",
            "input_per_million",
            "output_per_million",
            "cached_per_million",
        )
    }
    try:
        effective_from = parse_date(form["effective_from"])
        if effective_from is None:
            raise DomainError("The date the price applies from must be a date, such as 2026-12-01.")
        if not form["model"] or len(form["model"]) > 100:
            raise DomainError("Name the model (at most 100 characters), as agents report it.")
        prices = {
            name: _decimal(form[name] or "0", label)
            for name, label in (
                ("input_per_million", "The input price"),
                ("output_per_million", "The output price"),
                ("cached_per_million", "The cached input price"),
            )
        }
        if any(not Decimal(0) <= value < Decimal("100000000") for value in prices.values()):
            raise DomainError("Prices must be between $0 and $99,999,999.9999 per million tokens.")
        services.set_model_price(
            actor=Actor.for_user(request.user),
            organization=organization,
            model=form["model"],
            effective_from=effective_from,
            **prices,
        )
    except DomainError as exc:
        return _settings_page(request, organization, price_form=form, error=exc.message, status=400)
    messages.success(request, f"Price of {form['model']} set from {effective_from.isoformat()}.")
    return redirect("usage:budgets")
