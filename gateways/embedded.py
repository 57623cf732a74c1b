"""The embedded default's gateway supervisor: a daemon thread of the web process.

Like the embedded Celery worker (infra.embedded_worker), it exists so that a fresh
install with nothing else running still keeps its gateways connected; its events reach the
in-memory channel layer of this process. Production runs `manage.py run_gateways` instead.
"""

from __future__ import annotations

import asyncio
import logging
import threading

logger = logging.getLogger(__name__)

_started = False
_lock = threading.Lock()


def start_embedded_supervisor() -> bool:
    """Start the supervisor thread once per process; later calls do nothing."""
    global _started
    with _lock:
        if _started:
            return False
        _started = True

    def run() -> None:
        from gateways.gateway_events import GatewayEventSink
        from gateways.supervisor import GatewaySupervisor

        # Never stopped: the daemon thread ends with the process.
        asyncio.run(GatewaySupervisor(event_sink=GatewayEventSink()).run(asyncio.Event()))

    threading.Thread(target=run, name="gateway-supervisor", daemon=True).start()
    logger.info("embedded gateway supervisor started")
    return True
