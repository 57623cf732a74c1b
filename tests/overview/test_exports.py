"""Exports: streamed, scoped to an organization the caller belongs to, filtered, capped, and safe
to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from activity.services import record_activity
from core.actors import Actor
from deliveries.models import Delivery, DeliveryStatus
from infra.csv_export import safe_cell
from tests.factories import BoardFactory, MembershipFactory, OrganizationFactory, TaskFactory

pytestmark = pytest.mark.django_db


def body(response) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body(response))))


@pytest.fixture
def page_client(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("plain = text", "plain = text"),
        (-5, -5),
        (None, ""),
    ],
)
def test_cells_a_spreadsheet_would_run_are_escaped(value, expected):
    assert safe_cell(value) == expected


def test_a_task_title_starting_with_a_formula_is_exported_as_text(page_client, board):
    TaskFactory(board=board, title="=cmd|' /C calc'!A0")
    (row,) = csv_rows(page_client.get(reverse("overview:export", args=["tasks"])))
    assert row["title"] == "'=cmd|' /C calc'!A0"


def test_tasks_csv_has_a_header_and_one_row_per_task_oldest_first(page_client, board, organization):
    other = BoardFactory(organization=organization, name="Other", slug="other")
    first = TaskFactory(board=board, title="first")
    TaskFactory(board=other, title="elsewhere")
    response = page_client.get(reverse("overview:export", args=["tasks"]), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="acme-tasks-' in response["Content-Disposition"]
    rows = csv_rows(response)
    assert [row["title"] for row in rows] == ["first", "elsewhere"]
    assert rows[0]["id"] == str(first.pk) and rows[0]["board"] == "Launch"


def test_a_board_and_status_filter_select_matching_rows(page_client, board, organization):
    other = BoardFactory(organization=organization, name="Other", slug="other")
    TaskFactory(board=board, title="inbox here")
    TaskFactory(board=board, title="blocked here", status="blocked")
    TaskFactory(board=other, title="blocked there", status="blocked")
    url = reverse("overview:export", args=["tasks"])
    rows = csv_rows(page_client.get(url, {"board": board.pk, "status": "blocked"}))
    assert [row["title"] for row in rows] == ["blocked here"]


def test_activity_filters_by_verb_prefix_actor_and_time(page_client, board, organization, user):
    for verb in ("task.created", "task.status_changed", "board.updated"):
        record_activity(organization=organization, board=board, verb=verb, actor=Actor.for_user(user))
    record_activity(organization=organization, verb="task.created", actor=Actor.system())
    url = reverse("overview:export", args=["activity"])
    rows = csv_rows(page_client.get(url, {"verb": "task.", "actor": "user"}))
    assert [row["verb"] for row in rows] == ["task.created", "task.status_changed"]
    assert csv_rows(page_client.get(url, {"until": "2000-01-01"})) == []
    assert len(csv_rows(page_client.get(url, {"since": "2000-01-01"}))) == 4


def test_jsonl_has_one_object_per_line(page_client, board, organization):
    Delivery.objects.create(
        organization=organization,
        board=board,
        target_url="https://example.com/x",
        event_type="task.created",
        status=DeliveryStatus.DEAD,
        payload={"secret": "not exported"},
    )
    response = page_client.get(reverse("overview:export", args=["deliveries"]), {"format": "jsonl"})
    assert response["Content-Type"] == "application/x-ndjson"
    (line,) = body(response).splitlines()
    record = json.loads(line)
    assert record["status"] == "dead" and record["board_id"] == board.pk
    assert "payload" not in record


def test_the_row_limit_caps_an_export_and_after_continues_it(page_client, board, settings):
    settings.EXPORT_MAX_ROWS = 3
    tasks = [TaskFactory(board=board, title=f"t{i}") for i in range(4)]
    url = reverse("overview:export", args=["tasks"])
    response = page_client.get(url)
    assert response["X-Export-Row-Limit"] == "3"
    assert [row["title"] for row in csv_rows(response)] == ["t0", "t1", "t2"]
    assert [row["title"] for row in csv_rows(page_client.get(url, {"after": tasks[2].pk}))] == ["t3"]
    assert len(csv_rows(page_client.get(url, {"limit": 3}))) == 3
    assert page_client.get(url, {"limit": 4}).status_code == 400


@pytest.mark.parametrize(
    "params",
    [{"format": "xlsx"}, {"since": "yesterday"}, {"limit": "0"}, {"status": "lost"}, {"after": "-1"}],
)
def test_bad_filters_are_a_400_naming_the_problem(page_client, board, params):
    response = page_client.get(reverse("overview:export", args=["tasks"]), params)
    assert response.status_code == 400
    assert b'role="alert"' in response.content


def test_another_organizations_board_is_a_404(page_client, other_organization):
    foreign = BoardFactory(organization=other_organization, name="Theirs", slug="theirs")
    assert (
        page_client.get(reverse("overview:export", args=["tasks"]), {"board": foreign.pk}).status_code == 404
    )


def test_exports_show_only_the_callers_organization(client, board, outsider, other_organization):
    TaskFactory(board=board, title="ours")
    client.force_login(outsider)
    assert csv_rows(client.get(reverse("overview:export", args=["tasks"]))) == []


def test_an_unknown_dataset_is_a_404(page_client, board):
    assert page_client.get(reverse("overview:export", args=["users"])).status_code == 404


def test_the_exports_page_lists_every_dataset(page_client, board):
    html = page_client.get(reverse("overview:exports")).content.decode()
    for dataset in ("tasks", "activity", "deliveries"):
        assert reverse("overview:export", args=[dataset]) in html


# --- API ------------------------------------------------------------------------------------------


def test_the_api_streams_an_export_for_a_personal_token_or_session(api_client, board, organization):
    TaskFactory(board=board, title="via api")
    response = api_client.get("/api/v1/exports/tasks", {"organization": organization.pk, "format": "jsonl"})
    assert response.status_code == 200
    assert [json.loads(line)["title"] for line in body(response).splitlines()] == ["via api"]


def test_the_api_answers_bad_filters_in_the_error_shape(api_client, board, organization):
    response = api_client.get("/api/v1/exports/tasks", {"organization": organization.pk, "format": "xml"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_format"


def test_the_api_refuses_another_organization_with_a_404(api_client, board, other_organization):
    response = api_client.get("/api/v1/exports/tasks", {"organization": other_organization.pk})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_api_asks_which_organization_when_you_have_several(api_client, board, user):
    MembershipFactory(organization=OrganizationFactory(name="Second", slug="second"), user=user)
    response = api_client.get("/api/v1/exports/tasks")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "organization_required"


def test_an_agent_exports_only_a_board_it_is_on(board, organization, client):
    from tests.agents.factories import agent_with_token, bearer

    elsewhere = BoardFactory(organization=organization, name="Elsewhere", slug="elsewhere")
    TaskFactory(board=board, title="mine")
    TaskFactory(board=elsewhere, title="not mine")
    _agent, _token, raw = agent_with_token(organization=organization, boards=[board])
    response = client.get("/api/v1/exports/tasks", {"board": board.pk}, **bearer(raw))
    assert [row["title"] for row in csv_rows(response)] == ["mine"]
    assert client.get("/api/v1/exports/tasks", {"board": elsewhere.pk}, **bearer(raw)).status_code == 404


def test_anonymous_callers_get_a_401_or_403(anon_client, board):
    assert anon_client.get("/api/v1/exports/tasks").status_code in (401, 403)
