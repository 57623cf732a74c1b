"""What Mission Control does with the events a gateway sends (called by the supervisor).

- `agent` and `chat` run events go live to the pages watching that session (a channel-layer
  group per gateway session, from infra.realtime), without a database write per delta;
- a run's end (`chat` final or error) becomes a Mission Control event with a sentence;
- everything else (ticks, health, presence, cron) is ignored here.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from activity.services import record_activity
from gateways import services
from gateways.models import Gateway
from gateways.services import gateway_actor
from infra import realtime

logger = logging.getLogger(__name__)

MAX_PREVIEW = 300


def _message_text(message: Any) -> str:
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def session_stream_payload(gateway_id: int, event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The JSON a session page receives for one run event (the gateway's own payload, tagged)."""
    return {"kind": "gateway.stream", "gateway_id": gateway_id, "event": event, "payload": payload}


@transaction.atomic
def record_run_end(*, gateway_id: int, payload: dict[str, Any]) -> None:
    gateway = Gateway.objects.filter(pk=gateway_id).first()
    if gateway is None:
        return
    failed = payload.get("state") == "error"
    record_activity(
        organization=gateway.organization_id,
        verb="gateway.run_failed" if failed else "gateway.run_finished",
        actor=gateway_actor(gateway),
        target=gateway,
        detail={
            "gateway_id": gateway.pk,
            "name": gateway.name,
            "run_id": str(payload.get("runId") or ""),
            "session_key": str(payload.get("sessionKey") or ""),
            "text": (
                str(payload.get("errorMessage") or "") if failed else _message_text(payload.get("message"))
            )[:MAX_PREVIEW],
        },
    )


class GatewayEventSink:
    """The supervisor's event handler: `await sink(runner, event, payload)` (a GatewayRunner)."""

    async def __call__(self, runner, event: str, payload: dict[str, Any]) -> None:
        settings = runner.settings
        if event == "exec.approval.requested":
            await runner.db.run(services.record_approval_requested, gateway_id=settings.id, payload=payload)
            return
        if event == "exec.approval.resolved":
            await runner.db.run(services.record_approval_resolved, gateway_id=settings.id, payload=payload)
            return
        if event not in ("agent", "chat"):
            return
        session_key = payload.get("sessionKey")
        if isinstance(session_key, str) and session_key:
            realtime.publish_gateway_session(
                gateway_id=settings.id,
                session_key=session_key,
                payload=session_stream_payload(settings.id, event, payload),
            )
        if event == "chat" and payload.get("state") in ("final", "error"):
            await runner.db.run(record_run_end, gateway_id=settings.id, payload=payload)
            run_id, agent_key = payload.get("runId"), payload.get("agentId")
            if isinstance(run_id, str) and isinstance(agent_key, str) and isinstance(session_key, str):
                runner.spawn(
                    self.record_usage(runner, session_key=session_key, agent_key=agent_key, run_id=run_id)
                )

    async def record_usage(self, runner, *, session_key: str, agent_key: str, run_id: str) -> None:
        """The run's usage, from chat.history, for the linked Mission Control agent."""
        connection = runner.connection
        if connection is None:
            return
        try:
            history = await connection.request("chat.history", {"sessionKey": session_key})
            await runner.db.run(
                services.record_run_usage,
                gateway_id=runner.settings.id,
                agent_key=agent_key,
                run_id=run_id,
                history=history,
            )
        except Exception:
            logger.exception("gateway %s: recording the usage of run %s failed", runner.settings.id, run_id)
