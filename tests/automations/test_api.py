"""The automations API: scoped to the caller's boards, roles from the services, errors in the
one JSON shape."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from automations.models import ActionOutcome, Automation, Schedule

pytestmark = pytest.mark.backend_independent


def client_for(person) -> APIClient:
    client = APIClient()
    client.force_authenticate(person)
    return client


SCHEDULE = {
    "name": "Morning",
    "cron": "0 9 * * 1-5",
    "time_zone": "Europe/Paris",
    "actions": [{"action": "post_chat", "body": "Good morning"}],
}


def test_an_admin_creates_a_schedule_and_reads_it_in_words(board, user):
    response = client_for(user).post("/api/v1/schedules/", {**SCHEDULE, "board": board.pk}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["description"] == "At 09:00, Monday through Friday"
    assert len(body["next_runs"]) == 5 and body["next_runs"][0].endswith("+01:00")
    listed = client_for(user).get(f"/api/v1/schedules/?board={board.pk}").json()
    assert [s["name"] for s in listed["results"]] == ["Morning"]


def test_a_bad_cron_is_a_400_in_the_error_shape(board, user):
    response = client_for(user).post(
        "/api/v1/schedules/", {**SCHEDULE, "board": board.pk, "cron": "every morning"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_cron"


def test_operators_cannot_create_but_can_run_now(board, user, teammate):
    response = client_for(teammate).post("/api/v1/schedules/", {**SCHEDULE, "board": board.pk}, format="json")
    assert response.status_code == 403
    created = (
        client_for(user).post("/api/v1/schedules/", {**SCHEDULE, "board": board.pk}, format="json").json()
    )
    run = client_for(teammate).post(f"/api/v1/schedules/{created['id']}/run/")
    assert run.status_code == 200
    assert run.json()[0]["status"] == "applied"
    outcomes = client_for(teammate).get(f"/api/v1/action-outcomes/?board={board.pk}").json()["results"]
    assert [o["source_name"] for o in outcomes] == ["Morning"]


def test_another_organizations_board_and_objects_are_not_found(board, user, outsider):
    response = client_for(outsider).post("/api/v1/schedules/", {**SCHEDULE, "board": board.pk}, format="json")
    assert response.status_code == 400  # "no such board": ids of other organizations cannot be probed
    created = (
        client_for(user).post("/api/v1/schedules/", {**SCHEDULE, "board": board.pk}, format="json").json()
    )
    assert client_for(outsider).get(f"/api/v1/schedules/{created['id']}/").status_code == 404
    assert client_for(outsider).delete(f"/api/v1/schedules/{created['id']}/").status_code == 404
    assert Schedule.objects.count() == 1


def test_the_schedule_preview_needs_no_saved_schedule(board, viewer):
    response = client_for(viewer).post(
        "/api/v1/schedules/preview/",
        {"board": board.pk, "cron": "*/15 * * * *", "time_zone": "UTC"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["description"] == "Every 15 minutes"
    assert response.json()["last_week"] == 7 * 24 * 4


def test_automations_crud_and_dry_run(board, user, viewer):
    payload = {
        "board": board.pk,
        "name": "Done → chat",
        "trigger": "task_done",
        "actions": [{"action": "post_chat", "body": "{task.title} is done"}],
    }
    created = client_for(user).post("/api/v1/automations/", payload, format="json")
    assert created.status_code == 201, created.json()
    automation_id = created.json()["id"]
    patched = client_for(user).patch(
        f"/api/v1/automations/{automation_id}/", {"enabled": False}, format="json"
    )
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    assert (
        client_for(viewer)
        .patch(f"/api/v1/automations/{automation_id}/", {"enabled": True}, format="json")
        .status_code
        == 403
    )
    preview = client_for(viewer).post(
        "/api/v1/automations/preview/", {"board": board.pk, "trigger": "task_done"}, format="json"
    )
    assert preview.status_code == 200 and preview.json()["fired"] == 0
    bad = client_for(user).post(
        "/api/v1/automations/", {**payload, "name": "x", "actions": []}, format="json"
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "actions_required"
    assert client_for(user).delete(f"/api/v1/automations/{automation_id}/").status_code == 204
    assert not Automation.objects.exists()


def test_templates_are_instantiated_through_the_api(board, user, teammate, agent):
    template = (
        client_for(user)
        .post(
            "/api/v1/pipeline-templates/",
            {
                "board": board.pk,
                "name": "Release",
                "steps": [{"key": "a", "title": "A"}, {"key": "b", "title": "B", "depends_on": ["a"]}],
            },
            format="json",
        )
        .json()
    )
    started = client_for(teammate).post(f"/api/v1/pipeline-templates/{template['id']}/instantiate/")
    assert started.status_code == 201
    assert started.json()["progress"] == {"done": 0, "total": 2, "percent": 0}
    assert [
        t["key"] for t in client_for(teammate).get("/api/v1/pipelines/").json()["results"][0]["tasks"]
    ] == ["a", "b"]
    assert ActionOutcome.objects.get().source_kind == "manual"
