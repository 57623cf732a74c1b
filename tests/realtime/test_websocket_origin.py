"""infra.websocket_origin: foreign origins refused, cookies without an Origin dropped."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from infra.websocket_origin import OriginValidator


class ScopeRecorder:
    """An inner app that accepts and remembers the scope it was given."""

    def __init__(self) -> None:
        self.scope = None

    async def __call__(self, scope, receive, send):
        self.scope = scope
        await receive()
        await send({"type": "websocket.accept"})
        await receive()


async def handshake(headers, *, host: bytes | None = b"localhost:8000", scheme: str = "ws"):
    """A handshake as a server would pass it on: with the Host header of the site it reached."""
    inner = ScopeRecorder()
    if host is not None:
        headers = [(b"host", host), *headers]
    communicator = WebsocketCommunicator(OriginValidator(inner), "/ws/agent/", headers=headers)
    communicator.scope["scheme"] = scheme
    connected, _ = await communicator.connect()
    if connected:
        await communicator.disconnect()
    return connected, inner.scope


async def test_a_handshake_without_origin_loses_its_cookie():
    connected, scope = await handshake([(b"cookie", b"sessionid=stolen"), (b"authorization", b"Bearer x")])
    assert connected
    assert dict(scope["headers"]) == {b"host": b"localhost:8000", b"authorization": b"Bearer x"}


async def test_an_allowed_origin_keeps_its_cookie():
    connected, scope = await handshake([(b"origin", b"http://localhost:8000"), (b"cookie", b"sessionid=abc")])
    assert connected
    assert dict(scope["headers"])[b"cookie"] == b"sessionid=abc"


@pytest.mark.parametrize("origin", [b"https://evil.example", b"null", b"http://localhost.evil.example"])
async def test_a_foreign_origin_is_refused(origin):
    connected, scope = await handshake([(b"origin", origin), (b"cookie", b"sessionid=abc")])
    assert not connected and scope is None


@pytest.mark.parametrize(
    "origin",
    [
        b"http://localhost:9999",  # same host, another port
        b"https://localhost:8000",  # same host and port, another scheme
        b"http://localhost",  # the default port is 80, not the site's 8000
        b"http://127.0.0.1:8000",  # another allowed host name than the one the site was reached by
    ],
)
async def test_an_origin_must_match_the_sites_scheme_host_and_port(origin):
    connected, _scope = await handshake([(b"origin", origin)], host=b"localhost:8000")
    assert not connected


async def test_a_secure_site_accepts_its_https_origin_only():
    assert (await handshake([(b"origin", b"https://localhost")], host=b"localhost", scheme="wss"))[0]
    assert not (await handshake([(b"origin", b"http://localhost")], host=b"localhost", scheme="wss"))[0]


async def test_a_host_outside_allowed_hosts_is_refused_even_when_the_origin_matches_it():
    connected, _scope = await handshake([(b"origin", b"http://evil.example")], host=b"evil.example")
    assert not connected


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        (b"https://mc.example.com", True),
        (b"https://mc.example.com:443", True),
        (b"http://mc.example.com", False),
        (b"https://mc.example.com:8443", False),
        (b"https://eu.apps.example.org", True),
        (b"http://eu.apps.example.org", False),
    ],
)
async def test_csrf_trusted_origins_are_matched_with_scheme_and_port(settings, origin, accepted):
    """Behind a proxy the site's own Host may differ; CSRF_TRUSTED_ORIGINS names full origins."""
    settings.CSRF_TRUSTED_ORIGINS = ["https://mc.example.com", "https://*.apps.example.org"]
    connected, _scope = await handshake([(b"origin", origin)], host=b"10.0.0.5:8000")
    assert connected is accepted


async def test_the_forwarded_scheme_counts_only_behind_a_trusted_proxy(settings):
    headers = [(b"origin", b"https://localhost"), (b"x-forwarded-proto", b"https")]
    settings.SECURE_PROXY_SSL_HEADER = None
    assert not (await handshake(headers, host=b"localhost"))[0]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert (await handshake(headers, host=b"localhost"))[0]
