"""IngestBodyLimit, the ASGI wrapper that stops reading an ingest body one byte past the limit."""

from __future__ import annotations

import asyncio

import pytest
from django.test import override_settings

from webhooks.ingest import IngestBodyLimit

INGEST = "/api/v1/boards/1/webhooks/2"


def _scope(path: str = INGEST, method: str = "POST", headers=()) -> dict:
    return {"type": "http", "method": method, "path": path, "headers": list(headers)}


async def _run(scope: dict, chunks: list[bytes]) -> tuple[bytes, int, list]:
    """Feed the chunks through the wrapper into an app that reads the whole body, as Django does."""
    messages = [{"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
                for i, chunk in enumerate(chunks)]
    pulled = 0

    async def receive():
        nonlocal pulled
        pulled += 1
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    sent: list = []

    async def send(message):
        sent.append(message)

    seen = b""

    async def app(scope, receive, send):
        nonlocal seen
        while True:
            message = await receive()
            seen += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    await asyncio.wait_for(IngestBodyLimit(app)(scope, receive, send), 5)
    return seen, pulled, sent


@override_settings(WEBHOOK_MAX_PAYLOAD_BYTES=10)
async def test_it_passes_a_body_at_the_limit_untouched():
    seen, _, sent = await _run(_scope(), [b"01234", b"56789"])
    assert seen == b"0123456789"
    assert (b"connection", b"close") not in sent[0]["headers"]


@override_settings(WEBHOOK_MAX_PAYLOAD_BYTES=10)
async def test_it_ends_the_body_one_byte_past_the_limit_and_closes_the_connection():
    seen, pulled, sent = await _run(_scope(), [b"01234", b"56789X", b"never read", b"nor this"])
    assert seen == b"0123456789X"
    assert pulled == 2
    assert (b"connection", b"close") in sent[0]["headers"]


@override_settings(WEBHOOK_MAX_PAYLOAD_BYTES=10)
async def test_it_reads_nothing_when_content_length_declares_too_much():
    seen, pulled, sent = await _run(_scope(headers=[(b"content-length", b"11")]), [b"0123456789X"])
    assert (seen, pulled) == (b"", 0)
    assert (b"connection", b"close") in sent[0]["headers"]


@pytest.mark.parametrize("scope", [
    _scope(path="/api/v1/tasks/"),
    _scope(path=INGEST + "/"),
    _scope(method="GET"),
], ids=["other-path", "trailing-slash", "get"])
@override_settings(WEBHOOK_MAX_PAYLOAD_BYTES=10)
async def test_it_leaves_other_requests_alone(scope):
    seen, _, _ = await _run(scope, [b"0123456789", b"ABCDEF"])
    assert seen == b"0123456789ABCDEF"
