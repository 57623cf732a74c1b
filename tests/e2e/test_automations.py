"""Automations from the pages, end to end: a schedule and an automation made in the editors,
their previews, and then both firing while the automations page is open (it updates live).

The real ASGI server and Chromium; log consumers run after each commit (the embedded default).
The schedule's slot is fired by beat's task, called here as beat's tick would call it.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from automations import cron
from automations.models import Automation, Schedule
from automations.tasks import fire_due_schedules
from boards import services as board_services
from boards.models import TaskStatus
from core.actors import Actor
from tests.activity.log import consumers_inline  # noqa: F401 - the fixture
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("consumers_inline")]


def test_a_schedule_and_an_automation_made_from_the_pages_preview_and_fire(asgi_server, page, user, board):
    actor = Actor.for_user(user)
    earlier = board_services.create_task(board=board, actor=actor, title="Earlier work")
    board_services.move_task(task=earlier, actor=actor, status=TaskStatus.IN_PROGRESS)
    log_in(page, asgi_server.url, "owner")

    # --- a schedule: the words and the next five runs appear as the expression is typed.
    page.goto(f"{asgi_server.url}/boards/{board.pk}/automations/")
    page.get_by_role("link", name="New schedule").click()
    page.fill("#id_name", "Standup reminder")
    page.fill("#id_time_zone", "Europe/Paris")
    page.fill("#id_cron", "*/5 * * * *")
    page.wait_for_selector("[data-schedule-words]:has-text('Every 5 minutes')")
    assert page.locator("[data-next-runs] li").count() == 5
    page.select_option("#id_then-action", "post_chat")
    page.fill("#id_then-text", "Standup at {slot}")
    page.get_by_role("button", name="Create schedule").click()
    page.wait_for_selector("#schedule-table >> text=Standup reminder")
    assert page.locator("#schedule-table").inner_text().count("Every 5 minutes") == 1

    # --- an automation: the dry run over last week, then save.
    page.get_by_role("link", name="New automation").click()
    page.fill("#id_name", "Started → chat")
    page.select_option("#id_trigger", "task_enters_column")
    page.select_option("#id_column", "in_progress")
    page.get_by_role("button", name="Dry run over last week").click()
    page.wait_for_selector("[data-preview-fired]")
    assert page.locator("[data-preview-fired]").inner_text() == "1"  # "Earlier work", moved above
    page.select_option("#id_then-action", "comment")
    page.fill("#id_then-text", "On it: {task.title}")
    page.get_by_role("button", name="Create automation").click()
    page.wait_for_selector("#automation-table >> text=Started → chat")
    page.wait_for_selector('#live-status[data-state="live"]')

    # --- both fire while the page is open: the outcomes arrive without a reload.
    schedule = Schedule.objects.get()
    slot = cron.latest_slot(schedule.cron, schedule.time_zone, at=timezone.now())
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=slot)  # its first slot has come
    assert fire_due_schedules() == 1
    page.wait_for_selector("#outcome-table >> text=Posted to the board's chat.", timeout=15000)

    fresh = board_services.create_task(board=board, actor=actor, title="Fresh work")
    board_services.move_task(task=fresh, actor=actor, status=TaskStatus.IN_PROGRESS)
    page.wait_for_selector(f"#outcome-table >> text=Commented on task #{fresh.pk}.", timeout=15000)
    assert fresh.chat_messages.get().body == "On it: Fresh work"
    assert Automation.objects.get().runs.count() == 1
    assert not page.console_errors
