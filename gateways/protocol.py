"""An OpenClaw gateway client speaking protocol 4: the challenge handshake, requests matched to
responses by id, events handed to a callback.

One `GatewayConnection` is one WebSocket. Only the supervisor (gateways.supervisor) opens them,
one per gateway; pages and the API never do (they queue a command row instead). The frames are
JSON text (docs/gateways.md has the shapes):

    server → {"type":"event","event":"connect.challenge","payload":{"nonce","ts"}}
    client → {"type":"req","id","method":"connect","params":{minProtocol,maxProtocol,client,role,
              scopes,auth:{token},device?}}
    server → {"type":"res","id","ok":true,"payload":{"type":"hello-ok","protocol":4,"server":{…}}}

Protocol 3 clients are refused by current gateways ("protocol mismatch"), so both bounds are 4.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

logger = logging.getLogger(__name__)

PROTOCOL_VERSION = 4
CLIENT_ID = "gateway-client"
CLIENT_MODE = "backend"
ROLE = "operator"
# What Mission Control asks for; the gateway may grant less (hello-ok.auth.scopes says what).
DEFAULT_SCOPES = ("operator.read", "operator.write", "operator.admin", "operator.approvals")
READ_ONLY_SCOPES = ("operator.read",)
# exec-approvals: the gateway sends this client exec.approval.requested for runs it did not start
# itself, and lets it resolve them (with operator.approvals).
DEFAULT_CAPS = ("exec-approvals",)
# Pre-auth frames may be at most 64 KiB on the gateway; after hello-ok, policy.maxPayload (25 MiB).
MAX_FRAME_BYTES = 25 * 1024 * 1024

EventHandler = Callable[[str, dict[str, Any]], Awaitable[None] | None]


class GatewayError(Exception):
    """The gateway answered a request with ok:false (or refused the handshake).

    `code` is the most specific code the gateway gave (details.code such as AUTH_TOKEN_MISMATCH,
    MISSING_SCOPE or PROTOCOL_MISMATCH, else the top-level code such as FORBIDDEN); `message`
    is the gateway's own sentence, which is shown to people as it is.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        retryable: bool = False,
        retry_after_ms: int | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}
        self.retryable = retryable
        self.retry_after_ms = retry_after_ms

    @classmethod
    def from_frame(cls, error: dict[str, Any] | None) -> GatewayError:
        error = error if isinstance(error, dict) else {}
        details = error.get("details") if isinstance(error.get("details"), dict) else {}
        code = str(details.get("code") or error.get("code") or "UNKNOWN")
        return cls(
            code,
            str(error.get("message") or "the gateway refused the request"),
            details=details,
            retryable=bool(error.get("retryable")),
            retry_after_ms=error.get("retryAfterMs") if isinstance(error.get("retryAfterMs"), int) else None,
        )

    @property
    def is_starting(self) -> bool:
        """The gateway is up but still starting its sidecars: retry after retry_after_ms."""
        return self.retryable and self.details.get("reason") == "startup-sidecars"


class HandshakeRefused(GatewayError):
    """The gateway refused `connect` (bad token, protocol mismatch, pairing): retrying the same
    credentials will not help, so the supervisor backs off to its longest delay."""


class ConnectionLost(Exception):
    """The socket closed (or never opened) while a request was waiting for its response."""


@dataclass(frozen=True)
class DeviceIdentity:
    """An Ed25519 key that signs the challenge nonce, for gateways that require paired devices.

    The device id is the hex SHA-256 of the raw public key; the signature covers the v2 string
    `v2|deviceId|clientId|mode|role|scopes|signedAt|token|nonce` (signedAt = challenge.ts).
    """

    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> DeviceIdentity:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: str) -> DeviceIdentity:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the device key is not an Ed25519 private key")
        return cls(key)

    def to_pem(self) -> str:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    @property
    def raw_public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def device_id(self) -> str:
        return hashlib.sha256(self.raw_public_key).hexdigest()

    def sign_challenge(self, *, nonce: str, signed_at: int, scopes: list[str], token: str) -> dict[str, Any]:
        payload = "|".join(
            [
                "v2",
                self.device_id,
                CLIENT_ID,
                CLIENT_MODE,
                ROLE,
                ",".join(scopes),
                str(signed_at),
                token,
                nonce,
            ]
        )
        signature = self.private_key.sign(payload.encode())
        return {
            "id": self.device_id,
            "publicKey": _b64url(self.raw_public_key),
            "signature": _b64url(signature),
            "signedAt": signed_at,
            "nonce": nonce,
        }


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Hello:
    """What the gateway said in hello-ok: its version, the protocol, what it grants and offers."""

    protocol: int
    server_version: str
    scopes: list[str]
    methods: frozenset[str]
    events: frozenset[str]
    latency_ms: int
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


class GatewayConnection:
    """One authenticated WebSocket to one gateway. Use `await GatewayConnection.open(...)`."""

    def __init__(self, websocket: Any, on_event: EventHandler | None) -> None:
        self._ws = websocket
        self._on_event = on_event
        self._pending: dict[str, asyncio.Future] = {}
        self._reader: asyncio.Task | None = None
        self.hello: Hello | None = None
        self.closed = asyncio.Event()
        self.close_reason = ""
        # The payload of a `shutdown` event, kept because the close code cannot tell a restart
        # from a terminal shutdown (both are 1012).
        self.shutdown: dict[str, Any] | None = None

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        token: str,
        scopes: tuple[str, ...] | list[str] = DEFAULT_SCOPES,
        device: DeviceIdentity | None = None,
        on_event: EventHandler | None = None,
        timeout: float = 10.0,
        client_version: str = "1.0.0",
        caps: tuple[str, ...] | list[str] = DEFAULT_CAPS,
    ) -> GatewayConnection:
        """Connect, answer the challenge, and return once hello-ok arrived.

        Raises HandshakeRefused for a refusal, GatewayError (is_starting) while the gateway is
        still starting, ConnectionLost when nothing answers or the socket closes first.
        """
        started = time.monotonic()
        try:
            websocket = await asyncio.wait_for(
                # close_timeout: a gateway busy shutting down must not hold a reconnect for 10 s.
                websockets.connect(
                    url, max_size=MAX_FRAME_BYTES, open_timeout=timeout, ping_interval=20, close_timeout=2
                ),
                timeout,
            )
        except (OSError, TimeoutError, websockets.InvalidURI, websockets.InvalidHandshake) as exc:
            raise ConnectionLost(f"cannot reach the gateway: {exc.__class__.__name__}: {exc}") from None
        connection = cls(websocket, on_event)
        try:
            await asyncio.wait_for(
                connection._handshake(
                    token=token,
                    scopes=list(scopes),
                    device=device,
                    client_version=client_version,
                    caps=list(caps),
                ),
                timeout,
            )
        except TimeoutError:
            await websocket.close()
            raise ConnectionLost("the gateway did not finish the handshake in time") from None
        except BaseException:
            await websocket.close()
            raise
        assert connection.hello is not None
        connection.hello.latency_ms = int((time.monotonic() - started) * 1000)
        connection._reader = asyncio.create_task(connection._read_forever(), name="gateway-reader")
        return connection

    async def _handshake(
        self,
        *,
        token: str,
        scopes: list[str],
        device: DeviceIdentity | None,
        client_version: str,
        caps: list[str],
    ) -> None:
        challenge = None
        while challenge is None:
            frame = await self._receive_frame()
            if frame.get("type") == "event" and frame.get("event") == "connect.challenge":
                challenge = frame.get("payload") or {}
        request_id = str(uuid.uuid4())
        params: dict[str, Any] = {
            "minProtocol": PROTOCOL_VERSION,
            "maxProtocol": PROTOCOL_VERSION,
            "client": {"id": CLIENT_ID, "version": client_version, "platform": "linux", "mode": CLIENT_MODE},
            "role": ROLE,
            "scopes": scopes,
            "caps": caps,
            "auth": {"token": token},
        }
        if device is not None:
            params["device"] = device.sign_challenge(
                nonce=str(challenge.get("nonce", "")),
                signed_at=int(challenge.get("ts", 0)),
                scopes=scopes,
                token=token,
            )
        await self._ws.send(
            json.dumps({"type": "req", "id": request_id, "method": "connect", "params": params})
        )
        while True:
            frame = await self._receive_frame()
            if frame.get("type") == "res" and frame.get("id") == request_id:
                break
        if not frame.get("ok"):
            error = GatewayError.from_frame(frame.get("error"))
            if error.is_starting:
                raise error
            raise HandshakeRefused(
                error.code, error.message, details=error.details, retryable=error.retryable
            )
        payload = frame.get("payload") or {}
        protocol = payload.get("protocol")
        if protocol != PROTOCOL_VERSION:
            raise HandshakeRefused(
                "PROTOCOL_MISMATCH",
                f"the gateway chose protocol {protocol}; Mission Control speaks {PROTOCOL_VERSION}",
            )
        features = payload.get("features") or {}
        self.hello = Hello(
            protocol=protocol,
            server_version=str((payload.get("server") or {}).get("version", "")),
            scopes=list((payload.get("auth") or {}).get("scopes") or []),
            methods=frozenset(features.get("methods") or ()),
            events=frozenset(features.get("events") or ()),
            latency_ms=0,
            raw=payload,
        )

    async def _receive_frame(self) -> dict[str, Any]:
        try:
            text = await self._ws.recv()
        except websockets.ConnectionClosed as exc:
            raise ConnectionLost(_close_text(exc)) from None
        try:
            frame = json.loads(text)
        except ValueError:
            return {}
        return frame if isinstance(frame, dict) else {}

    async def _read_forever(self) -> None:
        try:
            async for text in self._ws:
                try:
                    frame = json.loads(text)
                except ValueError:
                    logger.warning("gateway sent a frame that is not JSON; ignored")
                    continue
                if not isinstance(frame, dict):
                    continue
                kind = frame.get("type")
                if kind == "res":
                    future = self._pending.pop(str(frame.get("id")), None)
                    if future is not None and not future.done():
                        future.set_result(frame)
                elif kind == "event":
                    await self._dispatch(str(frame.get("event", "")), frame.get("payload") or {})
        except websockets.ConnectionClosed as exc:
            self.close_reason = _close_text(exc)
        except Exception as exc:  # a bug in a handler must not leave requests waiting forever
            logger.exception("gateway reader stopped")
            self.close_reason = f"reader failed: {exc.__class__.__name__}"
        finally:
            if not self.close_reason:
                self.close_reason = "the gateway closed the connection"
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionLost(self.close_reason))
            self._pending.clear()
            self.closed.set()

    async def _dispatch(self, event: str, payload: dict[str, Any]) -> None:
        if event == "shutdown":
            self.shutdown = payload
        if self._on_event is None:
            return
        try:
            result = self._on_event(event, payload)
            if inspect.isawaitable(result):
                await result
        except Exception:
            # One bad event must not end the connection; the handler logs what it was doing.
            logger.exception("gateway event handler failed for %s", event)

    async def request(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float = 30.0
    ) -> Any:
        """Send one request and return its payload; raise GatewayError when ok is false."""
        if self.closed.is_set():
            raise ConnectionLost(self.close_reason)
        request_id = str(uuid.uuid4())
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await self._ws.send(
                json.dumps({"type": "req", "id": request_id, "method": method, "params": params or {}})
            )
            frame = await asyncio.wait_for(future, timeout)
        except websockets.ConnectionClosed as exc:
            raise ConnectionLost(_close_text(exc)) from None
        except TimeoutError:
            raise GatewayError("CLIENT_TIMEOUT", f"{method} got no answer in {timeout:g} s") from None
        finally:
            self._pending.pop(request_id, None)
        if not frame.get("ok"):
            raise GatewayError.from_frame(frame.get("error"))
        return frame.get("payload")

    async def close(self) -> None:
        await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


def _close_text(exc: websockets.ConnectionClosed) -> str:
    received = exc.rcvd
    if received is None:
        return "the connection dropped without a close frame"
    return f"closed by the gateway ({received.code} {received.reason})".strip()


def backoff_delay(attempt: int, *, base: float = 0.5, ceiling: float = 30.0) -> float:
    """Seconds to wait before reconnect attempt `attempt` (0-based): doubling, capped, with up to
    25 % jitter so that many gateways restarted together do not reconnect in lockstep."""
    import random

    delay = min(ceiling, base * (2 ** min(attempt, 16)))
    return delay * (0.75 + random.random() * 0.25)
