"""The automations pages: admins configure from forms, previews answer as htmx partials,
operators run and instantiate, viewers read."""

from __future__ import annotations

import pytest

from automations.models import Automation, Pipeline, Schedule

pytestmark = pytest.mark.backend_independent


def test_an_admin_creates_a_schedule_from_the_form(client, user, board):
    client.force_login(user)
    response = client.post(
        f"/boards/{board.pk}/automations/schedules/new/",
        {
            "name": "Morning check",
            "cron": "0 9 * * 1-5",
            "time_zone": "Europe/Paris",
            "missed_policy": "skip",
            "enabled": "on",
            "then-action": "create_task",
            "then-text": "Check the overnight runs ({date})",
        },
    )
    assert response.status_code == 302
    schedule = Schedule.objects.get()
    assert schedule.actions == [{"action": "create_task", "title": "Check the overnight runs ({date})"}]
    page = client.get(f"/boards/{board.pk}/automations/").content.decode()
    assert "At 09:00, Monday through Friday" in page and "Morning check" in page
    assert ", 09:00</time>" in page  # the next run in the schedule's time zone, not the server's


def test_a_refused_form_says_why_with_a_400(client, user, board):
    client.force_login(user)
    response = client.post(
        f"/boards/{board.pk}/automations/schedules/new/",
        {
            "name": "Bad",
            "cron": "every day",
            "time_zone": "UTC",
            "missed_policy": "run_once",
            "then-action": "post_chat",
            "then-text": "x",
        },
    )
    assert response.status_code == 400
    assert "is not a cron expression" in response.content.decode()


def test_the_schedule_preview_shows_words_and_next_runs(client, viewer, board):
    client.force_login(viewer)
    html = client.get(
        f"/boards/{board.pk}/automations/schedules/preview/",
        {"cron": "30 8 * * *", "time_zone": "Asia/Tokyo"},
    ).content.decode()
    assert "At 08:30" in html and html.count("<li>") == 5 and "+09:00" in html
    assert html.count(", 08:30</time>") == 5  # shown in Tokyo time


def test_the_automation_dry_run_and_form(client, user, viewer, board):
    client.force_login(user)
    response = client.post(
        f"/boards/{board.pk}/automations/new/",
        {
            "name": "Urgent done",
            "trigger": "task_done",
            "conditions": "task.priority is urgent",
            "enabled": "on",
            "then-action": "post_chat",
            "then-text": "{task.title} is done",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    automation = Automation.objects.get()
    assert automation.conditions == [{"field": "task.priority", "op": "is", "value": "urgent"}]
    client.force_login(viewer)
    html = client.get(
        f"/boards/{board.pk}/automations/preview/", {"trigger": "task_enters_column", "column": "review"}
    ).content.decode()
    assert "would have fired <strong data-preview-fired>0</strong> times" in html
    # A viewer reads the editor but cannot save it.
    assert client.post(f"/boards/{board.pk}/automations/{automation.pk}/", {"name": "x"}).status_code == 403


def test_a_pipeline_started_from_the_page_shows_its_progress_on_the_board(client, user, teammate, board):
    client.force_login(user)
    client.post(
        f"/boards/{board.pk}/automations/templates/pipeline/new/",
        {"name": "Release", "steps": "build | Build\ntest | Test | build\nship | Ship | test"},
    )
    client.force_login(teammate)
    template_id = board.pipeline_templates.get().pk
    assert (
        client.post(f"/boards/{board.pk}/automations/templates/pipeline/{template_id}/use/").status_code
        == 302
    )
    assert Pipeline.objects.get().steps.count() == 3
    html = client.get(f"/boards/{board.pk}/").content.decode()
    assert 'id="board-pipelines"' in html and "0/3 done" in html
