"""Production mode end to end: PostgreSQL, Redis, a real `celery worker -B` (worker and beat) and a
local HTTP receiver. An agent stops heartbeating -> the beat sweep opens an incident -> the rule's
subscription gets a Standard Webhooks-signed `alert.fired`; the agent heartbeats again -> the
incident resolves and `alert.resolved` arrives the same way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from agents.models import Agent
from agents.services import issue_agent_token
from alerts import services
from alerts.models import Incident, IncidentState
from core.actors import Actor
from core.signing import verify_standard_webhook_signature
from tests.conftest import requires_postgres, requires_redis
from tests.deliveries.conftest import worker_env
from tests.deliveries.factories import subscribe
from tests.factories import AgentFactory

pytestmark = [
    requires_postgres,
    requires_redis,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.timeout(120),
]

ROOT = Path(__file__).resolve().parents[2]
SWEEP_SECONDS = 3


@pytest.fixture
def worker_with_beat(transactional_db, fast_delivery_settings, tmp_path):
    env = {**worker_env(), "ALERTS_SWEEP_SECONDS": str(SWEEP_SECONDS), "DATA_DIR": str(tmp_path)}
    log = open(tmp_path / "worker.log", "ab")  # noqa: SIM115  (closed below)
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "missioncontrol",
            "worker",
            "-B",
            f"--schedule={tmp_path / 'beat-schedule'}",
            "--pool=solo",
            "--concurrency=1",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=WARNING",
            f"--hostname=alerts-e2e-{time.monotonic_ns()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield process
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    log.close()
    print((tmp_path / "worker.log").read_text()[-4000:])  # shown when the test failed


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def verified(secret: str, request) -> bool:
    return verify_standard_webhook_signature(
        secret,
        request.headers["webhook-id"],
        request.headers["webhook-timestamp"],
        request.body,
        request.headers["webhook-signature"],
    )


@pytest.mark.e2e
def test_an_agent_that_stops_heartbeating_opens_an_incident_delivered_signed(
    worker_with_beat, receiver, user, organization
):
    agent = AgentFactory(organization=organization, name="release-bot")
    _, raw_token = issue_agent_token(agent=agent, actor=Actor.for_user(user))
    # The subscription does not ask for alert events: only the rule's route sends them.
    subscription, secret = subscribe(
        user=user, organization=organization, url=receiver.url, event_types=["task.created"]
    )
    services.create_rule(
        actor=Actor.for_user(user),
        organization=organization,
        name="Agent silent",
        condition="agent_offline",
        params={"minutes": 1},
        subscription=subscription,
    )
    heartbeat = Client(HTTP_AUTHORIZATION=f"Bearer {raw_token}")
    assert heartbeat.post("/api/v1/agent/heartbeat", {}, content_type="application/json").status_code == 200
    # The agent's last heartbeat was 50 s ago: inside the 1-minute window for ~10 s more.
    Agent.objects.filter(pk=agent.pk).update(last_seen_at=timezone.now() - timedelta(seconds=50))
    stopped_at = time.monotonic()
    time.sleep(SWEEP_SECONDS + 1)
    assert not Incident.objects.exists(), "fired before the agent was silent for a minute"

    incident = wait_until(
        lambda: Incident.objects.filter(subject_key=f"agent:{agent.pk}").first(),
        timeout=30,
        what="the incident",
    )
    [request] = receiver.wait_for(1, timeout=30)
    assert time.monotonic() - stopped_at >= 9  # not before the minute was up
    assert verified(secret, request)
    body = json.loads(request.body)
    assert body["type"] == "alert.fired"
    assert body["data"]["detail"]["subject_key"] == f"agent:{agent.pk}"
    assert body["data"]["detail"]["incident_id"] == incident.pk

    assert heartbeat.post("/api/v1/agent/heartbeat", {}, content_type="application/json").status_code == 200
    wait_until(
        lambda: Incident.objects.filter(pk=incident.pk, state=IncidentState.RESOLVED).exists(),
        timeout=30,
        what="the resolution",
    )
    _, resolved = receiver.wait_for(2, timeout=30)
    assert verified(secret, resolved) and json.loads(resolved.body)["type"] == "alert.resolved"
    assert len(receiver.requests) == 2
