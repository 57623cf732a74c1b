"""Browser tests: the real ASGI server (uvicorn) in a thread of the test process, and Debian's
Chromium driven by Playwright.

The server runs in-process so it shares the test database (a SQLite file in WAL mode, or
the Postgres test database) and, in the embedded default, the in-memory channel layer and the
embedded Celery worker. Tests using it need `transactional_db` so their writes are visible.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

# Playwright's sync API keeps an event loop on the test thread, which Django would mistake for
# async code calling the ORM; the ORM calls here are the test's own, made synchronously.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
RESULTS_DIR = Path(__file__).resolve().parents[2] / "test-results"
PASSWORD = "correct-horse-battery-staple"  # the factories' password

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThreadedUvicorn:
    """uvicorn.Server on a background thread; stop() is graceful, then the thread is joined.
    start() after stop() serves again on the same port (a restart, as a browser sees one)."""

    def __init__(self, app, port: int) -> None:
        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> ThreadedUvicorn:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            lifespan="off",
            log_level="warning",
            ws="websockets",
            # A websocket handler can outlive its closed connection by channels-redis's blocking
            # read; a stop need not wait for that.
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn-{self.port}", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def wait_idle(self, timeout: float = 10.0, linger: float = 2.0) -> bool:
        """True once no connection is open (False if one still is after `timeout`), and then
        every handler has ended or `linger` seconds have passed: a websocket handler may outlive
        its closed connection by the channel layer's blocking read (channels-redis: seconds), and
        one still finishing its last write gets that long."""
        state = self.server.server_state
        deadline = time.monotonic() + timeout
        while state.connections:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        deadline = time.monotonic() + linger
        while state.tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return True


@pytest.fixture(scope="module")
def _module_asgi_server() -> Iterator[ThreadedUvicorn]:
    """One server per test module: it holds no state of its own between tests (each test's data
    is its own, in the database and the channel layer the autouse fixtures reset), and starting
    and stopping it per test cost seconds."""
    from missioncontrol.asgi import application

    server = ThreadedUvicorn(application, free_port()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def asgi_server(transactional_db, _module_asgi_server) -> Iterator[ThreadedUvicorn]:
    """The module's server, for a test whose writes it must see (committed: transactional_db).

    Before the test's data is flushed, the server must be done with the test: a socket handler
    still writing (a flood test's last event) would hold the table the flush empties. A
    connection still open after the wait is ended by a restart, as a per-test server's stop
    ended it."""
    yield _module_asgi_server
    if _module_asgi_server.thread.is_alive() and not _module_asgi_server.wait_idle():
        _module_asgi_server.stop()
        _module_asgi_server.start()


@pytest.fixture(scope="module")
def browser():
    """Per module, not per session: while Playwright's sync API is alive it keeps an event loop
    running on this thread, which would break a later test that uses asyncio (no browser test
    module has one; tests/ci_plugin.py keeps each module's tests together on one worker)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (see .ci/run)")
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash.setdefault("failed", False)
        if report.failed:
            item.stash["failed"] = True


def new_page(browser):
    """A page in its own browser context (its own cookies), recording console errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    page.console_errors = console_errors
    return context, page


@pytest.fixture
def page(browser, request):
    """A fresh browser context per test; a screenshot under test-results/ when the test fails."""
    context, page = new_page(browser)
    yield page
    if request.node.stash.get("failed", False):
        RESULTS_DIR.mkdir(exist_ok=True)
        with contextlib.suppress(Exception):
            page.screenshot(path=str(RESULTS_DIR / f"{request.node.name}.png"), full_page=True)
    context.close()


def log_in(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    # Idle, not just navigated: the landing page opens its live socket after load, and a test
    # that waits for the next page's socket must not catch the landing page's instead.
    page.wait_for_load_state("networkidle")
