"""A schedule's slot fires exactly once across beat and worker restarts (PostgreSQL + Redis).

Real processes: `celery worker -B` (a worker with its beat) on the pytest database, ticking every
second. The first fires the due slot and is killed; then two start at once (two beats, two
workers: the overlap a rolling restart or a second beat by mistake gives) and later a third,
each time with the schedule's row put back to say the fired slot is still due, as a beat that
read it before the first commit would see it. The unique (schedule, slot) row must hold.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from automations import cron, services
from automations.models import ActionOutcome, RunStatus, Schedule, ScheduleRun
from boards.models import Task
from tests.conftest import requires_postgres, requires_redis

pytestmark = [requires_postgres, requires_redis, pytest.mark.runs_long, pytest.mark.timeout(150)]

ROOT = Path(__file__).resolve().parents[2]


class WorkerWithBeat:
    def __init__(self, directory: Path, name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "CELERY_EMBEDDED_WORKER": "0", "DEBUG": "1", "AUTOMATIONS_TICK_SECONDS": "1"}
        base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
        env["DATABASE_URL"] = f"{base}/{connection.settings_dict['NAME']}"
        self.log = open(directory / f"{name}.log", "ab")  # noqa: SIM115  (closed in kill)
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("celery")),
                "-A",
                "missioncontrol",
                "worker",
                "-B",
                f"--schedule={directory / name}-beat",
                "--pool=solo",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "--loglevel=WARNING",
                f"--hostname=schedules-{name}-{time.monotonic_ns()}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, whatever was in flight is lost (a crash, a pulled plug)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.log.close()


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def test_a_slot_fires_once_across_two_restarts_of_beat_and_worker(transactional_db, board, user, tmp_path):
    from core.actors import Actor

    schedule = services.create_schedule(
        board=board,
        actor=Actor.for_user(user),
        name="Every minute",
        cron_expression="* * * * *",
        time_zone="UTC",
        actions=[{"action": "create_task", "title": "Check at {slot}"}],
    )
    slot = cron.latest_slot("* * * * *", "UTC", at=timezone.now())
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=slot)
    processes = []
    try:
        first = WorkerWithBeat(tmp_path, "first")
        processes.append(first)
        assert wait_for(lambda: ScheduleRun.objects.filter(schedule=schedule).exists(), 60), "never fired"
        first.kill()
        fired = ScheduleRun.objects.get(schedule=schedule).slot

        for restart, names in enumerate((("second", "third"), ("fourth",)), start=1):
            Schedule.objects.filter(pk=schedule.pk).update(next_run_at=fired)  # "still due"
            started = [WorkerWithBeat(tmp_path, name) for name in names]
            processes += started
            # Each beat ticks every second: several ticks each, and the row says due until one runs.
            assert wait_for(lambda: Schedule.objects.get(pk=schedule.pk).next_run_at > fired, 60), (
                f"restart {restart}: no tick ran"
            )
            time.sleep(1)
            for process in started:
                process.kill()
    finally:
        for process in processes:
            process.kill()

    runs = list(ScheduleRun.objects.filter(schedule=schedule).order_by("slot"))
    titles = Counter(Task.objects.filter(board=board).values_list("title", flat=True))
    assert runs[0].slot == fired and runs[0].status == RunStatus.FIRED
    # The fired slot once, whatever the restarts saw; a later minute may have come meanwhile,
    # and it too fired once.
    assert titles[f"Check at {fired:%Y-%m-%d %H:%M}"] == 1
    assert all(count == 1 for count in titles.values()), titles
    assert len(titles) == len(runs) == ActionOutcome.objects.filter(source_kind="schedule").count()
    assert all(run.slot - fired < dt.timedelta(minutes=5) for run in runs)
