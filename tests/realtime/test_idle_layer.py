"""The Redis channel layer survives idle waits longer than its BZPOPMIN timeout (5 s): with redis-py
8's default 5 s socket timeout the client gave up a moment before Redis answered, and the
consumer died with redis.exceptions.TimeoutError."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import get_channel_layer

from tests.conftest import requires_redis


@requires_redis
@pytest.mark.timeout(60)
async def test_an_idle_receive_outlasts_the_blocking_pop_without_a_redis_timeout():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    receiving = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(11)  # two full 5 s blocking pops with nothing to read
    assert not receiving.done() or receiving.exception() is None
    await layer.send(channel, {"type": "hello"})
    assert (await asyncio.wait_for(receiving, 5))["type"] == "hello"
    await layer.flush()
