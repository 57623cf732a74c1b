"""Usage panels for pages of the apps below usage (agents, boards): they load these tags rather
than import usage (which imports them)."""

from __future__ import annotations

from django import template
from django.db.models import Model

from usage import selectors

register = template.Library()

PANEL_DAYS = 30


@register.inclusion_tag("usage/partials/agent_panel.html")
def agent_usage_panel(agent: Model) -> dict:
    """What the agent (an agents.Agent) spent in the last 30 days, per model, and the budgets its usage counts
    against that are filling up. Three queries."""
    summary, per_model = selectors.agent_spend(agent, days=PANEL_DAYS)
    budgets = selectors.budgets_touching(agent).select_related("board", "agent")
    return {
        "agent": agent,
        "days": PANEL_DAYS,
        "summary": summary,
        "per_model": per_model,
        "budget_alerts": [
            status
            for status in selectors.budget_statuses(agent.organization_id, budgets=budgets)
            if status.level != "ok"
        ],
    }


@register.inclusion_tag("usage/partials/task_cost.html")
def task_cost(task: Model) -> dict:
    """Tokens and cost reported against the task (a boards.Task), all time. One query."""
    return {"summary": selectors.task_spend(task)}


@register.inclusion_tag("usage/partials/budget_banner.html")
def budget_banner(statuses: list) -> dict:
    return {"statuses": statuses}
