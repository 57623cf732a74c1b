"""The streaming body limit on every route (infra.body_limit), under ASGI and WSGI.

The ingest URL keeps its own order of checks, so there the body is only cut one byte past the
limit and the view answers 413; everywhere else the middleware answers 413 itself.
"""

from __future__ import annotations

import asyncio
import io

import pytest
from django.test import override_settings

from infra.body_limit import ASGIRequestBodyLimit, WSGIRequestBodyLimit

INGEST = "/api/v1/boards/1/webhooks/2"
HEARTBEAT = "/api/v1/agent/heartbeat"
limits = override_settings(WEBHOOK_MAX_PAYLOAD_BYTES=10, REQUEST_MAX_BODY_BYTES=6)


def _scope(path: str = INGEST, method: str = "POST", headers=()) -> dict:
    return {"type": "http", "method": method, "path": path, "headers": list(headers)}


async def _run(scope: dict, chunks: list[bytes]) -> tuple[bytes | None, int, list, dict | None]:
    """Feed the chunks through the middleware into an app that reads the whole body, as Django does.

    Returns what the app read (None if it never ran), how many messages were pulled from the
    client, what was sent, and the scope the app saw.
    """
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    pulled = 0

    async def receive():
        nonlocal pulled
        pulled += 1
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    sent: list = []

    async def send(message):
        sent.append(message)

    seen: bytes | None = None
    seen_scope: dict | None = None

    async def app(scope, receive, send):
        nonlocal seen, seen_scope
        seen, seen_scope = b"", scope
        while True:
            message = await receive()
            seen += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    await asyncio.wait_for(ASGIRequestBodyLimit(app)(scope, receive, send), 5)
    return seen, pulled, sent, seen_scope


# --- ASGI: the ingest URL --------------------------------------------------------------------------


@limits
async def test_it_passes_an_ingest_body_at_the_limit_untouched():
    seen, _, sent, _ = await _run(_scope(), [b"01234", b"56789"])
    assert seen == b"0123456789"
    assert (b"connection", b"close") not in sent[0]["headers"]


@limits
async def test_it_ends_an_ingest_body_one_byte_past_the_limit_and_closes_the_connection():
    seen, pulled, sent, _ = await _run(_scope(), [b"01234", b"56789X", b"never read", b"nor this"])
    assert seen == b"0123456789X"
    assert pulled == 2
    assert (b"connection", b"close") in sent[0]["headers"]


@limits
async def test_it_reads_no_ingest_body_when_content_length_declares_too_much():
    seen, pulled, sent, _ = await _run(_scope(headers=[(b"content-length", b"11")]), [b"0123456789X"])
    assert (seen, pulled) == (b"", 0)
    assert (b"connection", b"close") in sent[0]["headers"]


# --- ASGI: every other route -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scope",
    [
        _scope(path=HEARTBEAT),
        _scope(path=INGEST + "/"),
        _scope(path="/login/", method="PUT"),
    ],
    ids=["api", "ingest-trailing-slash", "form-put"],
)
@limits
async def test_it_refuses_a_chunked_body_past_the_default_limit_without_the_app(scope):
    seen, pulled, sent, _ = await _run(scope, [b"0123", b"456", b"never read", b"nor this"])
    assert seen is None
    assert pulled == 2
    assert sent[0]["status"] == 413
    assert (b"connection", b"close") in sent[0]["headers"]
    assert b'"payload_too_large"' in sent[1]["body"]


@limits
async def test_it_refuses_a_declared_oversize_length_before_reading_anything():
    seen, pulled, sent, _ = await _run(
        _scope(path=HEARTBEAT, headers=[(b"content-length", b"7")]), [b"0123456"]
    )
    assert (seen, pulled) == (None, 0)
    assert sent[0]["status"] == 413


@limits
async def test_it_hands_on_a_chunked_body_within_the_limit_with_its_length():
    seen, _, sent, scope = await _run(_scope(path=HEARTBEAT), [b"012", b"345"])
    assert seen == b"012345"
    assert sent[0]["status"] == 200
    assert (b"content-length", b"6") in scope["headers"]


@limits
async def test_a_request_without_a_body_passes():
    seen, _, sent, _ = await _run(_scope(path="/healthz", method="GET"), [b""])
    assert seen == b""
    assert sent[0]["status"] == 200


# --- WSGI ---------------------------------------------------------------------------------------------


class _Stream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def _wsgi(path: str, body: bytes, *, content_length: str | None = None, chunked: bool = False):
    stream = _Stream(body)
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "POST", "wsgi.input": stream}
    if content_length is not None:
        environ["CONTENT_LENGTH"] = content_length
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    seen: dict = {}

    def app(environ, start_response):
        seen["body"] = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [])
        return [b""]

    statuses: list[str] = []
    result = b"".join(WSGIRequestBodyLimit(app)(environ, lambda status, headers: statuses.append(status)))
    return statuses[0], result, seen.get("body"), stream.bytes_read


@limits
def test_wsgi_refuses_a_declared_oversize_length_without_reading():
    status, body, seen, read = _wsgi(HEARTBEAT, b"0123456", content_length="7")
    assert (status[:3], seen, read) == ("413", None, 0)
    assert b'"payload_too_large"' in body


@limits
def test_wsgi_refuses_a_chunked_body_one_byte_past_the_limit():
    status, _, seen, read = _wsgi(INGEST + "/", b"0123456" + b"x" * 1000, chunked=True)
    assert (status[:3], seen, read) == ("413", None, 7)


@limits
def test_wsgi_hands_on_a_chunked_body_within_the_limit_with_its_length():
    status, _, seen, _ = _wsgi(HEARTBEAT, b"012345", chunked=True)
    assert (status[:3], seen) == ("200", b"012345")


@limits
def test_wsgi_leaves_the_ingest_limit_to_the_view_but_bounds_a_chunked_read():
    status, _, seen, read = _wsgi(INGEST, b"0123456789X" + b"y" * 1000, chunked=True)
    assert (status[:3], seen, read) == ("200", b"0123456789X", 11)
    status, _, seen, _ = _wsgi(INGEST, b"0123456789X", content_length="11")
    assert (status[:3], seen) == ("200", b"0123456789X")
