"""The embedded default's worker: a real Celery worker in a thread of this process runs tasks,
retries them after a countdown, and a task's live push reaches a channel-layer subscriber."""

import time

import pytest
from asgiref.sync import async_to_sync
from celery import shared_task
from channels.layers import get_channel_layer

from infra import realtime
from infra.embedded_worker import start_embedded_worker
from missioncontrol.celery import app as celery_app

ATTEMPTS: dict[str, int] = {}


@shared_task(bind=True, max_retries=3, name="tests.flaky_publisher")
def flaky_publisher(self, key: str, group: str) -> None:
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    if ATTEMPTS[key] < 2:
        raise self.retry(countdown=0.3)
    realtime.publish_event({"id": ATTEMPTS[key], "verb": "test.pushed", "key": key}, [group])


def test_a_task_retries_in_the_embedded_worker_and_pushes_live():
    start_embedded_worker(celery_app, with_beat=False)
    layer = get_channel_layer()
    group = "test.embedded-worker"

    async def subscribe_and_wait() -> dict:
        import asyncio

        realtime.bind_event_loop(asyncio.get_running_loop())  # as the ASGI server does
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        flaky_publisher.delay("k1", group)
        return await asyncio.wait_for(layer.receive(channel), timeout=15)

    started = time.monotonic()
    message = async_to_sync(subscribe_and_wait)()
    assert message["type"] == realtime.ACTIVITY_MESSAGE_TYPE
    assert message["event"]["key"] == "k1"
    assert ATTEMPTS["k1"] == 2, "the first attempt must have failed and been retried"
    assert time.monotonic() - started >= 0.3, "the retry countdown was not honoured"


@pytest.mark.parametrize("calls", [2])
def test_starting_twice_starts_one_worker(calls):
    start_embedded_worker(celery_app, with_beat=False)
    assert start_embedded_worker(celery_app, with_beat=False) is False
