"""A streaming request-body limit on every route, the same under the WSGI and the ASGI server.

Without it a request body is read whole before any view runs (Django's ASGI handler spools it
to a temporary file; a WSGI server drains it after the response): a chunked 1 GiB POST with a
bad token costs 1 GiB of reading before its 401. Every route gets REQUEST_MAX_BODY_BYTES
(256 KiB: the largest API or form body is a few KiB); the exact webhook ingest URL gets
WEBHOOK_MAX_PAYLOAD_BYTES.

- Elsewhere: a declared Content-Length past the limit is refused with 413 before one byte is
  read; a body without one (chunked) is read up to one byte past the limit, then refused. Either
  way the response says `Connection: close` so the server drops the rest unread.
- On the ingest URL the view must keep its own order of checks (429, 404, 410 come before 413),
  so the body is only cut one byte past the limit and the view answers 413 when it reads it.

A body that fits is handed on with its real Content-Length, so chunked requests reach Django
(and DRF, which trusts Content-Length to decide whether there is a body) like any other.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import Callable, Iterable

from django.conf import settings

# The webhook ingest route (webhooks/api/urls.py): senders' payloads have their own, larger limit.
INGEST_PATH_RE = re.compile(r"^/api/v1/boards/\d+/webhooks/\d+$")
READ_CHUNK_BYTES = 64 * 1024


def body_limit_for(path: str) -> tuple[int, bool]:
    """(limit in bytes, whether the view enforces it itself) for a request path."""
    if INGEST_PATH_RE.match(path):
        return settings.WEBHOOK_MAX_PAYLOAD_BYTES, True
    return settings.REQUEST_MAX_BODY_BYTES, False


def too_large_body(limit: int) -> bytes:
    return json.dumps(
        {"error": {"code": "payload_too_large", "message": f"The request body is larger than {limit} bytes."}}
    ).encode()


def _declared_length(value: bytes | str | None) -> int | None:
    if value is None:
        return None
    value = value.decode("latin-1") if isinstance(value, bytes) else value
    return int(value) if value.strip().isdigit() else None


# --- ASGI -------------------------------------------------------------------------------------------


class ASGIRequestBodyLimit:
    """ASGI middleware; see the module docstring."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit, view_enforces = body_limit_for(scope["path"])
        headers = scope.get("headers", [])
        declared = _declared_length(next((v for k, v in headers if k == b"content-length"), None))
        if view_enforces:
            return await self._cut_past_limit(scope, receive, send, limit, declared)
        if declared is not None and declared > limit:
            return await self._refuse(send, limit)
        body = await self._read_up_to(receive, limit)
        if body is None:  # the client went away mid-body
            return None
        if len(body) > limit:
            return await self._refuse(send, limit)
        if declared is None:
            headers = [*headers, (b"content-length", str(len(body)).encode())]
            scope = {**scope, "headers": headers}
        replayed = False

        async def replay_receive():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay_receive, send)

    @staticmethod
    async def _read_up_to(receive, limit: int) -> bytes | None:
        """The body, up to one byte past the limit; None if the client disconnected."""
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            chunks.append(chunk)
            total += len(chunk)
            if total > limit or not message.get("more_body"):
                return b"".join(chunks)

    @staticmethod
    async def _refuse(send, limit: int) -> None:
        body = too_large_body(limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _cut_past_limit(self, scope, receive, send, limit: int, declared: int | None):
        received = 0
        truncated = False
        declared_too_large = declared is not None and declared > limit

        async def limited_receive():
            nonlocal received, truncated
            if truncated:
                # Django only listens for a disconnect now; reading on would pull in the
                # rest of the oversized body, so wait until the response is done instead.
                await asyncio.Future()
            if declared_too_large:
                # The view refuses it from the header alone; read none of it.
                truncated = True
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] != "http.request":
                return message
            body = message.get("body", b"")
            received += len(body)
            if received > limit:
                truncated = True
                keep = len(body) - (received - limit - 1)
                return {"type": "http.request", "body": body[:keep], "more_body": False}
            return message

        async def closing_send(message):
            if truncated and message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        return await self.app(scope, limited_receive, closing_send)


# --- WSGI -------------------------------------------------------------------------------------------


class WSGIRequestBodyLimit:
    """WSGI middleware; see the module docstring.

    Django's WSGIRequest reads only CONTENT_LENGTH bytes (none when it is absent), so a chunked
    body is read here, bounded, and handed on with its length.
    """

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        limit, view_enforces = body_limit_for(environ.get("PATH_INFO", ""))
        declared = _declared_length(environ.get("CONTENT_LENGTH") or None)
        if declared is None:
            chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
            body = self._read_up_to(environ["wsgi.input"], limit) if chunked else b""
            if len(body) > limit and not view_enforces:
                return self._refuse(start_response, limit)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        elif declared > limit and not view_enforces:
            return self._refuse(start_response, limit)
        return self.app(environ, start_response)

    @staticmethod
    def _read_up_to(stream, limit: int) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = stream.read(min(READ_CHUNK_BYTES, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)

    @staticmethod
    def _refuse(start_response: Callable, limit: int) -> list[bytes]:
        body = too_large_body(limit)
        # No Connection header: WSGI forbids hop-by-hop headers; the server closes a connection
        # whose body was left unread (gunicorn drains at most 64 KiB, then closes).
        start_response(
            "413 Request Entity Too Large",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
            ],
        )
        return [body]
