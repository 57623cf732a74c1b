"""Webhook ingest against the real ASGI server: raw HTTP framing (chunked, lying lengths), the
early cut-off of oversized bodies, and a signed payload showing up in the pages in Chromium."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from core.actors import Actor
from core.signing import sha256_signature
from tests.e2e.conftest import log_in
from webhooks import services
from webhooks.models import WebhookPayload

pytestmark = pytest.mark.e2e

SECRET = "whsec_ZTJlLXRlc3Qtc2VjcmV0LXZhbHVlLTAxMjM0NTY3"
LIMIT = 1_048_576


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 costs most of a second per user on a busy CI machine; these tests are not about it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def webhook(board, user):
    created, _ = services.create_webhook(
        board=board, actor=Actor.for_user(user), description="E2E", secret=SECRET
    )
    return created


def _path(webhook) -> str:
    return f"/api/v1/boards/{webhook.board_id}/webhooks/{webhook.pk}"


def _raw_request(base_url: str, head: bytes, chunks, *, finish: bytes = b"", timeout: float = 20.0) -> bytes:
    """Send a hand-framed request; return the status line and headers of the response."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(head)
        try:
            for chunk in chunks:
                sock.sendall(chunk)
            sock.sendall(finish)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before we finished: that is the point
        response = b""
        while b"\r\n\r\n" not in response:
            data = sock.recv(65536)
            if not data:
                break
            response += data
    return response


def _chunked_head(webhook, base_url: str, body: bytes, extra: str = "") -> bytes:
    host = urlsplit(base_url).netloc
    return (
        f"POST {_path(webhook)} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"X-Hub-Signature-256: {sha256_signature(SECRET, body)}\r\nTransfer-Encoding: chunked\r\n{extra}\r\n"
    ).encode()


def _as_chunks(body: bytes, size: int = 65536):
    for start in range(0, len(body), size):
        piece = body[start : start + size]
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"


def _body(size: int) -> bytes:
    return b'{"pad":"' + b"x" * (size - 10) + b'"}'


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def test_a_chunked_body_of_exactly_the_limit_is_accepted_and_one_byte_more_is_413(asgi_server, webhook):
    exact, over = _body(LIMIT), _body(LIMIT + 1)
    assert len(exact) == LIMIT
    head = _chunked_head(webhook, asgi_server.url, exact)
    accepted = _raw_request(asgi_server.url, head, _as_chunks(exact), finish=b"0\r\n\r\n")
    assert _status(accepted) == 202
    refused = _raw_request(
        asgi_server.url, _chunked_head(webhook, asgi_server.url, over), _as_chunks(over), finish=b"0\r\n\r\n"
    )
    assert _status(refused) == 413
    assert WebhookPayload.objects.count() == 1


def test_a_small_content_length_cannot_smuggle_a_large_chunked_body(asgi_server, webhook):
    over = _body(LIMIT + 1)
    head = _chunked_head(webhook, asgi_server.url, over, extra="Content-Length: 10\r\n")
    response = _raw_request(asgi_server.url, head, _as_chunks(over), finish=b"0\r\n\r\n")
    # The server refuses the ambiguous framing itself (400) or the view counts the bytes (413).
    assert _status(response) in {400, 413}
    assert not WebhookPayload.objects.exists()


def test_an_honest_oversized_content_length_is_refused(asgi_server, webhook):
    over = _body(LIMIT + 1)
    response = httpx.post(
        asgi_server.url + _path(webhook),
        content=over,
        timeout=20,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sha256_signature(SECRET, over)},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


@pytest.fixture
def limited_server(asgi_server):
    """The ASGI app as missioncontrol.asgi serves it (with its streaming body limit)."""
    return asgi_server


def test_the_body_limit_answers_413_before_the_sender_finishes(limited_server, webhook):
    # One byte over the limit, then the sender stalls without ever ending the body: the 413
    # must come anyway, so the server never buffers more than the limit.
    over = _body(LIMIT + 1)
    head = _chunked_head(webhook, limited_server.url, over)
    response = _raw_request(limited_server.url, head, _as_chunks(over), timeout=10)
    assert _status(response) == 413
    assert b"connection: close" in response.lower()


def test_a_declared_oversize_length_is_refused_without_reading_the_body(limited_server, webhook):
    # Content-Length claims 2 MiB but nothing follows: the 413 comes from the header alone.
    host = urlsplit(limited_server.url).netloc
    head = (
        f"POST {_path(webhook)} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {2 * LIMIT}\r\n\r\n"
    ).encode()
    response = _raw_request(limited_server.url, head, [], timeout=10)
    assert _status(response) == 413


def test_the_limited_server_still_accepts_the_limit_exactly(limited_server, webhook):
    exact = _body(LIMIT)
    response = _raw_request(
        limited_server.url,
        _chunked_head(webhook, limited_server.url, exact),
        _as_chunks(exact),
        finish=b"0\r\n\r\n",
    )
    assert _status(response) == 202


def test_a_signed_payload_appears_in_the_log_and_on_the_board(asgi_server, page, webhook, board):
    body = json.dumps({"action": "opened", "title": "<b>Deploy</b> failed"}, separators=(",", ":")).encode()
    response = httpx.post(
        asgi_server.url + _path(webhook),
        content=body,
        timeout=10,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": sha256_signature(SECRET, body),
            "X-GitHub-Delivery": "e2e-1",
        },
    )
    assert response.status_code == 202, response.text
    payload_id = response.json()["id"]
    assert bytes(WebhookPayload.objects.get(pk=payload_id).body) == body

    log_in(page, asgi_server.url, "owner")
    page.goto(f"{asgi_server.url}/webhooks/{webhook.pk}/")
    row = page.locator(f'tr.payload-row[data-payload-id="{payload_id}"]')
    row.wait_for(state="visible")
    row.locator("a").first.click()
    page.wait_for_load_state("networkidle")
    assert "&lt;b&gt;Deploy&lt;/b&gt;" not in page.locator("#payload-raw").inner_text()
    assert '"title":"<b>Deploy</b> failed"' in page.locator("#payload-raw").inner_text()
    assert page.locator("#payload-json b").count() == 0  # rendered as text, not markup

    # The live version (appearing without a reload) is the realtime suite's; here after a reload.
    page.goto(f"{asgi_server.url}/boards/{board.pk}/")
    page.reload()
    page.locator('li[data-verb="webhook.received"]').first.wait_for(state="visible")
    assert page.console_errors == []
