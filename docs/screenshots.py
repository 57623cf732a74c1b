"""`python -m docs.screenshots`: screenshots of the main pages, from the real app, into docs/screenshots/.

Builds a throwaway install (SQLite under a temp dir, DEBUG off, the same settings `make run`
writes), fills it with a small team's week of work through the services and the real HTTP APIs
(an agent claims and comments with its token, GitHub posts a signed webhook), serves it with
uvicorn and photographs each page with Debian's Chromium: desktop light, desktop dark, and a
phone. Rerun after a visual change and commit the PNGs; README links them.

    python -m docs.screenshots [--out docs/screenshots] [--only board,task]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}
PASSWORD = "screenshots-only-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def local_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        ENV_FILE="",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        LOCAL_INSTALL="1",
        DATA_DIR=str(data_dir),
        STATIC_ROOT=str(data_dir / "static"),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        DJANGO_SETTINGS_MODULE="missioncontrol.settings",
        CELERY_EMBEDDED_WORKER="1",
        MC_ADMIN_PASSWORD=PASSWORD,
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout


def seed(env: dict[str, str]) -> dict:
    """Runs in a child process (`--seed`): Django set up against the throwaway database."""
    out = subprocess.run(
        [sys.executable, "-m", "docs.screenshots", "--seed"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise SystemExit(f"seeding failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def seed_world() -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from agents import services as agent_services
    from agents.models import Agent
    from boards import services as board_services
    from boards.models import Board
    from core.actors import Actor
    from core.models import Membership, Organization, Role
    from webhooks import services as webhook_services

    User = get_user_model()
    admin = User.objects.get(username="admin")
    admin.first_name = "Ada"
    admin.save()
    organization = Organization.objects.get(slug="demo")
    organization.name = "Northwind Labs"
    organization.save()
    people = {}
    for username, role in (("maria", Role.OPERATOR), ("sam", Role.OPERATOR), ("viewer", Role.VIEWER)):
        people[username] = User.objects.create_user(username, password=PASSWORD)
        Membership.objects.create(organization=organization, user=people[username], role=role)
    actor = Actor.for_user(admin)
    maria = Actor.for_user(people["maria"])
    release = board_services.create_board(
        organization=organization,
        actor=actor,
        name="Release 2.0",
        description="Ship **2.0** by Friday: load tests green, docs updated, changelog reviewed. "
        "See the [runbook](https://example.com/runbook).",
    )
    board_services.create_board(
        organization=organization,
        actor=actor,
        name="Customer escalations",
        description="Tickets the support agents could not close on their own.",
    )
    agents = {}
    for name, caps, lead in (
        ("release-bot", ["deploy", "ci"], True),
        ("triage-bot", ["support"], False),
        ("docs-writer", ["docs", "review"], False),
    ):
        agents[name] = agent_services.create_agent(
            organization=organization,
            actor=actor,
            name=name,
            boards=[release],
            is_board_lead=lead,
            capabilities=caps,
            description=f"{name}: runs in the team's worker pool.",
        )
    tokens = {
        name: agent_services.issue_agent_token(agent=agent, actor=actor, name="worker")[1]
        for name, agent in agents.items()
    }
    tasks = [
        ("Run load test against staging", "in_progress", "urgent", None, ["perf"]),
        ("Update API reference for /v2/tasks", "review", "medium", "docs-writer", ["docs"]),
        ("Changelog for 2.0", "inbox", "high", None, ["docs"]),
        ("Rotate the CDN signing key", "inbox", "medium", None, ["security"]),
        ("Fix flaky websocket reconnect test", "in_progress", "high", "triage-bot", ["ci"]),
        ("Migrate billing webhooks to v2", "blocked", "high", None, []),
        ("Tag release candidate", "done", "low", "release-bot", ["ci"]),
        ("Draft launch announcement", "inbox", "low", None, []),
    ]
    created = {}
    for title, status, priority, agent_name, tags in tasks:
        task = board_services.create_task(
            board=release,
            actor=maria,
            title=title,
            priority=priority,
            tag_names=tags,
            description="Acceptance: p95 under 200 ms at 500 rps.\n\n- [x] staging data\n- [ ] report",
            assignee_agent=agents.get(agent_name),
        )
        created[title] = task
        steps = {
            "in_progress": ["in_progress"],
            "review": ["in_progress", "review"],
            "done": ["in_progress", "review", "done"],
            "blocked": ["blocked"],
        }.get(status, [])
        for step in steps:
            board_services.move_task(task=task, actor=actor, status=step)
    for tag, color in (("perf", "#e5484d"), ("docs", "#3e63dd"), ("ci", "#30a46c"), ("security", "#f76b15")):
        from boards.models import Tag

        Tag.objects.filter(organization=organization, name=tag).update(color=color)
    board_services.add_dependency(
        task=created["Changelog for 2.0"],
        depends_on=created["Update API reference for /v2/tasks"],
        actor=maria,
    )
    board_services.add_comment(
        task=created["Run load test against staging"],
        actor=Actor.for_user(people["sam"]),
        body="Staging is seeded with last week's traffic. @release-bot go ahead.",
    )
    board_services.update_board(board=release, actor=actor, require_approval_for_done=True)
    # Asks for an approval: the card shows "Awaiting approval".
    board_services.move_task(task=created["Update API reference for /v2/tasks"], actor=maria, status="done")
    webhook, secret = webhook_services.create_webhook(
        board=release,
        actor=actor,
        description="GitHub",
        target_agent=agents["release-bot"],
        creates_task=True,
        task_title_template="CI: {check} failed on {branch}",
    )
    board = Board.objects.get(pk=release.pk)
    Agent.objects.filter(pk=agents["docs-writer"].pk).update(status="suspended")
    return {
        "board_id": board.pk,
        "task_id": created["Run load test against staging"].pk,
        "agent_id": agents["release-bot"].pk,
        "webhook_id": webhook.pk,
        "webhook_secret": secret,
        "tokens": tokens,
    }


def http(base: str, method: str, path: str, body: dict | None = None, headers: dict | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def act_through_the_apis(base: str, world: dict) -> None:
    """What a team's tools do during a day: agents claim, report, heartbeat; GitHub posts."""
    bot = {"Authorization": f"Bearer {world['tokens']['release-bot']}"}
    http(base, "POST", f"/api/v1/agent/tasks/{world['task_id']}/claim", {}, bot)
    http(
        base,
        "POST",
        f"/api/v1/agent/tasks/{world['task_id']}/comments",
        {"body": "Started the run: 500 rps for 10 min. p95 is **182 ms** so far."},
        bot,
    )
    http(base, "POST", "/api/v1/agent/heartbeat", {"status_text": "Running load test (6/10 min)"}, bot)
    triage = {"Authorization": f"Bearer {world['tokens']['triage-bot']}"}
    http(base, "POST", "/api/v1/agent/heartbeat", {"status_text": "Bisecting reconnect flake"}, triage)
    body = json.dumps({"action": "completed", "check": "e2e", "branch": "release/2.0"}).encode()
    signature = "sha256=" + hmac.new(world["webhook_secret"].encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"{base}/api/v1/boards/{world['board_id']}/webhooks/{world['webhook_id']}",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature,
            "X-GitHub-Event": "check_run",
        },
    )
    urllib.request.urlopen(request, timeout=10).close()


def pages(world: dict) -> list[tuple[str, str]]:
    return [
        ("boards", "/"),
        ("board", f"/boards/{world['board_id']}/"),
        ("task", f"/boards/{world['board_id']}/tasks/{world['task_id']}/"),
        ("activity", "/activity/"),
        ("agents", "/agents/"),
        ("agent", f"/agents/{world['agent_id']}/"),
        ("webhook", f"/webhooks/{world['webhook_id']}/"),
        ("deliveries", "/deliveries/subscriptions/"),
        ("ops", "/ops/"),
        ("not-found", "/no-such-page/"),
    ]


DARK = {"board", "task", "agents", "activity"}
PHONE_PAGES = {"board", "task", "agents"}


def shoot(base: str, world: dict, out: Path, only: set[str]) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for scheme, viewport, suffix in (
            ("light", DESKTOP, ""),
            ("dark", DESKTOP, "-dark"),
            ("light", PHONE, "-phone"),
        ):
            context = browser.new_context(viewport=viewport, color_scheme=scheme, device_scale_factor=1)
            page = context.new_page()
            if not suffix and (not only or "login" in only):
                page.goto(f"{base}/login/")
                page.fill("#id_username", "admin")
                page.screenshot(path=str(out / "login.png"))
                written.append(out / "login.png")
            page.goto(f"{base}/login/")
            page.fill("#id_username", "admin")
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            for name, path in pages(world):
                if only and name not in only:
                    continue
                if (suffix == "-dark" and name not in DARK) or (
                    suffix == "-phone" and name not in PHONE_PAGES
                ):
                    continue
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(300)  # live status settles on "live"
                target = out / f"{name}{suffix}.png"
                page.screenshot(path=str(target))
                written.append(target)
            context.close()
        browser.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--only", default="", help="comma-separated page names")
    parser.add_argument("--seed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed:
        print(json.dumps(seed_world()))
        return 0
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="mc-screenshots-") as tmp:
        env = local_env(Path(tmp), port)
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "collectstatic", "--noinput", "-v", "0")
        manage(env, "demo", "--json")
        world = seed(env)
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "missioncontrol.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--lifespan",
                "off",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    http(base, "GET", "/healthz")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            act_through_the_apis(base, world)
            time.sleep(1)  # the embedded worker files the webhook's inbox task
            written = shoot(base, world, Path(args.out), {n for n in args.only.split(",") if n})
        finally:
            server.terminate()
            server.wait(10)
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
