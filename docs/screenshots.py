"""`python -m docs.screenshots`: screenshots of every page, from the real app, into docs/screenshots/.

Builds a throwaway install (SQLite under a temp dir, DEBUG off, the same settings `make run`
writes), fills it with a small team's work through the services and the real HTTP APIs (an
agent claims and comments with its token, GitHub posts a signed webhook; a week of finished
tasks, a month of usage, alerts, deliveries, automations, a recorded but unreachable gateway),
serves it with uvicorn and photographs each page of `pages()` with Debian's Chromium: desktop
light, desktop dark, and a phone. No OpenClaw gateway runs: the browser answers the gateway
pages' commands with canned replies. A full run also writes the gallery, docs/screenshots.md.
Rerun after a visual change and commit the PNGs.

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
from dataclasses import dataclass
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
        ("nightly-bot", ["reports"], False),
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
        mover = Actor.for_user(people[("sam", "maria")[len(created) % 2]])
        for step in steps:
            board_services.move_task(task=task, actor=mover, status=step)
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
    rest = seed_the_rest(
        organization=organization,
        actor=actor,
        people=people,
        release=release,
        agents=agents,
        created_tasks=created,
        webhook=webhook,
    )
    return {
        **rest,
        "organization_id": organization.pk,
        "board_id": board.pk,
        "task_id": created["Run load test against staging"].pk,
        "agent_id": agents["release-bot"].pk,
        "webhook_id": webhook.pk,
        "webhook_secret": secret,
        "tokens": tokens,
    }


def seed_the_rest(
    *, organization, actor, people: dict, release, agents: dict, created_tasks: dict, webhook
) -> dict:
    """Everything around the board: chat, subscriptions and deliveries, automations, alerts,
    usage, a standup, a gateway (recorded rows, no live gateway) and a personal token."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from agents.models import Agent
    from alerts import services as alert_services
    from alerts.models import AlertRule, Incident
    from automations import services as automation_services
    from boards import services as board_services
    from chat import services as chat_services
    from core.actors import Actor
    from core.services import create_personal_token
    from deliveries.models import Delivery, DeliveryStatus, Subscription
    from gateways import services as gateway_services
    from standups import services as standup_services
    from usage import services as usage_services
    from webhook_rules import services as rule_services

    sam = Actor.for_user(people["sam"])
    maria = Actor.for_user(people["maria"])
    chat_services.post_message(
        board=release, actor=sam, body="Load test is green so far: p95 **182 ms** at 500 rps."
    )
    pinned = chat_services.post_message(
        board=release, actor=actor, body="Release window: **Friday 14:00 UTC**. Freeze starts Thursday."
    )
    chat_services.set_pinned(message=pinned, actor=actor, pinned=True)
    chat_services.post_message(board=release, actor=maria, body="@admin the changelog needs your review.")

    create_personal_token(user=actor.user, name="laptop scripts", expires_in_days=90)

    now = timezone.now()
    relay = Subscription.objects.create(
        organization=organization,
        board=release,
        description="chat-relay",
        target_url="https://hooks.example.com/mission-control",
        # Types that nothing does while the pictures are taken: the embedded worker would
        # otherwise try to deliver to these made-up receivers and fill the dead letters.
        event_types=["approval.decided", "task.deleted", "board.archived"],
    )
    Subscription.objects.create(
        organization=organization,
        description="data warehouse",
        target_url="https://ingest.example.com/events",
        event_types=["usage.budget_crossed", "member.added"],
    )
    for n, (event_type, status, attempts, code) in enumerate(
        [
            ("approval.decided", DeliveryStatus.DEAD, 5, 500),
            ("task.deleted", DeliveryStatus.DEAD, 5, 502),
            ("approval.decided", DeliveryStatus.FAILED, 2, 503),
            ("approval.decided", DeliveryStatus.SUCCEEDED, 1, 200),
            ("board.archived", DeliveryStatus.SUCCEEDED, 1, 200),
            ("task.deleted", DeliveryStatus.SUCCEEDED, 1, 204),
        ]
    ):
        dead = Delivery.objects.create(
            organization=organization,
            board=release,
            subscription=relay,
            target_url=relay.target_url,
            event_type=event_type,
            payload={"type": event_type, "data": {"task": {"title": "Tag release candidate"}}},
            status=status,
            attempt_count=attempts,
            last_status_code=code,
            updated_at=now - timedelta(minutes=7 * n + 3),
        )
        if n == 0:
            delivery = dead

    rule_services.apply_preset(webhook=webhook, actor=actor, preset="github")

    automation_services.create_schedule(
        board=release,
        actor=actor,
        name="Morning triage",
        cron_expression="0 9 * * 1-5",
        time_zone="Europe/Paris",
        actions=[{"action": "create_task", "title": "Triage {date}"}],
    )
    automation = automation_services.create_automation(
        board=release,
        actor=actor,
        name="Urgent done → chat",
        trigger="task_done",
        conditions=[{"field": "task.priority", "op": "is", "value": "urgent"}],
        actions=[{"action": "post_chat", "body": "{task.title} is done"}],
    )
    train = automation_services.create_pipeline_template(
        board=release,
        actor=actor,
        name="Release train",
        steps=[
            {"key": "build", "title": "Build artefacts"},
            {"key": "test", "title": "Run the e2e suite", "depends_on": ["build"]},
            {"key": "ship", "title": "Ship to production", "depends_on": ["test"]},
        ],
    )
    automation_services.instantiate_template(template=train, actor=actor)

    # Last week's finished work on the escalations board, so the overview's figures and charts
    # have a week behind them: moved through the services, then dated back in the rollup.
    from boards.models import Board
    from overview.models import TaskFlow
    from overview.rollup import refresh_task_flows

    escalations = Board.objects.get(organization=organization, name="Customer escalations")
    finished = []
    for n, title in enumerate(
        [
            "Refund stuck for order 4411",
            "SSO login loops for Acme",
            "Export times out over 10k rows",
            "Invoice PDF missing VAT id",
            "Webhook retries hammer Zendesk",
            "Password reset mail in spam",
            "Slow search on large boards",
            "CSV import drops accents",
            "Mobile menu hides logout",
            "Timezone off by one in digest",
            "Duplicate notifications on mention",
        ]
    ):
        task = board_services.create_task(
            board=escalations, actor=maria, title=title, priority=("high", "medium", "low")[n % 3]
        )
        for step in ("in_progress", "review", "done"):
            board_services.move_task(task=task, actor=actor, status=step)
        finished.append(task)
    refresh_task_flows(batches=1000, wait=True)
    for n, task in enumerate(finished):
        done_at = now - timedelta(days=(n * 5) % 7, hours=2 + n % 5)
        cycle = timedelta(hours=3 + (n * 7) % 20)
        lead = cycle + timedelta(hours=1 + (n * 3) % 9)
        TaskFlow.objects.filter(task=task).update(
            created_at=done_at - lead,
            started_at=done_at - cycle,
            done_at=done_at,
            cycle_seconds=cycle.total_seconds(),
            lead_seconds=lead.total_seconds(),
            status_changed_at=done_at,
        )

    # Usage: a month of reports from the three agents, priced, under a monthly budget.
    usage_services.set_model_price(
        actor=actor,
        organization=organization,
        model="claude-sonnet",
        effective_from=(now - timedelta(days=30)).date(),
        input_per_million=Decimal("3"),
        output_per_million=Decimal("15"),
        cached_per_million=Decimal("0.3"),
    )
    worked_on = {
        "release-bot": created_tasks["Run load test against staging"],
        "triage-bot": created_tasks["Fix flaky websocket reconnect test"],
    }
    for day in range(30):
        for k, name in enumerate(("release-bot", "triage-bot", "docs-writer")):
            scale = (1 + (day * 7 + k * 3) % 5) * (3 - k)
            usage_services.record_usage(
                agent=agents[name],
                items=[
                    usage_services.UsageItem(
                        model="claude-sonnet",
                        idempotency_key=f"seed-{name}-{day}",
                        occurred_at=now - timedelta(days=day, hours=k),
                        input_tokens=120_000 * scale,
                        output_tokens=18_000 * scale,
                        cached_tokens=40_000 * scale,
                        task=worked_on.get(name) if day < 4 else None,
                    )
                ],
            )
    usage_services.create_budget(
        actor=actor, organization=organization, scope="organization", period="monthly", limit=Decimal("250")
    )
    usage_services.create_budget(
        actor=actor,
        organization=organization,
        scope="agent",
        agent_id=agents["release-bot"].pk,
        period="daily",
        limit=Decimal("12"),
    )

    # Alerts: a nightly agent that went quiet opens an incident; two more rules stand by.
    nightly = agents["nightly-bot"]
    Agent.objects.filter(pk=nightly.pk).update(last_seen_at=now - timedelta(hours=3))
    alert_services.create_rule(
        actor=actor,
        organization=organization,
        name="Agent silent",
        condition="agent_offline",
        params={"minutes": 30},
    )
    alert_services.create_rule(
        actor=actor,
        organization=organization,
        name="Dead deliveries",
        condition="dead_letters",
        params={"threshold": 1},
        cooldown_minutes=30,
    )
    alert_services.create_rule(
        actor=actor,
        organization=organization,
        name="Waiting for approval",
        condition="approval_waiting",
        params={"hours": 4},
        board=release,
    )
    for rule in AlertRule.objects.filter(organization=organization):
        alert_services.evaluate_rule(rule_id=rule.pk)

    gateway = gateway_services.create_gateway(
        actor=actor, organization=organization, name="studio", url="ws://127.0.0.1:9/", token="studio-token"
    )
    gateway_services.record_disconnected(
        gateway_id=gateway.pk, code="ECONNREFUSED", error="connect ECONNREFUSED 127.0.0.1:9", refused=False
    )
    gateway_agents = gateway_services.sync_gateway_agents(
        gateway_id=gateway.pk,
        listed={"agents": [{"id": "release-bot"}, {"id": "triage-bot"}, {"id": "main"}]},
    )
    for gateway_agent in gateway_agents:
        match = agents.get(gateway_agent.agent_key)
        if match is not None:
            gateway_services.link_gateway_agent(actor=actor, gateway_agent=gateway_agent, agent=match)
    stamp = int(now.timestamp() * 1000)
    gateway_services.sync_gateway_sessions(
        gateway_id=gateway.pk,
        listed={
            "sessions": [
                {"key": "agent:release-bot:main", "label": "release work", "updatedAt": stamp - 60_000},
                {"key": "agent:triage-bot:main", "label": "reconnect flake", "updatedAt": stamp - 600_000},
                {"key": "agent:main:main", "label": "main", "updatedAt": stamp - 3_600_000},
            ]
        },
    )

    standup = standup_services.post_standup(
        organization=organization, day=timezone.localdate(), board=release
    )
    return {
        "delivery_id": delivery.pk,
        "subscription_id": relay.pk,
        "automation_id": automation.pk,
        "gateway_id": gateway.pk,
        "gateway_agent_id": gateway_agents[0].pk,
        "gateway_session": "agent:release-bot:main",
        "incident_id": Incident.objects.filter(rule__organization=organization).order_by("pk").first().pk,
        "standup": bool(standup),
    }


def http(base: str, method: str, path: str, body: dict | None = None, headers: dict | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def act_through_the_apis(base: str, world: dict) -> int:
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
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(json.loads(response.read())["id"])


@dataclass(frozen=True)
class Shot:
    """One page: `name` is the browser sweep's name (tests/e2e/test_pages.py) or a page it does
    not visit; the files are `<slug>.png`, `<slug>-dark.png` and `<slug>-phone.png`."""

    name: str
    path: str
    caption: str

    @property
    def slug(self) -> str:
        return self.name.replace(" ", "-")


def pages(w: dict) -> list[Shot]:
    """Every page a person uses, in the order of the gallery (docs/screenshots.md)."""
    board = f"/boards/{w['board_id']}"
    org = f"/organizations/{w['organization_id']}"
    gateway = f"/gateways/{w['gateway_id']}"
    return [
        Shot("login", "/login/", "Sign in (the local install's admin, or an invited member)."),
        Shot("overview", "/overview/", "The organization at a glance: open work, agents, incidents, spend."),
        Shot("boards", "/", "Every board, with its open work and the agents on it."),
        Shot("new board", "/boards/new/", "Create a board."),
        Shot("board", f"{board}/", "The board: columns, cards, approvals, pipelines, chat and live status."),
        Shot("task", f"{board}/tasks/{w['task_id']}/", "A task: description, checklist, comments, history."),
        Shot("board settings", f"{board}/settings/", "A board's name, description and approval rules."),
        Shot("board activity", f"{board}/activity/", "Everything that happened on one board."),
        Shot("activity", "/activity/", "Everything that happened in the organization, live."),
        Shot("search", "/search/?q=load", "Search tasks, comments, agents and boards."),
        Shot("notifications", "/notifications/", "Mentions, approvals and alerts for you."),
        Shot("agents", "/agents/", "The agents: status, heartbeat, boards, capabilities."),
        Shot(
            "agent", f"/agents/{w['agent_id']}/", "One agent: its work, tokens, usage and gateway sessions."
        ),
        Shot("new agent", "/agents/new/", "Register an agent."),
        Shot(
            "edit agent", f"/agents/{w['agent_id']}/edit/", "Change an agent's boards, role and capabilities."
        ),
        Shot(
            "connect agent",
            f"/agents/{w['agent_id']}/connect/",
            "How to connect an agent: API, MCP, gateway.",
        ),
        Shot("tokens", "/tokens/", "Your personal API tokens."),
        Shot("webhooks", "/webhooks/", "Inbound webhooks of every board."),
        Shot("board webhooks", f"/webhooks/boards/{w['board_id']}/", "One board's inbound webhooks."),
        Shot("webhook", f"/webhooks/{w['webhook_id']}/", "A webhook: its URL, secret, recent payloads."),
        Shot("webhook rules", f"/webhooks/{w['webhook_id']}/rules/", "Rules that turn payloads into tasks."),
        Shot(
            "payload",
            f"/webhooks/payloads/{w['payload_id']}/",
            "One received payload and what its rules did.",
        ),
        Shot("deliveries", "/deliveries/", "Outbound deliveries that failed or died, to replay."),
        Shot("delivery", f"/deliveries/{w['delivery_id']}/", "One delivery's attempts and payload."),
        Shot("board deliveries", f"/deliveries/boards/{w['board_id']}/", "One board's outbound deliveries."),
        Shot(
            "subscriptions",
            "/deliveries/subscriptions/",
            "Outbound subscriptions: who receives which events.",
        ),
        Shot("subscription", f"/deliveries/subscriptions/{w['subscription_id']}/", "One subscription."),
        Shot("incidents", "/alerts/", "Open and recent incidents: acknowledge or snooze."),
        Shot("incident", f"/alerts/incidents/{w['incident_id']}/", "One incident and its timeline."),
        Shot("alert rules", "/alerts/rules/", "Alert rules: what opens an incident, who hears of it."),
        Shot("automations", f"{board}/automations/", "A board's schedules, automations and templates."),
        Shot("new schedule", f"{board}/automations/schedules/new/", "A schedule: cron, time zone, actions."),
        Shot(
            "automation", f"{board}/automations/{w['automation_id']}/", "An automation: trigger, conditions."
        ),
        Shot(
            "new pipeline template",
            f"{board}/automations/templates/pipeline/new/",
            "A pipeline template: steps and their dependencies.",
        ),
        Shot("standup", "/standups/", "The organization's daily standup."),
        Shot("board standup", f"/standups/boards/{w['board_id']}/", "One board's daily standup."),
        Shot("usage", "/usage/", "Tokens and spend by day, agent, board and model."),
        Shot("budgets and prices", "/usage/budgets/", "Budgets and model prices."),
        Shot("exports", "/overview/exports/", "CSV exports of tasks, events and usage."),
        Shot("gateways", "/gateways/", "OpenClaw gateways and their state."),
        Shot("gateway", f"{gateway}/", "A gateway: connection, its agents, sessions."),
        Shot(
            "gateway session",
            f"{gateway}/session/?key={w['gateway_session']}",
            "One gateway session's transcript.",
        ),
        Shot(
            "gateway agent files",
            f"{gateway}/agents/{w['gateway_agent_id']}/files/",
            "A gateway agent's workspace files (SOUL.md, AGENTS.md …).",
        ),
        Shot("members", f"{org}/members/", "Members, roles and invitations."),
        Shot("organization settings", f"{org}/settings/", "The organization's name and time zone."),
        Shot("ops", "/ops/", "Operations: workers, queues, database, Redis, errors."),
    ]


# Pages of the browser sweep (tests/e2e/test_pages.py) not photographed, and why.
NOT_SHOWN = {
    "activity filtered": "the activity page with a filter: the same page",
    "all deliveries": "the deliveries page with another filter: the same page",
    "new organization": "a one-field form",
    "not found": "an error page",
}

# Wait until the page has settled: no htmx request in flight, nothing marked busy, fonts loaded.
SETTLED = """() => document.readyState === 'complete'
  && !document.querySelector('.htmx-request, [aria-busy="true"]')
  && ![...document.querySelectorAll('p, span, div')].some(
       (e) => e.offsetParent && e.children.length === 0 && /^Loading/.test(e.textContent.trim()))"""


def settle(page) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready")
    try:
        page.wait_for_function(SETTLED, timeout=20_000)
    except PlaywrightTimeout:
        print(f"still loading after 20 s, photographed as is: {page.url}", file=sys.stderr)
    page.wait_for_timeout(400)  # live status settles on "live", charts finish drawing


def shoot(base: str, world: dict, out: Path, only: set[str]) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    shots = [shot for shot in pages(world) if not only or shot.slug in only]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for scheme, viewport, suffix in VARIANTS:
            context = browser.new_context(viewport=viewport, color_scheme=scheme, device_scale_factor=1)
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.route("**/api/v1/gateways/*/commands/", answer_gateway_commands)
            for shot in shots:
                if shot.name != "login":
                    continue
                page.goto(base + shot.path)
                page.fill("#id_username", "admin")
                settle(page)
                written.append(_save(page, out / f"{shot.slug}{suffix}.png"))
            page.goto(f"{base}/login/")
            page.fill("#id_username", "admin")
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            for shot in shots:
                if shot.name == "login":
                    continue
                page.goto(base + shot.path)
                settle(page)
                written.append(_save(page, out / f"{shot.slug}{suffix}.png"))
            context.close()
        browser.close()
    return written


# What the gateway would answer the pages' commands (chat.history, agents.files.*): the pictures
# need no live OpenClaw gateway, so the browser answers the command POST itself with these.
SOUL = """# release-bot

You ship Northwind's releases: tag, build, run the e2e suite, deploy, announce.
Careful, terse, and you never deploy on a red build.
"""
AGENTS_MD = """# How release-bot works

- Claim tasks tagged `ci` or `deploy` on Release 2.0.
- Post progress as task comments; move to review when done.
"""
GATEWAY_ANSWERS = {
    "chat.history": {
        "messages": [
            {"role": "user", "content": "Run the load test against staging: 500 rps for 10 minutes."},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Starting k6 against staging."},
                    {
                        "type": "toolCall",
                        "id": "call-1",
                        "name": "exec",
                        "arguments": {"command": "k6 run --vus 200 --duration 10m load/staging.js"},
                    },
                ],
            },
            {
                "role": "toolResult",
                "toolCallId": "call-1",
                "toolName": "exec",
                "content": "http_req_duration p(95)=182ms  http_reqs=300012  errors=0.00%",
            },
            {
                "role": "assistant",
                "content": [{"type": "text", "text": "Done: p95 is 182 ms at 500 rps, no errors."}],
            },
        ]
    },
    "agents.files.list": {
        "files": [
            {"name": "SOUL.md", "size": len(SOUL)},
            {"name": "AGENTS.md", "size": len(AGENTS_MD)},
            {"name": "TOOLS.md", "missing": True},
        ]
    },
    "agents.files.get": {"file": {"name": "SOUL.md", "content": SOUL, "hash": "seed"}},
}


def answer_gateway_commands(route) -> None:
    method = json.loads(route.request.post_data or "{}").get("method", "")
    result = GATEWAY_ANSWERS.get(method)
    if method == "agents.files.get" and "AGENTS" in (route.request.post_data or ""):
        result = {"file": {"name": "AGENTS.md", "content": AGENTS_MD, "hash": "seed"}}
    command = {"id": 1, "method": method, "state": "succeeded" if result else "failed", "result": result}
    command.update({} if result else {"error_code": "UNAVAILABLE", "error_message": "not in the pictures"})
    route.fulfill(status=201, content_type="application/json", body=json.dumps(command))


VARIANTS = (("light", DESKTOP, ""), ("dark", DESKTOP, "-dark"), ("light", PHONE, "-phone"))


def _save(page, target: Path) -> Path:
    page.screenshot(path=str(target))
    return target


def write_gallery(world: dict, target: Path) -> None:
    """docs/screenshots.md: every page, light, dark and phone, with what it is for."""
    lines = [
        "# Screenshots",
        "",
        "Every page of Mission Control, from the real app: desktop light, desktop dark and a phone "
        "(390 px). `python -m docs.screenshots` builds a throwaway install, fills it with a small "
        "team's week of work (through the services and the real HTTP APIs), and photographs each "
        "page with Chromium; `--only board,task` retakes some. The gateway pages show a recorded, "
        "unreachable gateway; the session transcript and the agent files are canned replies (no live "
        "OpenClaw gateway runs).",
        "",
    ]
    lines += ["| Page | What it is for | Light | Dark | Phone |", "| --- | --- | --- | --- | --- |"]
    for shot in pages(world):
        cells = [
            f'<a href="screenshots/{shot.slug}{suffix}.png"><img src="screenshots/{shot.slug}{suffix}.png" '
            f'width="{width}" alt="{shot.name}{label}"></a>'
            for suffix, width, label in (("", 240, ""), ("-dark", 240, ", dark"), ("-phone", 80, ", phone"))
        ]
        lines.append(f"| {shot.name} | {shot.caption} | " + " | ".join(cells) + " |")
    lines.append("")
    target.write_text("\n".join(lines))


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
            world["payload_id"] = act_through_the_apis(base, world)
            time.sleep(1)  # the embedded worker files the webhook's inbox task
            only = {n for n in args.only.split(",") if n}
            unknown = only - {shot.slug for shot in pages(world)}
            if unknown:
                raise SystemExit(f"no such page: {', '.join(sorted(unknown))}")
            written = shoot(base, world, Path(args.out), only)
            if not only:
                write_gallery(world, Path(args.out).parent / "screenshots.md")
        finally:
            server.terminate()
            server.wait(10)
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
