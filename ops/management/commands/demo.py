"""`manage.py demo`: a demo admin, organization, board, agent and webhook, so a new install
shows something at once. Idempotent: a second run changes nothing and prints only the ids.

Secrets (admin password, agent token, webhook secret) are printed only when issued: on the
first run, or with --rotate-secrets, which replaces the agent token and the webhook secret
(the old ones stop working at once). A lost admin password comes back with
--reset-admin-password, which sets and prints a new one.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from agents import services as agent_services
from agents.models import Agent
from boards import services as board_services
from boards.models import Board
from core.actors import Actor
from core.models import Membership, Organization, Role
from webhooks import services as webhook_services
from webhooks.models import BoardWebhook

ADMIN_USERNAME = "admin"
ORGANIZATION_SLUG = "demo"
BOARD_SLUG = "getting-started"
AGENT_NAME = "demo-agent"
WEBHOOK_DESCRIPTION = "Demo webhook"
STARTER_TASKS = [
    ("Connect your first agent", "Use the demo agent token: `GET /api/v1/agent/me`."),
    ("Send a signed webhook", "POST a JSON body signed with the webhook secret; it appears here live."),
    ("Invite your team", "Team → Invite someone: an email and a role; the link they get works once."),
]


# What --env exports: the URLs, and the secrets when this run issued them (shown once).
ENV_KEYS = {
    "base_url": "BASE_URL",
    "webhook_url": "WEBHOOK_URL",
    "webhook_secret": "WEBHOOK_SECRET",
    "agent_token": "AGENT_TOKEN",
    "admin_password": "ADMIN_PASSWORD",
}


class Command(BaseCommand):
    help = "Create (once) a demo admin, organization, board, agent and webhook."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print what exists as JSON.")
        parser.add_argument(
            "--env",
            action="store_true",
            help="Print shell `export` lines (BASE_URL, WEBHOOK_URL, and the secrets issued now: "
            "WEBHOOK_SECRET, AGENT_TOKEN, ADMIN_PASSWORD) for `eval`.",
        )
        parser.add_argument(
            "--rotate-secrets",
            action="store_true",
            help="Issue a new demo agent token and webhook secret; the old ones stop working.",
        )
        parser.add_argument(
            "--reset-admin-password",
            action="store_true",
            help="Set a new random password for the demo admin (or MC_ADMIN_PASSWORD) and print it.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            result = self._ensure_demo(rotate=options["rotate_secrets"])
            if options["reset_admin_password"] and "admin_password" not in result:
                result["admin_password"] = self._reset_admin_password()
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
        elif options["env"]:
            for key, value in result.items():
                if key in ENV_KEYS:
                    self.stdout.write(f"export {ENV_KEYS[key]}={shlex.quote(str(value))}")
        else:
            self._print_human(result)

    def _ensure_demo(self, *, rotate: bool) -> dict[str, Any]:
        result: dict[str, Any] = {}
        admin, password = self._ensure_admin()
        if password:
            result["admin_password"] = password
        actor = Actor.for_user(admin)

        organization, _ = Organization.objects.get_or_create(
            slug=ORGANIZATION_SLUG, defaults={"name": "Demo"}
        )
        Membership.objects.get_or_create(organization=organization, user=admin, defaults={"role": Role.ADMIN})

        board = Board.objects.filter(organization=organization, slug=BOARD_SLUG).first()
        if board is None:
            board = board_services.create_board(
                organization=organization,
                actor=actor,
                name="Getting started",
                slug=BOARD_SLUG,
                description="A demo board: tasks, an agent and a webhook to try things with.",
            )
            for title, description in STARTER_TASKS:
                board_services.create_task(board=board, actor=actor, title=title, description=description)

        agent = Agent.objects.filter(organization=organization, name=AGENT_NAME).first()
        if agent is None:
            agent = agent_services.create_agent(
                organization=organization,
                actor=actor,
                name=AGENT_NAME,
                boards=[board],
                is_board_lead=True,
                description="Demo agent: pulls work with its bearer token.",
            )
            _token, result["agent_token"] = agent_services.issue_agent_token(
                agent=agent, actor=actor, name="demo"
            )
        elif rotate:
            for token in agent.tokens.filter(revoked_at__isnull=True):
                agent_services.revoke_agent_token(token=token, actor=actor)
            _token, result["agent_token"] = agent_services.issue_agent_token(
                agent=agent, actor=actor, name="demo"
            )

        webhook = BoardWebhook.objects.filter(board=board, description=WEBHOOK_DESCRIPTION).first()
        if webhook is None:
            webhook, result["webhook_secret"] = webhook_services.create_webhook(
                board=board,
                actor=actor,
                description=WEBHOOK_DESCRIPTION,
                target_agent=agent,
            )
        elif rotate:
            result["webhook_secret"] = webhook_services.rotate_webhook_secret(
                webhook=webhook, actor=actor, grace_seconds=0
            )

        return {
            "base_url": settings.PUBLIC_BASE_URL,
            "organization_id": organization.pk,
            "board_id": board.pk,
            "webhook_id": webhook.pk,
            "webhook_url": webhook_services.webhook_url(webhook),
            "agent_id": agent.pk,
            "admin_username": admin.get_username(),
            **result,
        }

    def _ensure_admin(self) -> tuple[Any, str | None]:
        User = get_user_model()
        admin = User.objects.filter(username=ADMIN_USERNAME).first()
        if admin is not None:
            return admin, None
        password = os.environ.get("MC_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        admin = User.objects.create_superuser(username=ADMIN_USERNAME, email="", password=password)
        # Only a generated password is echoed; one the operator chose is theirs already.
        return admin, None if os.environ.get("MC_ADMIN_PASSWORD") else password

    def _reset_admin_password(self) -> str:
        admin = get_user_model().objects.get(username=ADMIN_USERNAME)
        password = os.environ.get("MC_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        admin.set_password(password)
        admin.save(update_fields=["password"])
        return password

    def _print_human(self, result: dict[str, Any]) -> None:
        """What exists, then the secrets issued by this run last, in a frame: `make run` prints
        this after the migration output, and the server's log follows it, so the one thing that
        cannot be shown again must be the easiest to find."""
        write = self.stdout.write
        base = settings.PUBLIC_BASE_URL
        write("")
        write("Mission Control demo")
        write(f"  open           {base}/  (API docs: {base}/api/v1/docs/)")
        write(f"  board          {base}/boards/{result['board_id']}/")
        write(f"  webhook URL    {result['webhook_url']}")
        write(f"  admin user     {result['admin_username']}")
        write("  lost the admin password? python manage.py demo --reset-admin-password")
        secrets_issued = [
            (label, result[key])
            for key, label in (
                ("admin_password", "admin password"),
                ("agent_token", "agent token"),
                ("webhook_secret", "webhook secret"),
            )
            if key in result
        ]
        if not secrets_issued:
            write("  (already set up; secrets were shown on the first run; --rotate-secrets issues new ones)")
            return
        self._print_framed(
            "Shown once: copy these now (only digests or ciphertexts are kept)",
            [f"{label:<15}{value}" for label, value in secrets_issued],
        )

    def _print_framed(self, title: str, lines: list[str]) -> None:
        width = max(len(title), *(len(line) for line in lines))
        rule = "+" + "-" * (width + 2) + "+"
        self.stdout.write("")
        self.stdout.write(rule)
        self.stdout.write(f"| {title:<{width}} |")
        self.stdout.write(rule)
        for line in lines:
            self.stdout.write(f"| {line:<{width}} |")
        self.stdout.write(rule)
        self.stdout.write("")
