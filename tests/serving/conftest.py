"""The production serving layout as real processes: gunicorn (deploy/gunicorn.conf.py), uvicorn
(infra.serving) and nginx (deploy/nginx.conf.template) on free ports, against this
test's PostgreSQL database and Redis. Started once per test run (every test module that uses it
runs on one xdist worker: tests/ci_plugin.py); each test talks to them over sockets, exactly as
a client in production would."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from django.db import connection

from tests.conftest import requires_postgres, requires_redis

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
# Short, so the slow-header tests finish quickly; the shipped default is 10 s.
HEADER_READ_TIMEOUT_SECONDS = 2
AGENT_AUTH_LIMIT = 5

pytestmark = [requires_postgres, requires_redis]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env() -> dict[str, str]:
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_ALLOW"))}
    env.update(
        DATABASE_URL=f"{base}/{connection.settings_dict['NAME']}",
        REDIS_URL=os.environ["REDIS_URL"],
        RATE_LIMIT_BACKEND="redis",
        DEBUG="1",
        CELERY_EMBEDDED_WORKER="0",
        DJANGO_SETTINGS_MODULE="missioncontrol.settings",
        # The shipped default: no proxy trusted, the socket address is the client.
        TRUSTED_PROXY_COUNT="0",
        AGENT_AUTH_RATE=f"{AGENT_AUTH_LIMIT}/60s",
        HEADER_READ_TIMEOUT_SECONDS=str(HEADER_READ_TIMEOUT_SECONDS),
        WEB_CONCURRENCY="1",
        WEB_THREADS="4",
        LOG_LEVEL="WARNING",
    )
    return env


@dataclass
class Layout:
    wsgi_port: int
    asgi_port: int
    proxy_port: int

    def url(self, server: str) -> str:
        return f"http://127.0.0.1:{getattr(self, f'{server}_port')}"


def _wait_up(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited:\n{log.read_text()[-3000:]}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{process.args[:3]} did not come up:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(scope="session")
def layout(django_db_setup, django_db_blocker) -> Iterator[Layout]:
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    ports = Layout(free_port(), free_port(), free_port())
    workdir = Path(tempfile.mkdtemp(prefix="mc-serving-"))
    workdir.chmod(0o755)  # nginx's workers drop to `nobody` when started as root
    env = server_env()
    commands = {
        "wsgi": [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "deploy/gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{ports.wsgi_port}",
            "missioncontrol.wsgi:application",
        ],
        "asgi": [sys.executable, "-m", "infra.serving", "--port", str(ports.asgi_port)],
    }
    processes: list[subprocess.Popen] = []
    try:
        with django_db_blocker.unblock():
            for name, command in commands.items():
                log = workdir / f"{name}.log"
                process = subprocess.Popen(
                    command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
                )
                processes.append(process)
                _wait_up(process, getattr(ports, f"{name}_port"), log)
        conf = subprocess.run(
            [
                sys.executable,
                "-m",
                "infra.serving",
                "nginx",
                "--listen",
                f"127.0.0.1:{ports.proxy_port}",
                "--wsgi",
                f"127.0.0.1:{ports.wsgi_port}",
                "--asgi",
                f"127.0.0.1:{ports.asgi_port}",
                "--prefix",
                str(workdir),
                "--workers",
                "1",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (workdir / "nginx.conf").write_text(conf)
        log = workdir / "nginx.log"
        nginx = subprocess.Popen(
            [NGINX, "-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-g", "daemon off;"],
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        processes.append(nginx)
        _wait_up(nginx, ports.proxy_port, log)
        yield ports
    finally:
        for process in reversed(processes):
            _stop(process)
