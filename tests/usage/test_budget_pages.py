"""Budgets and prices in the app: admins set and remove them, everyone sees how full each budget
is; the banner; the hard stop (402); the agent page's and the task page's spend."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from activity.models import ActivityEvent
from tests.factories import AgentFactory, TaskFactory
from usage.models import Budget, BudgetScope, ModelPrice, UsageDaily

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def spend(client, key: str, dollars: str, **extra) -> None:
    report = {"model": "gpt-4o", "cost": dollars, "idempotency_key": key, **extra}
    response = client.post("/api/v1/agent/usage", {"reports": [report]}, format="json")
    assert response.status_code == 200, response.json()


def test_an_admin_sets_a_board_budget_and_sees_how_full_it_is(user, board, agent_client):
    client = logged_in(user)
    response = client.post(
        "/usage/budgets/", {"scope": "board", "board": board.pk, "period": "monthly", "limit": "$1,250.50"}
    )
    assert response.status_code == 302
    budget = Budget.objects.get()
    assert (budget.scope, budget.board_id, budget.limit_micros, budget.hard_stop) == (
        BudgetScope.BOARD,
        board.pk,
        1_250_500_000,
        False,
    )
    assert ActivityEvent.objects.filter(verb="usage.budget_set", target_id=str(budget.pk)).exists()
    spend(agent_client, "a", "1000.39", task=TaskFactory(board=board).pk)  # 79.999 %
    html = client.get("/usage/budgets/").content.decode()
    assert "Board Launch" in html and "$1000.39 · 79%" in html and 'value="79"' in html


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ({"scope": "organization", "period": "monthly", "limit": "0"}, "more than $0"),
        ({"scope": "organization", "period": "monthly", "limit": "10000000.01"}, "at most $10,000,000"),
        ({"scope": "organization", "period": "monthly", "limit": "lots"}, "number of dollars"),
        ({"scope": "organization", "period": "monthly", "limit": "NaN"}, "number of dollars"),
        ({"scope": "board", "period": "monthly", "limit": "5"}, "No such board"),
        ({"scope": "galaxy", "period": "monthly", "limit": "5"}, "organization, board or agent"),
        ({"scope": "organization", "period": "yearly", "limit": "5"}, "daily or monthly"),
    ],
)
def test_a_bad_budget_is_refused_with_a_sentence_and_the_form_kept(user, posted, message):
    response = logged_in(user).post("/usage/budgets/", posted)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and 'role="alert"' in html
    assert Budget.objects.count() == 0


def test_the_largest_limit_is_accepted(user):
    response = logged_in(user).post(
        "/usage/budgets/", {"scope": "organization", "period": "daily", "limit": "10000000"}
    )
    assert response.status_code == 302


def test_a_budget_for_another_organizations_agent_is_refused(user, outsider, other_organization):
    foreign = AgentFactory(organization=other_organization)
    response = logged_in(user).post(
        "/usage/budgets/", {"scope": "agent", "agent": foreign.pk, "period": "daily", "limit": "5"}
    )
    assert response.status_code == 400 and Budget.objects.count() == 0


def test_only_admins_change_budgets_but_every_member_sees_them(organization, teammate, viewer, user):
    budget = Budget.objects.create(organization=organization, limit_micros=5_000_000)
    for member in (teammate, viewer):
        client = logged_in(member)
        assert (
            client.post(
                "/usage/budgets/", {"scope": "organization", "period": "daily", "limit": "5"}
            ).status_code
            == 403
        )
        assert client.post(f"/usage/budgets/{budget.pk}/delete/").status_code == 403
        html = client.get("/usage/budgets/").content.decode()
        assert "$5.00" not in html or "New budget" not in html
        assert "New budget" not in html and "The organization" in html
    assert logged_in(user).post(f"/usage/budgets/{budget.pk}/delete/").status_code == 302
    assert not Budget.objects.exists()
    assert ActivityEvent.objects.filter(verb="usage.budget_removed").count() == 1


def test_another_organizations_budget_cannot_be_removed(outsider, organization):
    budget = Budget.objects.create(organization=organization, limit_micros=5_000_000)
    assert logged_in(outsider).post(f"/usage/budgets/{budget.pk}/delete/").status_code == 404
    assert Budget.objects.filter(pk=budget.pk).exists()


def test_the_budgets_page_reads_a_fixed_number_of_queries(
    user, organization, board, django_assert_max_num_queries
):
    client = logged_in(user)
    client.get("/usage/budgets/")
    for n in range(15):
        agent = AgentFactory(organization=organization)
        Budget.objects.create(
            organization=organization, scope=BudgetScope.AGENT, agent=agent, limit_micros=n + 1
        )
        Budget.objects.create(
            organization=organization, scope=BudgetScope.BOARD, board=board, limit_micros=n + 1
        )
    with django_assert_max_num_queries(13):  # 12, and the sidebar's boards by group (one query)
        assert client.get("/usage/budgets/").status_code == 200


def test_the_banner_warns_from_80_percent_on_the_usage_page(user, organization, agent_client):
    Budget.objects.create(organization=organization, limit_micros=10_000_000)
    client = logged_in(user)
    spend(agent_client, "a", "7.99")
    assert "budget-banner" not in client.get("/usage/").content.decode()
    spend(agent_client, "b", "0.01")
    html = client.get("/usage/").content.decode()
    assert 'data-budget-level="warning"' in html
    assert "The monthly budget of the organization is at 80%: $8.00 of $10.00 spent this month." in html
    spend(agent_client, "c", "2.00")
    assert 'data-budget-level="over"' in client.get("/usage/").content.decode()


# --- the hard stop -----------------------------------------------------------------------------


def claim(agent_client, task):
    return agent_client.post(f"/api/v1/agent/tasks/{task.pk}/claim")


def test_a_hard_stop_refuses_work_with_402_at_100_percent_and_keeps_taking_reports(
    organization, board, agent_client
):
    agent = agent_client.agent
    Budget.objects.create(
        organization=organization,
        scope=BudgetScope.AGENT,
        agent=agent,
        limit_micros=10_000_000,
        hard_stop=True,
    )
    spend(agent_client, "a", "9.99")
    assert claim(agent_client, TaskFactory(board=board)).status_code == 200  # 99.9 %: still allowed
    spend(agent_client, "b", "0.01")  # exactly 100 %
    refused = claim(agent_client, TaskFactory(board=board))
    assert refused.status_code == 402
    error = refused.json()["error"]
    assert error["code"] == "budget_exhausted"
    assert "The monthly budget of agent spender is at 100%: $10.00 of $10.00" in error["message"]
    assert "Usage reports are still accepted" in error["message"]
    spend(agent_client, "c", "1.00")  # reports are never refused: nothing spent goes unrecorded
    assert sum(UsageDaily.objects.values_list("cost_micros", flat=True)) == 11_000_000


def test_without_a_hard_stop_a_spent_budget_only_warns(organization, board, agent_client):
    Budget.objects.create(organization=organization, limit_micros=1_000_000)
    spend(agent_client, "a", "5.00")
    assert claim(agent_client, TaskFactory(board=board)).status_code == 200


def test_a_hard_stop_on_another_board_does_not_stop_this_agent(organization, board, agent_client):
    from tests.factories import BoardFactory

    elsewhere = BoardFactory(organization=organization, slug="elsewhere")
    Budget.objects.create(
        organization=organization, scope=BudgetScope.BOARD, board=elsewhere, limit_micros=1, hard_stop=True
    )
    spend(agent_client, "a", "5.00")
    assert claim(agent_client, TaskFactory(board=board)).status_code == 200


# --- the agent page and the task page ----------------------------------------------------------


def test_the_agent_page_shows_its_spend_per_model(user, board, agent_client, django_assert_max_num_queries):
    agent = agent_client.agent
    client = logged_in(user)
    assert "No usage reported in the last 30 days" in client.get(f"/agents/{agent.pk}/").content.decode()
    spend(agent_client, "a", "1.25")
    spend(agent_client, "b", "0.50", model="gpt-4o-mini", input_tokens=1000)
    with django_assert_max_num_queries(30):
        html = client.get(f"/agents/{agent.pk}/").content.decode()
    assert "data-agent-cost>$1.75<" in html and "gpt-4o-mini" in html


def test_the_task_page_shows_what_was_spent_on_it(user, board, agent_client):
    task = TaskFactory(board=board)
    client = logged_in(user)
    url = f"/boards/{board.pk}/tasks/{task.pk}/"
    assert "No usage reported against this task" in client.get(url).content.decode()
    spend(agent_client, "a", "0.42", task=task.pk, input_tokens=300, output_tokens=200)
    html = client.get(url).content.decode()
    assert "data-task-cost>$0.42<" in html and "500" in html


def test_cost_per_task_done_divides_by_the_finished_tasks(user, board, agent_client):
    from boards.models import TaskStatus

    done = [TaskFactory(board=board, status=TaskStatus.DONE) for _ in range(2)]
    open_task = TaskFactory(board=board)
    spend(agent_client, "a", "3.00", task=done[0].pk, input_tokens=1000)
    spend(agent_client, "b", "1.00", task=done[1].pk, input_tokens=3000)
    spend(agent_client, "c", "9.00", task=open_task.pk, input_tokens=9000)
    unit = logged_in(user).get("/usage/").context["unit_cost"]
    assert (unit.tasks_done, unit.cost_per_task, unit.tokens_per_task) == (2, Decimal("2.00"), 2000)


# --- prices ----------------------------------------------------------------------------------


def test_an_admin_sets_the_organizations_price_and_new_reports_use_it(user, organization, agent_client):
    today = timezone.now().date().isoformat()
    response = logged_in(user).post(
        "/usage/prices/",
        {
            "model": "house-model",
            "effective_from": today,
            "input_per_million": "2",
            "output_per_million": "8",
        },
    )
    assert response.status_code == 302
    price = ModelPrice.objects.get(organization=organization, model="house-model")
    assert (price.input_per_million, price.output_per_million, price.cached_per_million) == (2, 8, 0)
    response = agent_client.post(
        "/api/v1/agent/usage",
        {
            "reports": [
                {
                    "model": "house-model",
                    "input_tokens": 1_000_000,
                    "output_tokens": 500_000,
                    "idempotency_key": "p",
                }
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    assert UsageDaily.objects.get(model="house-model").cost_micros == 6_000_000


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        (
            {
                "model": "",
                "effective_from": "2026-12-01",
                "input_per_million": "1",
                "output_per_million": "1",
            },
            "Name the model",
        ),
        (
            {"model": "m", "effective_from": "soon", "input_per_million": "1", "output_per_million": "1"},
            "must be a date",
        ),
        (
            {
                "model": "m",
                "effective_from": "2026-12-01",
                "input_per_million": "-1",
                "output_per_million": "1",
            },
            "between $0",
        ),
        (
            {
                "model": "m" * 101,
                "effective_from": "2026-12-01",
                "input_per_million": "1",
                "output_per_million": "1",
            },
            "at most 100",
        ),
    ],
)
def test_a_bad_price_is_refused_with_a_sentence(user, posted, message):
    response = logged_in(user).post("/usage/prices/", posted)
    assert response.status_code == 400 and message in response.content.decode()
    assert not ModelPrice.objects.filter(organization__isnull=False).exists()


def test_only_admins_set_prices(teammate):
    response = logged_in(teammate).post(
        "/usage/prices/",
        {"model": "m", "effective_from": "2026-12-01", "input_per_million": "1", "output_per_million": "1"},
    )
    assert response.status_code == 403
