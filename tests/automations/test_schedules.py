"""Schedules: cron in words and in the organization's time zone, one firing per slot, and the
missed-run policy after downtime."""

from __future__ import annotations

import datetime as dt

import pytest

from automations import services
from automations.models import ActionOutcome, MissedRunPolicy, RunStatus, Schedule, ScheduleRun
from boards.models import Task
from core.actors import Actor
from infra.exceptions import DomainError, NotFound, PermissionDenied

pytestmark = pytest.mark.backend_independent

UTC = dt.UTC
CREATE = [{"action": "create_task", "title": "Weekly review {date}"}]


def make(board, admin, **overrides) -> Schedule:
    values = {
        "name": "Weekly review",
        "cron_expression": "0 9 * * 1",
        "actions": CREATE,
        "time_zone": "Europe/Paris",
    }
    return services.create_schedule(board=board, actor=admin, **{**values, **overrides})


def due(schedule: Schedule, at: dt.datetime) -> None:
    """As if it had been created before `at`'s slot: its next run is that slot."""
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=at)


def test_the_preview_says_it_in_words_with_the_next_five_runs_in_the_time_zone(board):
    now = dt.datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # a Monday
    preview = services.schedule_preview(
        board=board, cron_expression="0 9 * * 1-5", time_zone="Europe/Paris", now=now
    )
    assert preview["description"] == "At 09:00, Monday through Friday"
    assert preview["next_runs"] == [
        "2026-12-08T09:00:00+01:00",
        "2026-12-09T09:00:00+01:00",
        "2026-12-10T09:00:00+01:00",
        "2026-12-11T09:00:00+01:00",
        "2026-12-14T09:00:00+01:00",
    ]
    assert preview["last_week"] == 5


def test_a_new_schedule_waits_for_its_next_slot_in_its_time_zone(board, admin):
    schedule = make(board, admin)
    local = schedule.next_run_at.astimezone(dt.timezone(dt.timedelta(hours=1)))  # Paris in December
    assert (local.hour, local.minute, local.weekday()) == (9, 0, 0)


def test_a_slot_fires_once_even_when_its_row_still_says_due(board, admin):
    schedule = make(board, admin, cron_expression="*/5 * * * *", time_zone="UTC")
    slot = dt.datetime(2026, 12, 7, 10, 5, tzinfo=UTC)
    due(schedule, slot)
    first = services.fire_schedule(schedule_id=schedule.pk, now=slot + dt.timedelta(seconds=20))
    assert first is not None and first.status == RunStatus.FIRED
    # A second beat or a restarted worker that read the row before it moved on: only the unique
    # (schedule, slot) row stands between it and a second task.
    due(schedule, slot)
    assert services.fire_schedule(schedule_id=schedule.pk, now=slot + dt.timedelta(seconds=40)) is None
    assert ScheduleRun.objects.filter(schedule=schedule).count() == 1
    assert Task.objects.filter(board=board, title="Weekly review 2026-12-07").count() == 1
    schedule.refresh_from_db()
    assert schedule.next_run_at == dt.datetime(2026, 12, 7, 10, 10, tzinfo=UTC)


def test_the_beat_tick_fires_due_schedules_and_leaves_the_others(board, admin):
    hourly = make(board, admin, name="Hourly", cron_expression="0 * * * *", time_zone="UTC")
    later = make(board, admin, name="Later", cron_expression="0 23 * * *", time_zone="UTC")
    now = dt.datetime(2026, 12, 7, 10, 0, 5, tzinfo=UTC)
    due(hourly, dt.datetime(2026, 12, 7, 10, 0, tzinfo=UTC))
    Schedule.objects.filter(pk=later.pk).update(next_run_at=dt.datetime(2026, 12, 7, 23, 0, tzinfo=UTC))
    runs = services.fire_due_schedules(now=now)
    assert [r.schedule_id for r in runs] == [hourly.pk]
    assert services.fire_due_schedules(now=now) == []


def test_after_downtime_run_once_fires_the_missed_slots_once(board, admin):
    schedule = make(board, admin, cron_expression="0 * * * *", time_zone="UTC")
    due(schedule, dt.datetime(2026, 12, 7, 2, 0, tzinfo=UTC))  # down from before 02:00 to 10:20
    run = services.fire_schedule(schedule_id=schedule.pk, now=dt.datetime(2026, 12, 7, 10, 20, tzinfo=UTC))
    assert run.status == RunStatus.FIRED
    assert run.slot == dt.datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    assert (run.missed, run.message) == (8, "Ran once for 9 missed slots.")
    assert Task.objects.filter(board=board).count() == 1
    assert ActionOutcome.objects.get(source_kind="schedule").status == "applied"


def test_after_downtime_skip_records_the_slot_as_skipped_and_does_nothing(board, admin):
    schedule = make(
        board, admin, cron_expression="0 * * * *", time_zone="UTC", missed_policy=MissedRunPolicy.SKIP
    )
    due(schedule, dt.datetime(2026, 12, 7, 2, 0, tzinfo=UTC))
    run = services.fire_schedule(schedule_id=schedule.pk, now=dt.datetime(2026, 12, 7, 10, 20, tzinfo=UTC))
    assert run.status == RunStatus.SKIPPED
    assert "skipped (the schedule's policy)" in run.message
    assert not Task.objects.filter(board=board).exists()
    schedule.refresh_from_db()
    assert schedule.next_run_at == dt.datetime(2026, 12, 7, 11, 0, tzinfo=UTC)  # back on the clock


def test_skip_still_fires_a_slot_that_is_only_a_little_late(board, admin, settings):
    settings.AUTOMATIONS_MISSED_GRACE_SECONDS = 300
    schedule = make(
        board, admin, cron_expression="0 * * * *", time_zone="UTC", missed_policy=MissedRunPolicy.SKIP
    )
    due(schedule, dt.datetime(2026, 12, 7, 10, 0, tzinfo=UTC))
    on_time = services.fire_schedule(schedule_id=schedule.pk, now=dt.datetime(2026, 12, 7, 10, 5, tzinfo=UTC))
    assert on_time.status == RunStatus.FIRED  # 300 s late: the boundary is still on time
    due(schedule, dt.datetime(2026, 12, 7, 11, 0, tzinfo=UTC))
    late = services.fire_schedule(schedule_id=schedule.pk, now=dt.datetime(2026, 12, 7, 11, 5, 1, tzinfo=UTC))
    assert late.status == RunStatus.SKIPPED


def test_run_now_is_for_operators_and_uses_up_no_slot(board, admin, teammate, viewer):
    schedule = make(board, admin)
    [outcome] = services.run_schedule_now(schedule=schedule, actor=Actor.for_user(teammate))
    assert outcome.status == "applied"
    assert not ScheduleRun.objects.exists()
    with pytest.raises(PermissionDenied):
        services.run_schedule_now(schedule=schedule, actor=Actor.for_user(viewer))


def test_only_admins_configure_schedules(board, admin, teammate, outsider):
    with pytest.raises(PermissionDenied):
        make(board, Actor.for_user(teammate))
    with pytest.raises(NotFound):
        make(board, Actor.for_user(outsider))
    schedule = make(board, admin)
    with pytest.raises(PermissionDenied):
        services.update_schedule(schedule=schedule, actor=Actor.for_user(teammate), name="Mine")


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"cron_expression": "61 * * * *"}, "invalid_cron"),
        ({"cron_expression": "* * * * * *"}, "invalid_cron"),
        (
            {"cron_expression": "0 0 31 2 *"},
            "invalid_cron",
        ),  # valid syntax, never a slot  # no seconds: a schedule is not a loop
        ({"cron_expression": "1," * 50 + "2 * * * *"}, "too_long"),
        ({"time_zone": "Mars/Olympus"}, "invalid_time_zone"),
        ({"name": "x" * 101}, "too_long"),
        ({"name": "  "}, "name_required"),
        ({"missed_policy": "twice"}, "invalid_policy"),
        ({"actions": [{"action": "move", "status": "done"}]}, "needs_a_task"),
    ],
)
def test_bad_schedules_are_refused(board, admin, overrides, code):
    with pytest.raises(DomainError) as error:
        make(board, admin, **overrides)
    assert error.value.code == code


def test_the_name_limit_accepts_its_boundary_and_names_are_unique_per_board(board, admin):
    make(board, admin, name="x" * 100)
    with pytest.raises(DomainError) as error:
        make(board, admin, name="X" * 100)
    assert error.value.code == "duplicate_name"


def test_the_schedule_count_limit_refuses_one_more(board, admin, monkeypatch):
    monkeypatch.setattr(services, "MAX_SCHEDULES_PER_BOARD", 2)
    make(board, admin, name="one")
    make(board, admin, name="two")
    with pytest.raises(DomainError) as error:
        make(board, admin, name="three")
    assert error.value.code == "too_many"


def test_changing_the_clock_starts_it_from_now(board, admin):
    schedule = make(board, admin)
    due(schedule, dt.datetime(2020, 1, 1, tzinfo=UTC))
    schedule = services.update_schedule(schedule=schedule, actor=admin, cron_expression="30 7 * * *")
    assert schedule.next_run_at > dt.datetime.now(UTC)
