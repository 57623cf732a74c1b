"""Data for the benchmarks, made in the benchmark database (production settings from the env).

`python -m bench.seed <command> [args]` prints one JSON line. Bulk inserts stand in for the
services where the services' per-row activity events are not what is being measured.
"""

from __future__ import annotations

import json
import sys

import django
from django.conf import settings


def _setup() -> None:
    django.setup()


def base() -> dict:
    """An organization, a user with a session, a board, a signed webhook."""
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    from boards.services import create_board
    from core.actors import Actor
    from core.models import Membership, Organization, Role
    from webhooks.services import create_webhook

    user = get_user_model().objects.create_user(username="bench", password="bench-password-1234")
    organization = Organization.objects.create(name="Bench", slug="bench")
    Membership.objects.create(organization=organization, user=user, role=Role.ADMIN)
    actor = Actor.for_user(user)
    board = create_board(organization=organization, actor=actor, name="Bench board")
    webhook, secret = create_webhook(board=board, actor=actor, description="bench")
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    # The configured backend (infra.login_protection's): a session naming another is anonymous.
    session["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[0]
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    return {
        "organization_id": organization.pk,
        "board_id": board.pk,
        "webhook_id": webhook.pk,
        "secret": secret,
        "session_key": session.session_key,
    }


def _bench_board():
    from boards.models import Board

    return Board.objects.select_related("organization").get(organization__slug="bench")


def _add_agents(count: int) -> list[str]:
    """`count` more agents on the bench board, each with one token; return the raw tokens."""
    from agents.models import Agent, AgentToken
    from agents.tokens import new_token, token_digest

    board = _bench_board()
    organization = board.organization
    existing = Agent.objects.filter(organization=organization).count()
    raw_tokens: list[str] = []
    batch = 1000
    for start in range(existing, existing + count, batch):
        size = min(batch, existing + count - start)
        created = Agent.objects.bulk_create(
            [Agent(organization=organization, name=f"bench-agent-{start + i}") for i in range(size)]
        )
        tokens = []
        for agent in created:
            public_id, raw_token = new_token()
            raw_tokens.append(raw_token)
            tokens.append(AgentToken(agent=agent, public_id=public_id, digest=token_digest(raw_token)))
        AgentToken.objects.bulk_create(tokens)
        Agent.boards.through.objects.bulk_create(
            [Agent.boards.through(agent_id=agent.pk, board_id=board.pk) for agent in created]
        )
    return raw_tokens


def agents(total: str) -> dict:
    """Bring the number of agents (each with one token) up to `total`; return one valid token."""
    from agents.models import Agent, AgentToken
    from agents.tokens import new_token, token_digest

    organization = _bench_board().organization
    existing = Agent.objects.filter(organization=organization).count()
    raw_tokens = _add_agents(max(0, int(total) - existing))
    if raw_tokens:
        raw_token = raw_tokens[-1]
    else:  # already enough agents: issue one more token for the newest
        agent = Agent.objects.filter(organization=organization).order_by("-id").first()
        public_id, raw_token = new_token()
        AgentToken.objects.create(agent=agent, public_id=public_id, digest=token_digest(raw_token))
    return {"agents": Agent.objects.filter(organization=organization).count(), "token": raw_token}


def agent_tokens(count: str) -> dict:
    """`count` new agents on the bench board; every raw token (the soak's agents)."""
    return {"tokens": _add_agents(int(count))}


def tasks(total: str) -> dict:
    """Bring the bench board up to `total` tasks."""
    from boards.models import Task, TaskStatus

    board = _bench_board()
    statuses = list(TaskStatus.values)
    existing = board.tasks.count()
    Task.objects.bulk_create(
        [
            Task(board=board, title=f"Task {n}", status=statuses[n % len(statuses)], position=float(n))
            for n in range(existing, int(total))
        ],
        batch_size=2000,
    )
    return {"tasks": board.tasks.count()}


def payload_count(webhook_id: str) -> dict:
    from webhooks.models import WebhookPayload

    return {"payloads": WebhookPayload.objects.filter(webhook_id=int(webhook_id)).count()}


def _subscribe(target_url: str, event_types: list[str]) -> None:
    """One enabled bench subscription pointing at `target_url` (earlier ones switched off)."""
    from django.contrib.auth import get_user_model

    from core.actors import Actor
    from deliveries.models import Subscription
    from deliveries.outbound import create_subscription

    board = _bench_board()
    actor = Actor.for_user(get_user_model().objects.get(username="bench"))
    Subscription.objects.filter(organization=board.organization).update(enabled=False)
    create_subscription(
        actor=actor,
        organization=board.organization,
        board=board,
        target_url=target_url,
        event_types=event_types,
    )


def subscription(target_url: str, event_types: str) -> dict:
    """Subscribe `target_url` to the comma-separated `event_types` on the bench board."""
    _subscribe(target_url, event_types.split(","))
    return {"target_url": target_url}


def events(count: str, target_url: str) -> dict:
    """`count` activity events in one transaction, each fanned out to one subscription that
    points at `target_url` (earlier bench subscriptions are switched off)."""
    import time

    from django.contrib.auth import get_user_model
    from django.db import transaction

    from activity.services import record_activity
    from core.actors import Actor

    board = _bench_board()
    actor = Actor.for_user(get_user_model().objects.get(username="bench"))
    _subscribe(target_url, ["bench.event"])
    committed_at: list[float] = []
    with transaction.atomic():
        transaction.on_commit(lambda: committed_at.append(time.time()))
        for n in range(int(count)):
            record_activity(
                organization=board.organization,
                board=board,
                actor=actor,
                verb="bench.event",
                detail={"n": n},
                publish=False,
            )
    return {"events": int(count), "committed_at": committed_at[0]}


def soak_counts(webhook_id: str, event_type: str) -> dict:
    """What the soak checks against its own counts: stored payloads, activity events and
    deliveries (by status, with attempts) for one event type."""
    from django.db.models import Count, Sum

    from activity.models import ActivityEvent
    from deliveries.models import Delivery
    from webhooks.models import WebhookPayload

    deliveries = Delivery.objects.filter(event_type=event_type)
    return {
        "payloads": WebhookPayload.objects.filter(webhook_id=int(webhook_id)).count(),
        "events": ActivityEvent.objects.filter(verb=event_type).count(),
        "deliveries": deliveries.count(),
        "deliveries_by_status": dict(deliveries.values_list("status").annotate(n=Count("id")).order_by()),
        "delivery_attempts": deliveries.aggregate(n=Sum("attempt_count"))["n"] or 0,
    }


COMMANDS = {
    "base": base,
    "agents": agents,
    "agent_tokens": agent_tokens,
    "tasks": tasks,
    "payload_count": payload_count,
    "subscription": subscription,
    "events": events,
    "soak_counts": soak_counts,
}

if __name__ == "__main__":
    _setup()
    command, *arguments = sys.argv[1:]
    print(json.dumps(COMMANDS[command](*arguments)))
