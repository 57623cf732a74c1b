"""`manage.py run_gateways`: the gateway supervisor as a process of its own (compose's `gateways`)."""

from __future__ import annotations

import asyncio
import signal

from django.core.management.base import BaseCommand

from gateways.gateway_events import GatewayEventSink
from gateways.supervisor import GatewaySupervisor


class Command(BaseCommand):
    help = "Keep one connection to each enabled OpenClaw gateway and run the commands queued for them."

    def handle(self, *args, **options) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        self.stdout.write("gateway supervisor started")
        await GatewaySupervisor(event_sink=GatewayEventSink()).run(stop)
        self.stdout.write("gateway supervisor stopped")
