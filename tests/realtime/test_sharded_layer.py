"""The channel layer sharded over two Redis servers (CHANNEL_LAYER_REDIS_URLS): every group
message still reaches every member, and both servers carry part of the load."""

from __future__ import annotations

import asyncio
import shutil

import pytest
from channels_redis.core import RedisChannelLayer

from tests.realtime.private_redis import PrivateRedis

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")


@pytest.fixture
def two_shards():
    shards = [PrivateRedis(), PrivateRedis()]
    for shard in shards:
        shard.start()
    yield shards
    for shard in shards:
        shard.stop()


async def test_groups_spread_over_two_shards_deliver_to_every_member(two_shards, settings):
    layer = RedisChannelLayer(
        hosts=[shard.url for shard in two_shards],
        capacity=1000,
        expiry=30,
        group_expiry=settings.CHANNEL_LAYER_GROUP_EXPIRY,
    )
    groups = [f"mc.board.{n}" for n in range(40)]
    channels = {group: [await layer.new_channel() for _ in range(2)] for group in groups}
    for group, members in channels.items():
        for channel in members:
            await layer.group_add(group, channel)
    assert all(int(shard.cli("dbsize")) > 0 for shard in two_shards), "one shard got no group"
    for group in groups:
        await layer.group_send(group, {"type": "activity.event", "group": group})
    for group, members in channels.items():
        for channel in members:
            message = await asyncio.wait_for(layer.receive(channel), timeout=5)
            assert message["group"] == group
    await layer.flush()
    await layer.close_pools()
