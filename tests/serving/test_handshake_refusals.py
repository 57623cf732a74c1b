"""A websocket handshake the app refuses is answered HTTP 403 by the real server (uvicorn behind
nginx), not a close code: docs/realtime.md said 4403 where a client sees 403."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.conftest import requires_postgres, requires_redis

pytestmark = [requires_postgres, requires_redis, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/ws/boards/{board}/", {}),  # no Origin, no session
        ("/ws/boards/{board}/", {"Origin": "http://evil.example"}),  # a foreign origin
        ("/ws/agent/", {"Authorization": "Bearer mca_not-a-real-token"}),  # a bad header token
    ],
)
def test_a_refused_handshake_is_an_http_403(layout, board, path, headers):
    url = f"ws://127.0.0.1:{layout.proxy_port}{path.format(board=board.pk)}"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, additional_headers=headers, open_timeout=10)
    assert refused.value.response.status_code == 403
