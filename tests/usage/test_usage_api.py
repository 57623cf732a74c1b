"""Usage reporting (agent API) and totals (human API): cost at write time, idempotency, limits."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.actors import Actor
from tests.agents.factories import agent_with_token, bearer
from tests.factories import BoardFactory, TaskFactory
from usage import services
from usage.models import CostSource, UsageDaily, UsageReport

pytestmark = pytest.mark.django_db

URL = "/api/v1/agent/usage"
TOTALS = "/api/v1/usage/"


def report(key: str = "r-1", **fields) -> dict:
    return {
        "model": "gpt-4o",
        "input_tokens": 1000,
        "output_tokens": 500,
        "cached_tokens": 200,
        "idempotency_key": key,
        **fields,
    }


def post(client, *reports):
    return client.post(URL, {"reports": list(reports)}, format="json")


def test_it_stores_a_report_with_its_cost_from_the_catalogue(agent_client):
    response = post(agent_client, report())
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (1, 0)
    # gpt-4o: 2.50 / 10.00 / 1.25 USD per 1M input / output / cached tokens.
    assert body["reports"][0]["cost"] == "0.00775"
    stored = UsageReport.objects.get()
    assert stored.cost_micros == 7750 and stored.cost_source == CostSource.COMPUTED
    assert stored.price.model == "gpt-4o" and stored.model_known


def test_the_same_idempotency_key_twice_is_counted_once(agent_client):
    first = post(agent_client, report("same"))
    again = post(agent_client, report("same", input_tokens=999_999))
    assert again.status_code == 200
    assert again.json()["reports"][0] == {**first.json()["reports"][0], "duplicate": True}
    assert UsageReport.objects.count() == 1
    rollup = UsageDaily.objects.get()
    assert (rollup.reports, rollup.input_tokens) == (1, 1000)


def test_one_key_twice_in_a_batch_is_counted_once(agent_client):
    body = post(agent_client, report("twin"), report("twin")).json()
    assert (body["accepted"], body["duplicates"]) == (1, 1)
    assert UsageDaily.objects.get().reports == 1


def test_keys_are_per_agent(agent_client, organization, board):
    _other, _token, raw = agent_with_token(organization=organization, name="other", boards=[board])
    other = APIClient()
    other.credentials(**bearer(raw))
    post(agent_client, report("k"))
    assert post(other, report("k")).json()["accepted"] == 1


def test_an_unknown_model_is_accepted_and_flagged(agent_client):
    body = post(
        agent_client, report("a", model="brand-new-model"), report("b", model="brand-new-model", cost="0.42")
    )
    assert body.status_code == 200
    unknown, reported = body.json()["reports"]
    assert (unknown["model_known"], unknown["cost"], unknown["cost_source"]) == (False, None, "unknown")
    assert (reported["cost"], reported["cost_source"]) == ("0.42", "reported")
    rollup = UsageDaily.objects.get()
    assert (rollup.reports, rollup.unpriced_reports, rollup.cost_micros) == (2, 1, 420_000)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("input_tokens", -1),
        ("output_tokens", 100_000_001),
        ("cached_tokens", "many"),
        ("cost", "-0.01"),
        ("cost", "10000.01"),
        ("model", ""),
        ("model", "m" * 101),
        ("idempotency_key", "has space"),
        ("idempotency_key", "k" * 101),
        ("occurred_at", "2999-01-01T00:00:00Z"),
    ],
)
def test_it_refuses_bad_values_with_a_field_level_400(agent_client, field, value):
    response = post(agent_client, report("ok"), report("bad", **{field: value}))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    # Only the failing report, by its index in the batch.
    assert list(error["fields"]["reports"]) == ["1"]
    assert list(error["fields"]["reports"]["1"]) == [field]
    assert UsageReport.objects.count() == 0  # the batch is all or nothing


def test_the_token_limits_hold_at_their_boundary(agent_client):
    assert post(agent_client, report("max", input_tokens=100_000_000)).status_code == 200
    assert post(agent_client, report("over", input_tokens=100_000_001)).status_code == 400


def test_a_report_older_than_31_days_is_refused(agent_client):
    old = (timezone.now() - timedelta(days=31, minutes=1)).isoformat()
    recent = (timezone.now() - timedelta(days=30)).isoformat()
    assert post(agent_client, report("old", occurred_at=old)).status_code == 400
    assert post(agent_client, report("recent", occurred_at=recent)).status_code == 200


def test_a_report_needs_tokens_or_a_cost(agent_client):
    empty = report("empty", input_tokens=0, output_tokens=0, cached_tokens=0)
    assert post(agent_client, empty).status_code == 400
    assert post(agent_client, {**empty, "cost": "0.01"}).status_code == 200


def test_the_batch_size_limit_holds_at_its_boundary(agent_client):
    assert post(agent_client, *[report(f"b{i}") for i in range(100)]).json()["accepted"] == 100
    response = post(agent_client, *[report(f"c{i}") for i in range(101)])
    assert response.status_code == 400
    assert "reports" in response.json()["error"]["fields"]
    assert post(agent_client).status_code == 400  # an empty batch too


def test_a_task_of_the_agents_boards_is_linked_and_another_is_a_field_error(
    agent_client, board, other_organization
):
    task = TaskFactory(board=board)
    foreign = TaskFactory(board=BoardFactory(organization=other_organization))
    response = post(agent_client, report("t", task=task.pk))
    assert response.status_code == 200
    stored = UsageReport.objects.get()
    assert (stored.task_id, stored.board_id) == (task.pk, board.pk)
    refused = post(agent_client, report("f", task=foreign.pk))
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"]["reports"] == {
        "0": {"task": ["No such task on this agent's boards."]}
    }


def test_people_cannot_report_usage(api_client):
    assert post(api_client, report()).status_code in (401, 403)


def test_a_price_change_applies_from_its_date_and_does_not_rewrite_history(agent_client, organization, user):
    today = timezone.now()
    yesterday = today - timedelta(days=1)
    post(agent_client, report("before", occurred_at=yesterday.isoformat()))
    services.set_model_price(
        actor=Actor.for_user(user),
        organization=organization,
        model="gpt-4o",
        effective_from=today.date(),
        input_per_million=Decimal("1"),
        output_per_million=Decimal("1"),
        cached_per_million=Decimal("1"),
    )
    post(agent_client, report("late-report-of-yesterday", occurred_at=yesterday.isoformat()))
    post(agent_client, report("today", occurred_at=today.isoformat()))
    costs = dict(UsageReport.objects.values_list("idempotency_key", "cost_micros"))
    assert costs == {"before": 7750, "late-report-of-yesterday": 7750, "today": 1700}


def test_an_organizations_price_needs_its_admin(organization, viewer):
    from infra.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.set_model_price(
            actor=Actor.for_user(viewer),
            organization=organization,
            model="x",
            effective_from=date.today(),
            input_per_million=Decimal(1),
            output_per_million=Decimal(1),
        )


# --- totals for people -------------------------------------------------------------------------


def test_totals_group_by_every_dimension(agent_client, api_client, board, organization):
    task = TaskFactory(board=board, title="Ship it")
    post(
        agent_client,
        report("a", task=task.pk),
        report("b", model="gpt-4o-mini", input_tokens=1_000_000, output_tokens=0, cached_tokens=0),
    )
    by_model = api_client.get(TOTALS, {"group_by": "model"}).json()
    # The biggest spend first.
    assert [(r["key"], r["cost"]) for r in by_model["results"]] == [
        ("gpt-4o-mini", "0.15"),
        ("gpt-4o", "0.00775"),
    ]
    agent = api_client.get(TOTALS, {"group_by": "agent"}).json()["results"]
    assert agent == [{**agent[0], "key": str(agent_client.agent.pk), "label": "spender", "reports": 2}]
    boards = api_client.get(TOTALS, {"group_by": "board"}).json()["results"]
    assert {(r["key"], r["label"]) for r in boards} == {(str(board.pk), board.name), ("0", "")}
    tasks = api_client.get(TOTALS, {"group_by": "task"}).json()["results"]
    assert (str(task.pk), "Ship it") in {(r["key"], r["label"]) for r in tasks}
    days = api_client.get(TOTALS, {"group_by": "day"}).json()["results"]
    assert [r["key"] for r in days] == [timezone.now().date().isoformat()]


def test_totals_respect_the_date_range(agent_client, api_client):
    now = timezone.now()
    post(agent_client, report("old", occurred_at=(now - timedelta(days=3)).isoformat()), report("new"))
    today = now.date().isoformat()
    body = api_client.get(TOTALS, {"group_by": "day", "from": today, "to": today}).json()
    assert [r["key"] for r in body["results"]] == [today]
    bad = api_client.get(TOTALS, {"from": today, "to": (now - timedelta(days=1)).date().isoformat()})
    assert bad.status_code == 400 and "to" in bad.json()["error"]["fields"]
    assert api_client.get(TOTALS, {"group_by": "colour"}).status_code == 400


def test_another_organizations_totals_are_404(api_client, other_organization, outsider):
    assert api_client.get(TOTALS, {"organization": other_organization.pk}).status_code == 404


def test_agents_cannot_read_the_human_totals(agent_client):
    assert agent_client.get(TOTALS).status_code in (401, 403)


def test_the_totals_take_a_constant_number_of_queries(
    agent_client, api_client, django_assert_max_num_queries
):
    post(agent_client, *[report(f"q{i}", model=f"m{i % 7}") for i in range(50)])
    for group_by in ("agent", "model", "day", "board", "task"):
        with django_assert_max_num_queries(6):
            assert api_client.get(TOTALS, {"group_by": group_by}).status_code == 200


# --- inline with the heartbeat ----------------------------------------------------------------


def test_usage_rides_along_with_a_heartbeat(agent_client):
    response = agent_client.post(
        "/api/v1/agent/heartbeat", {"status_text": "working", "usage": [report("hb-1")]}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status_text"] == "working"
    assert (body["usage"]["accepted"], body["usage"]["reports"][0]["cost"]) == (1, "0.00775")
    assert UsageDaily.objects.get().reports == 1


def test_a_heartbeat_without_usage_answers_as_before(agent_client):
    body = agent_client.post("/api/v1/agent/heartbeat", {}, format="json").json()
    assert "usage" not in body and UsageReport.objects.count() == 0


def test_bad_usage_in_a_heartbeat_is_a_field_error_and_records_nothing(agent_client):
    response = agent_client.post(
        "/api/v1/agent/heartbeat",
        {"status_text": "x", "usage": [report("bad", input_tokens=-5)]},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]["usage"]["0"]) == ["input_tokens"]
    agent_client.agent.refresh_from_db()
    assert agent_client.agent.status_text != "x" and UsageReport.objects.count() == 0
