"""Where the CPU of one request goes: py-spy samples (only threads holding the GIL, i.e. running
Python) of a gunicorn worker under load, folded into the top functions by own and inclusive time.

    python -m bench.profile ingest agent_get healthz     # writes bench/profiles/<name>.txt

Committed for every target `make bench` misses (see the README's Performance section).
"""

from __future__ import annotations

import collections
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import harness
from bench.run_all import signed_body
from bench.serving import requests_for

OUT = harness.BENCH_DIR / "profiles"
SECONDS = 15
CONNECTIONS = 16


def fold(raw: Path, top: int = 10) -> str:
    own: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = stack.split(";")
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    lines = [f"samples: {total}", "", f"top {top} by own time:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    lines += ["", "top by inclusive time (project code and the libraries it calls):"]
    shown = 0
    for frame, n in inclusive.most_common():
        if not any(
            part in frame
            for part in (
                "missioncontrol/",
                "infra/",
                "webhooks/",
                "agents/",
                "boards/",
                "rest_framework/",
                "django/db/",
                "django_redis",
                "channels_redis",
                "redis/",
                "psycopg/",
            )
        ):
            continue
        lines.append(f"  {100 * n / total:5.1f}%  {frame}")
        shown += 1
        if shown == 3 * top:
            break
    return "\n".join(lines) + "\n"


def profile(names: list[str]) -> None:
    harness.reset_database()
    base = harness.seed("base")
    token = harness.seed("agents", "1")["token"]
    requests = requests_for(base, token, signed_body(base["secret"]))
    env = harness.production_env(DJANGO_SETTINGS_MODULE="bench.stack_ceiling")
    OUT.mkdir(exist_ok=True)
    with harness.Server(harness.WSGI_APP, env=env, kind="gunicorn", workers=1) as server:
        for name in names:
            path, script = requests[name]
            raw = Path(tempfile.mkstemp(suffix=".txt")[1])
            spy = subprocess.Popen(
                [
                    str(harness.VENV_BIN / "py-spy"),
                    "record",
                    "-p",
                    str(server.process.pid),
                    "--subprocesses",
                    "--gil",
                    "--nonblocking",
                    "-r",
                    "250",
                    "-d",
                    str(SECONDS),
                    "--format",
                    "raw",
                    "-o",
                    str(raw),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1)
            run = harness.measured(
                [server],
                lambda p=path, s=script: harness.run_wrk(
                    f"{server.url}{p}", s, connections=CONNECTIONS, seconds=SECONDS - 3
                ),
            )
            spy.wait()
            header = (
                f"{name}: gunicorn, 1 worker x {harness.WEB_THREADS} threads, {CONNECTIONS} connections; "
                f"{run['rate']}/s, {run['cpu_ms_per_request']} ms CPU per request; "
                f"commit {harness.machine()['commit']}\n"
            )
            (OUT / f"{name}.txt").write_text(header + fold(raw))
            print(header.strip())


if __name__ == "__main__":
    profile(sys.argv[1:] or ["ingest", "agent_get"])
