"""Each gateway's state for /readyz (infra.health shows it and never fails on it).

The probe is public, so it names gateways by id only: no name, URL or error text, which belong to
the organization that owns the gateway (its gateway page and the API show them).
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from gateways.models import Gateway, GatewayStatus

# A probe answers in milliseconds; an installation with more gateways gets the counts and the
# first ones.
MAX_LISTED = 100


def gateway_states() -> dict[str, Any]:
    """{"status": "ok" | "degraded", "counts": {state: n}, "gateways": [{id, status, since}]}.

    `since` is when the state began as far as Mission Control knows: the connection's start for a
    connected gateway, the last moment it was seen for one that is not.
    """
    try:
        rows = list(
            Gateway.objects.supervised()
            .order_by("id")
            .values_list("id", "status", "connected_at", "last_seen_at", "created_at")
        )
    finally:
        if not connection.in_atomic_block:
            connection.close()  # a probe thread's connection; the next probe opens its own
    counts: dict[str, int] = {}
    listed = []
    for pk, status, connected_at, last_seen_at, created_at in rows:
        counts[status] = counts.get(status, 0) + 1
        since = connected_at if status == GatewayStatus.CONNECTED else (last_seen_at or created_at)
        if len(listed) < MAX_LISTED:
            listed.append({"id": pk, "status": status, "since": since.isoformat() if since else None})
    down = sum(n for status, n in counts.items() if status != GatewayStatus.CONNECTED)
    return {"status": "degraded" if down else "ok", "counts": counts, "gateways": listed}
