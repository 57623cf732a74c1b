"""Budgets: 80 % and 100 % are each crossed once per period, with one event each."""

from __future__ import annotations

from datetime import date

import pytest
from rest_framework.test import APIClient

from activity.models import ActivityEvent
from tests.agents.factories import agent_with_token, bearer
from usage.models import Budget, BudgetCrossing, BudgetPeriod, BudgetScope
from usage.selectors import period_of

pytestmark = pytest.mark.django_db

URL = "/api/v1/agent/usage"


def spend(client, key: str, dollars: str):
    response = client.post(
        URL, {"reports": [{"model": "gpt-4o", "cost": dollars, "idempotency_key": key}]}, format="json"
    )
    assert response.status_code == 200, response.json()


def crossings() -> list[int]:
    return list(BudgetCrossing.objects.order_by("threshold").values_list("threshold", flat=True))


def test_each_threshold_is_crossed_once(agent_client, organization):
    Budget.objects.create(
        organization=organization, period=BudgetPeriod.DAILY, limit_micros=10_000_000
    )  # $10
    spend(agent_client, "a", "7.99")
    assert crossings() == []
    spend(agent_client, "b", "0.01")  # exactly 80 %
    assert crossings() == [80]
    spend(agent_client, "c", "1.00")
    assert crossings() == [80]  # not again
    spend(agent_client, "d", "1.00")  # exactly 100 %
    spend(agent_client, "e", "5.00")
    assert crossings() == [80, 100]
    events = ActivityEvent.objects.filter(verb="usage.budget_crossed").order_by("id")
    assert [e.detail["threshold"] for e in events] == [80, 100]


def test_a_jump_past_both_thresholds_records_both(agent_client, organization):
    Budget.objects.create(organization=organization, limit_micros=1_000_000)
    spend(agent_client, "big", "2.00")
    assert crossings() == [80, 100]


def test_agent_and_board_budgets_count_only_their_usage(agent_client, organization, board):
    other, _token, raw = agent_with_token(organization=organization, name="other")
    other_client = APIClient()
    other_client.credentials(**bearer(raw))
    Budget.objects.create(
        organization=organization, scope=BudgetScope.AGENT, agent=other, limit_micros=1_000_000
    )
    spend(agent_client, "mine", "5.00")
    assert crossings() == []
    spend(other_client, "theirs", "0.80")
    assert crossings() == [80]


def test_periods_are_utc_days_and_calendar_months(organization):
    daily = Budget(organization=organization, period=BudgetPeriod.DAILY, limit_micros=1)
    monthly = Budget(organization=organization, period=BudgetPeriod.MONTHLY, limit_micros=1)
    assert period_of(daily, date(2026, 12, 2)) == (date(2026, 12, 2), date(2026, 12, 2))
    assert period_of(monthly, date(2026, 12, 2)) == (date(2026, 12, 1), date(2026, 12, 31))
    assert period_of(monthly, date(2027, 2, 14)) == (date(2027, 2, 1), date(2027, 2, 28))
