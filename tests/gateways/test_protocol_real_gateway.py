"""The protocol-4 client against the real gateway: handshake, version, refusals, requests, events."""

from __future__ import annotations

import asyncio

import pytest
import websockets

from gateways.protocol import (
    PROTOCOL_VERSION,
    DeviceIdentity,
    GatewayConnection,
    GatewayError,
    HandshakeRefused,
)
from tests.conftest import requires_postgres

# The real gateway costs a minute or two of CI: it runs in the production-mode run only.
pytestmark = [requires_postgres, pytest.mark.xdist_group("serial"), pytest.mark.runs_long]


async def test_it_completes_the_challenge_handshake_on_protocol_4(openclaw_gateway):
    connection = await GatewayConnection.open(openclaw_gateway.url, token=openclaw_gateway.token)
    try:
        hello = connection.hello
        assert hello.protocol == PROTOCOL_VERSION == 4
        assert hello.server_version == "2026.9.6"
        assert {"operator.read", "operator.write", "operator.admin"} <= set(hello.scopes)
        assert "agents.create" in hello.methods and "chat" in hello.events
        health = await connection.request("health")
        assert health["ok"] is True
    finally:
        await connection.close()


class TamperedDevice(DeviceIdentity):
    def sign_challenge(self, **kwargs):
        signed = super().sign_challenge(**kwargs)
        return {**signed, "signature": signed["signature"][:-4] + "AAAA"}


async def test_it_signs_the_challenge_with_an_ed25519_device_identity(openclaw_gateway):
    device = DeviceIdentity.generate()
    connection = await GatewayConnection.open(
        openclaw_gateway.url, token=openclaw_gateway.token, device=device
    )
    await connection.close()
    # The gateway checks the signature: the same key with a tampered signature is refused.
    with pytest.raises(HandshakeRefused) as refused:
        await GatewayConnection.open(
            openclaw_gateway.url, token=openclaw_gateway.token, device=TamperedDevice(device.private_key)
        )
    assert refused.value.code == "DEVICE_AUTH_SIGNATURE_INVALID"


async def test_it_reports_a_bad_token_as_a_refused_handshake(openclaw_gateway):
    with pytest.raises(HandshakeRefused) as refused:
        await GatewayConnection.open(openclaw_gateway.url, token="not-the-token")
    assert refused.value.code == "AUTH_TOKEN_MISMATCH"
    assert "token mismatch" in refused.value.message


async def test_the_gateway_refuses_protocol_3_which_the_other_dashboards_send(openclaw_gateway):
    """Why both bounds are 4: a 3..3 client is closed with a protocol mismatch."""
    async with websockets.connect(openclaw_gateway.url) as socket:
        import json

        challenge = json.loads(await socket.recv())
        assert challenge["event"] == "connect.challenge"
        await socket.send(
            json.dumps(
                {
                    "type": "req",
                    "id": "1",
                    "method": "connect",
                    "params": {
                        "minProtocol": 3,
                        "maxProtocol": 3,
                        "client": {
                            "id": "gateway-client",
                            "version": "0",
                            "platform": "linux",
                            "mode": "backend",
                        },
                        "role": "operator",
                        "scopes": ["operator.read"],
                        "auth": {"token": openclaw_gateway.token},
                    },
                }
            )
        )
        answer = json.loads(await socket.recv())
    error = GatewayError.from_frame(answer["error"])
    assert error.code == "PROTOCOL_MISMATCH"
    assert error.details["expectedProtocol"] == PROTOCOL_VERSION


async def test_a_read_only_connection_gets_a_missing_scope_error(openclaw_gateway):
    connection = await GatewayConnection.open(
        openclaw_gateway.url, token=openclaw_gateway.token, scopes=["operator.read"]
    )
    try:
        assert connection.hello.scopes == ["operator.read"]
        await connection.request("agents.list")  # reading is allowed
        with pytest.raises(GatewayError) as refused:
            await connection.request("agents.create", {"name": "never-made"})
        assert refused.value.code == "MISSING_SCOPE"
        assert refused.value.message == "missing scope: operator.admin"
    finally:
        await connection.close()


async def test_a_run_streams_events_to_the_handler_and_completes_on_the_fake_model(openclaw_gateway):
    events: list[tuple[str, dict]] = []
    connection = await GatewayConnection.open(
        openclaw_gateway.url,
        token=openclaw_gateway.token,
        on_event=lambda name, payload: events.append((name, payload)),
    )
    try:
        accepted = await connection.request(
            "chat.send",
            {
                "sessionKey": "agent:main:protocol-test",
                "message": "hello protocol",
                "idempotencyKey": "protocol-1",
            },
        )
        result = await connection.request(
            "agent.wait", {"runId": accepted["runId"], "timeoutMs": 60000}, timeout=70
        )
        assert result["status"] == "ok", result
        assert result["terminalReply"]["text"] == "ECHO: hello protocol"
        finals = [p for name, p in events if name == "chat" and p.get("state") == "final"]
        assert finals and finals[-1]["runId"] == accepted["runId"]
        assert any(name == "chat" and p.get("state") == "delta" for name, p in events)
    finally:
        await connection.close()
    assert connection.closed.is_set()
    await asyncio.sleep(0)
