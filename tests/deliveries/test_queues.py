"""Deliveries, maintenance and backups on separate Celery queues (compose runs a worker each)."""

from __future__ import annotations

import time

import pytest

from deliveries.models import Delivery, DeliveryStatus
from missioncontrol.celery import app
from tests.conftest import requires_postgres, requires_redis
from tests.deliveries.conftest import WorkerProcess, wait_for_status
from tests.deliveries.factories import emit, subscribe

QUEUES = {
    "activity.tasks.follow_activity_log": "deliveries",
    "webhooks.tasks.deliver_webhook": "deliveries",
    "missioncontrol.tasks.run_scheduled_backup": "backups",
    "missioncontrol.tasks.record_beat_tick": "maintenance",
    "agents.tasks.record_presence_transitions": "maintenance",
    "webhooks.tasks.requeue_overdue_deliveries": "maintenance",
    "webhooks.tasks.prune_webhook_payloads": "maintenance",
    "ops.tasks.maintain_log_partitions": "maintenance",
    "overview.tasks.refresh_task_flow_rollup": "maintenance",
    "alerts.tasks.sweep_alert_rules": "maintenance",
    "alerts.tasks.evaluate_alert_rules": "maintenance",
    "alerts.tasks.send_incident_email": "deliveries",
    "alerts.tasks.send_test_email": "deliveries",
    "webhook_rules.tasks.apply_webhook_rules": "deliveries",
    "webhook_rules.tasks.requeue_unapplied_payloads": "maintenance",
    "automations.tasks.fire_due_schedules": "maintenance",
    "standups.tasks.post_due_standups": "maintenance",
    "standups.tasks.send_standup_emails": "deliveries",
}


def test_every_task_has_its_queue():
    app.loader.import_default_modules()
    # Tasks that tests define for themselves (tests.*) are not the project's.
    ours = sorted(name for name in app.tasks if not name.startswith(("celery.", "tests.")))
    assert ours == sorted(QUEUES), "a new task needs a route in CELERY_TASK_ROUTES (and a row here)"
    for name, queue in QUEUES.items():
        assert app.amqp.router.route({}, name)["queue"].name == queue, name


@requires_postgres
@requires_redis
@pytest.mark.django_db(transaction=True)
def test_a_backup_running_for_minutes_does_not_delay_a_delivery(
    fast_delivery_settings, receiver, user, organization, board, tmp_path
):
    marker = tmp_path / "backup-running"
    slow = {"SLOW_BACKUP_MARKER": str(marker), "SLOW_BACKUP_SECONDS": "60"}
    backups = WorkerProcess(
        tmp_path / "backups.log", queues="backups", include="tests.deliveries.slow_backup", env=slow
    ).start()
    deliveries = WorkerProcess(tmp_path / "deliveries.log", queues="deliveries").start()
    try:
        app.send_task("missioncontrol.tasks.run_scheduled_backup")
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert time.monotonic() < deadline, (tmp_path / "backups.log").read_text()[-2000:]
            time.sleep(0.1)
        subscribe(user=user, organization=organization, board=board, url=receiver.url)
        started = time.monotonic()
        emit(organization=organization, board=board)
        receiver.wait_for(1)
        waited = time.monotonic() - started
        assert wait_for_status(Delivery.objects.get(), {DeliveryStatus.SUCCEEDED}).attempt_count == 1
        # The backup is still running (60 s) while the delivery went out in seconds.
        assert waited < 10
    finally:
        deliveries.stop()
        backups.kill()
