"""The ASGI server's configuration, and the launcher every way of running uses.

Production is nginx in front of two servers (docs/operations.md, "Serving"): gunicorn threads for
plain HTTP (deploy/gunicorn.conf.py) and uvicorn for websockets and the SSE stream (here). The
embedded default (`make run`) is this uvicorn alone, one process, because its in-memory channel
layer and broker live in that process. Both read the same environment (.env.example).

    python -m infra.serving [--host H] [--port P] [--workers N]
    python -m infra.serving nginx --listen 127.0.0.1:8000 --wsgi A --asgi B --prefix DIR

What is decided here and why:
- No proxy-header rewriting, ever: uvicorn's --proxy-headers (its default) trusts 127.0.0.1 and
  replaces the client address from X-Forwarded-For before the app's own rule runs, which let a
  local caller rotate the header past every per-IP limit. The app reads X-Forwarded-For itself,
  as far as TRUSTED_PROXY_COUNT says (infra.client_ip).
- Request heads are bounded in size (MAX_HEADER_BYTES) and in time (HEADER_READ_TIMEOUT_SECONDS):
  h11 refuses an oversized head with 400, and HeadDeadlineH11Protocol closes a connection that
  has not finished its head in time (uvicorn itself never does). nginx does the same in front.
- Websocket messages are bounded by WS_MAX_MESSAGE_BYTES at the protocol level too (uvicorn's
  default is 16 MiB).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import re
import sys
from pathlib import Path
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

ROOT = Path(__file__).resolve().parent.parent
NGINX_TEMPLATE = ROOT / "deploy" / "nginx.conf.template"


def _settings():
    """The project's env readers and defaults, without setting Django up (the arbiter only
    needs numbers). The module is named by DJANGO_SETTINGS_MODULE, not imported by name: this
    library sits below the project package."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "missioncontrol.settings")
    return importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"])


class HeadDeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline for each request head.

    A connection must send a complete request head within HEADER_READ_TIMEOUT_SECONDS of opening
    (or of its previous response), or it is closed: otherwise a client sending one header byte
    at a time holds the connection forever (slowloris).
    """

    head_timeout: float | None = None  # None: HEADER_READ_TIMEOUT_SECONDS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.head_timeout is None:
            self.head_timeout = _settings().HEADER_READ_TIMEOUT_SECONDS
        self._head_deadline: asyncio.TimerHandle | None = None
        self._arm_head_deadline()

    def _arm_head_deadline(self) -> None:
        self._cancel_head_deadline()
        self._head_deadline = self.loop.call_later(self.head_timeout, self._head_deadline_passed)

    def _cancel_head_deadline(self) -> None:
        if getattr(self, "_head_deadline", None) is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_deadline_passed(self) -> None:
        self._head_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._cancel_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)


def uvicorn_options(
    *, host: str | None = None, port: int | None = None, workers: int | None = None
) -> dict[str, Any]:
    """Everything uvicorn is told, in production and in the embedded default alike."""
    s = _settings()
    return {
        "host": host or s.env_str("ASGI_HOST", "127.0.0.1"),
        "port": port or s.env_int("ASGI_PORT", 8001),
        "workers": workers or s.ASGI_WORKERS,
        "http": HeadDeadlineH11Protocol,
        "h11_max_incomplete_event_size": s.MAX_HEADER_BYTES,
        "ws_max_size": s.WS_MAX_MESSAGE_BYTES,
        "ws_ping_interval": 20.0,
        "ws_ping_timeout": 20.0,
        "proxy_headers": False,
        "server_header": False,
        "lifespan": "off",
        "timeout_keep_alive": s.KEEPALIVE_SECONDS,
        "timeout_graceful_shutdown": 20,
        "access_log": False,
    }


def render_nginx(
    *,
    listen: str,
    wsgi: str,
    asgi: str,
    prefix: str,
    worker_processes: str = "auto",
    ingest_upstream: str = "wsgi",
) -> str:
    """deploy/nginx.conf.template with the addresses filled in and the limits from the
    environment (compose does the same substitution with the nginx image's envsubst)."""
    s = _settings()
    values = {
        "MC_PROXY_LISTEN": listen,
        "MC_WSGI_UPSTREAM": wsgi,
        "MC_ASGI_UPSTREAM": asgi,
        "MC_INGEST_UPSTREAM": ingest_upstream,
        "MC_NGINX_PREFIX": prefix,
        "MC_NGINX_WORKERS": worker_processes,
        "MC_HEADER_READ_TIMEOUT": f"{s.HEADER_READ_TIMEOUT_SECONDS}s",
        "MC_MAX_HEADER_KB": f"{max(1, s.MAX_HEADER_BYTES // 1024)}k",
        "MC_MAX_BODY_BYTES": str(s.REQUEST_MAX_BODY_BYTES),
        "MC_MAX_PAYLOAD_BYTES": str(s.WEBHOOK_MAX_PAYLOAD_BYTES),
        "MC_KEEPALIVE_SECONDS": f"{s.KEEPALIVE_SECONDS}s",
        "MC_SERVER_TIMEOUT": f"{s.SERVER_TIMEOUT_SECONDS}s",
    }
    # Only ${MC_...} is ours; nginx's own $variables stay as they are.
    return re.sub(r"\$\{(MC_[A-Z_]+)\}", lambda match: values[match.group(1)], NGINX_TEMPLATE.read_text())


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["nginx"]:
        parser = argparse.ArgumentParser(prog="infra.serving nginx")
        parser.add_argument("--listen", required=True)
        parser.add_argument("--wsgi", required=True)
        parser.add_argument("--asgi", required=True)
        parser.add_argument("--prefix", required=True)
        parser.add_argument("--workers", default="auto")
        parser.add_argument("--ingest-upstream", default="wsgi", choices=["wsgi", "asgi"])
        args = parser.parse_args(argv[1:])
        print(
            render_nginx(
                listen=args.listen,
                wsgi=args.wsgi,
                asgi=args.asgi,
                prefix=args.prefix,
                worker_processes=args.workers,
                ingest_upstream=args.ingest_upstream,
            )
        )
        return
    parser = argparse.ArgumentParser(prog="infra.serving")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--app", default="missioncontrol.asgi:application", help="(benchmarks: other apps)")
    args = parser.parse_args(argv)
    import uvicorn

    uvicorn.run(args.app, **uvicorn_options(host=args.host, port=args.port, workers=args.workers))


if __name__ == "__main__":
    main()
