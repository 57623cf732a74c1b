"""Benchmark plumbing: the production configuration on this machine, servers as subprocesses,
wrk as the load generator (its own process), and the machine description for results.json.

Only 127.0.0.1 is ever a target; every load loop is bounded by wrk's duration.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
PYTHON = sys.executable
VENV_BIN = Path(PYTHON).parent
BENCH_DATABASE = os.environ.get("BENCH_DATABASE_NAME", "mc_bench")
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
# What the README recommends: one web process per core.
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", str(os.cpu_count() or 1)))
WEB_THREADS = int(os.environ.get("BENCH_WEB_THREADS", "8"))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
UNLIMITED = "100000000/60s"


def smoke() -> bool:
    """`run_all --smoke`, the test suite's proof that the harness runs: each benchmark at its
    smallest size with a second of load, so its figures mean nothing. An environment variable,
    so the benchmarks run as subprocesses shrink too."""
    return os.environ.get("BENCH_SMOKE") == "1"


def sized(quick: bool, *, full, quick_size, smoke_size):
    """The size of a benchmark for this run: full, --quick, or --smoke."""
    if smoke():
        return smoke_size
    return quick_size if quick else full


def production_env(**extra: str) -> dict[str, str]:
    """The production configuration, with rate limits raised so they do not cap the figures."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        DEBUG="0",
        SECRET_KEY="bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{BENCH_DATABASE}",
        REDIS_URL=REDIS_URL,
        RATE_LIMIT_BACKEND="redis",
        WEBHOOK_INGEST_RATE=UNLIMITED,
        AGENT_RATE=UNLIMITED,
        AGENT_AUTH_RATE=UNLIMITED,
        LOG_LEVEL="WARNING",
        REQUEST_LOG_SLOW_MS="60000",
        CELERY_EMBEDDED_WORKER="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        DB_POOL_MAX="20",
        DJANGO_SETTINGS_MODULE="missioncontrol.settings",
        # Its own static root, so a benchmark never touches the tree the tests serve from (and
        # BENCH_STATIC_ROOT, so two benchmark runs at once do not share one either).
        STATIC_ROOT=os.environ.get("BENCH_STATIC_ROOT")
        or str(Path(tempfile.gettempdir()) / "mc-bench-static"),
    )
    env.update(extra)
    return env


def reset_database() -> None:
    """A fresh benchmark database each run: figures never depend on leftovers."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    manage("migrate", "--noinput", "-v", "0")
    manage("collectstatic", "--noinput", "-v", "0")


def manage(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env or production_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def seed(command: str, *args: str, env: dict[str, str] | None = None) -> dict:
    """Run a bench.seed command (Django set up in production mode) and return its JSON."""
    result = subprocess.run(
        [PYTHON, "-m", "bench.seed", command, *args],
        cwd=ROOT,
        env=env or production_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        raise RuntimeError(f"seed {command} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ASGI_APP = "missioncontrol.asgi:application"
WSGI_APP = "missioncontrol.wsgi:application"


@dataclass
class Server:
    """A web server as a subprocess (its own session); stopped with SIGTERM, then SIGKILL.

    kind: "uvicorn" (the shipped ASGI settings, infra.serving), "uvicorn-httptools"
    (the same, with uvicorn's faster C parser and no head deadline), "gunicorn" (the shipped
    deploy/gunicorn.conf.py, gthread), "granian-asgi" or "granian-wsgi".
    """

    app: str = ASGI_APP
    env: dict[str, str] = field(default_factory=production_env)
    workers: int = WEB_WORKERS
    kind: str = "uvicorn"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        host, port, workers = "127.0.0.1", str(self.port), str(self.workers)
        if self.kind == "uvicorn":
            return [
                PYTHON,
                "-m",
                "infra.serving",
                "--app",
                self.app,
                "--host",
                host,
                "--port",
                port,
                "--workers",
                workers,
            ]
        if self.kind == "uvicorn-httptools":
            return [
                str(VENV_BIN / "uvicorn"),
                self.app,
                "--host",
                host,
                "--port",
                port,
                "--workers",
                workers,
                "--lifespan",
                "off",
                "--no-access-log",
                "--no-proxy-headers",
                "--http",
                "httptools",
                "--log-level",
                "warning",
            ]
        if self.kind == "gunicorn":
            return [
                str(VENV_BIN / "gunicorn"),
                "-c",
                str(ROOT / "deploy" / "gunicorn.conf.py"),
                "--bind",
                f"{host}:{port}",
                "--workers",
                workers,
                "--threads",
                str(WEB_THREADS),
                "--log-level",
                "warning",
                self.app,
            ]
        if self.kind in {"granian-asgi", "granian-wsgi"}:
            interface = self.kind.split("-")[1]
            return [
                str(VENV_BIN / "granian"),
                "--interface",
                interface,
                "--host",
                host,
                "--port",
                port,
                "--workers",
                workers,
                "--blocking-threads",
                str(WEB_THREADS if interface == "wsgi" else 1),
                "--no-ws",
                "--log-level",
                "warning",
                self.app,
            ]
        raise ValueError(f"unknown server kind {self.kind!r}")

    def __enter__(self) -> Server:
        log = tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".log", delete=False)
        self.log_path = Path(log.name)
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until_up(f"{self.url}/healthz", self.process, self.log_path)
        return self

    def __exit__(self, *exc) -> None:
        stop_process(self.process)

    def cpu_seconds(self) -> float:
        return session_cpu_seconds(self.process.pid) if self.process else 0.0


@dataclass
class Layout:
    """The production layout: nginx routing by path to gunicorn (plain HTTP) and uvicorn
    (websockets, SSE), each started from the shipped configuration on free ports."""

    env: dict[str, str] = field(default_factory=production_env)
    workers: int = WEB_WORKERS
    asgi_workers: int = 1
    port: int = field(default_factory=free_port)
    wsgi: Server | None = None
    asgi: Server | None = None
    nginx: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def servers(self) -> list[Server]:
        return [server for server in (self.wsgi, self.asgi) if server is not None]

    def __enter__(self) -> Layout:
        self.wsgi = Server(WSGI_APP, env=self.env, workers=self.workers, kind="gunicorn").__enter__()
        self.asgi = Server(ASGI_APP, env=self.env, workers=self.asgi_workers, kind="uvicorn").__enter__()
        self.nginx = start_nginx(
            self.port, wsgi=f"127.0.0.1:{self.wsgi.port}", asgi=f"127.0.0.1:{self.asgi.port}", env=self.env
        )
        wait_until_up(f"{self.url}/healthz", self.nginx, None)
        return self

    def __exit__(self, *exc) -> None:
        stop_process(self.nginx)
        for server in self.servers:
            server.__exit__()

    def cpu_seconds(self) -> float:
        return sum(server.cpu_seconds() for server in self.servers)

    def nginx_cpu_seconds(self) -> float:
        return session_cpu_seconds(self.nginx.pid) if self.nginx else 0.0


def start_nginx(
    port: int, *, wsgi: str, asgi: str, env: dict[str, str], workers: str = "1"
) -> subprocess.Popen:
    """nginx in the foreground with the shipped template, its files in a fresh directory."""
    prefix = Path(tempfile.mkdtemp(prefix="mc-nginx-"))
    prefix.chmod(0o755)  # nginx's workers drop to `nobody` when started as root
    rendered = subprocess.run(
        [
            PYTHON,
            "-m",
            "infra.serving",
            "nginx",
            "--listen",
            f"127.0.0.1:{port}",
            "--wsgi",
            wsgi,
            "--asgi",
            asgi,
            "--prefix",
            str(prefix),
            "--workers",
            workers,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (prefix / "nginx.conf").write_text(rendered)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    return subprocess.Popen(
        [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=open(prefix / "error.log", "w"),
        start_new_session=True,
    )


def session_processes(session_id: int) -> dict[int, list[str]]:
    """Every live process in a session (a server's master and workers): pid -> its /proc/<pid>/stat
    fields after the command name (state ppid pgrp session ... utime(11) stime(12))."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session_id:
            found[int(entry.name)] = fields
    return found


def session_cpu_seconds(session_id: int) -> float:
    """User + system CPU of every live process in a session, from /proc: what the server spent,
    whatever else runs on the machine."""
    ticks = sum(int(fields[11]) + int(fields[12]) for fields in session_processes(session_id).values())
    return ticks / CLOCK_TICKS


def measured(servers: list, load: Callable[[], dict]) -> dict:
    """Run `load` (a wrk run) and add the servers' CPU per request, in milliseconds."""
    before = sum(server.cpu_seconds() for server in servers)
    result = load()
    spent = sum(server.cpu_seconds() for server in servers) - before
    served = result.get("requests", 0)
    result["server_cpu_seconds"] = round(spent, 2)
    result["cpu_ms_per_request"] = round(spent * 1000 / served, 3) if served else None
    return result


def wait_until_up(
    url: str, process: subprocess.Popen, log_path: Path | None, timeout: float | None = None
) -> None:
    # BENCH_SERVER_START_SECONDS: a machine loaded by other suites can take longer than 30 s.
    timeout = timeout if timeout is not None else float(os.environ.get("BENCH_SERVER_START_SECONDS", "30"))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log_path.read_text()[-3000:] if log_path else ''}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP error still means it is up
                return
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not come up")


def stop_process(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def wrk_script(method: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Path:
    """A Lua script fixing method, body and headers, plus the shared JSON report."""
    lines = [f'wrk.method = "{method}"']
    if body:
        lines.append(f"wrk.body = {lua_string(body.decode())}")
    for name, value in (headers or {}).items():
        lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
    lines.append((BENCH_DIR / "wrk_report.lua").read_text())
    script = Path(tempfile.mkstemp(prefix="bench-", suffix=".lua")[1])
    script.write_text("\n".join(lines))
    return script


def lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def run_wrk(url: str, script: Path, *, connections: int, seconds: int, threads: int = 2) -> dict:
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed: apt-get install wrk")
    if smoke():
        connections, seconds, threads = min(connections, 2), 1, 1
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    for line in result.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            data = json.loads(line[len("WRK_JSON ") :])
            seconds_run = data["duration_us"] / 1e6
            data["ok"] = data["requests"] - data["status_errors"]
            data["rate"] = round(data["ok"] / seconds_run, 1) if seconds_run else 0.0
            for key in ("p50", "p95", "p99"):
                data[f"{key}_ms"] = round(data[f"{key}_us"] / 1000, 2)
            return data
    raise RuntimeError(f"wrk printed no report:\n{result.stdout}\n{result.stderr}")


def exact_post_count(url: str, body: bytes, headers: dict[str, str], *, total: int, concurrency: int) -> dict:
    """POST `total` requests (every response awaited) and count the 202s: with the row count
    taken afterwards this proves no 202 is answered for a payload that was not stored."""
    import asyncio

    import httpx

    if smoke():
        total, concurrency = min(total, 10), min(concurrency, 2)

    async def run() -> dict:
        statuses: dict[int, int] = {}
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(total):
            queue.put_nowait(n)

        async def worker(client: httpx.AsyncClient) -> None:
            while True:
                try:
                    queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                response = await client.post(url, content=body, headers=headers)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return statuses

    statuses = asyncio.run(run())
    accepted = statuses.get(202, 0)
    return {
        "sent": total,
        "accepted": accepted,
        "other_statuses": total - accepted,
        "statuses": {str(k): v for k, v in statuses.items()},
    }


def machine() -> dict:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {"python": platform.python_version()}
    for package in ("django", "channels", "celery", "uvicorn", "psycopg"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:
            versions[package] = "?"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "cpu_model": cpu_model,
        "platform": platform.platform(),
        "versions": versions,
        "commit": commit,
        "web_workers": WEB_WORKERS,
        "web_threads": WEB_THREADS,
        # Other work on the same cores skews absolute figures (ratios less so): say how busy it was.
        "load_average_at_start": os.getloadavg(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
