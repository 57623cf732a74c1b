"""A small populated world for the security tests: one of every object in a first organization,
the six principals of the permission matrix, and the credentials each one uses.

Object names carry MARKER so a test can tell whether a response leaked something of the first
organization to a member of another one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.test import Client

from activity.models import ActivityEvent
from agents.models import Agent, AgentToken
from agents.services import issue_agent_token
from boards.models import Approval, Tag, Task, TaskDependency
from chat.models import ChatMessage
from core.actors import Actor
from core.models import Organization, Role
from tests.factories import (
    AgentFactory,
    BoardFactory,
    MembershipFactory,
    OrganizationFactory,
    TagFactory,
    TaskFactory,
    UserFactory,
)

MARKER = "zqxacme"  # in every first-organization name a foreign member must never see
PRINCIPALS = ("anonymous", "viewer", "operator", "admin", "agent", "outsider")


@dataclass
class World:
    organization: Organization
    other_organization: Organization
    users: dict[str, Any]
    board: Any
    task: Task
    other_task: Task
    comment: ChatMessage
    tag: Tag
    approval: Approval
    event: ActivityEvent
    agent: Agent
    agent_token: AgentToken
    agent_raw_token: str
    personal_token: Any = None
    personal_raw_token: str = ""
    webhook: Any = None
    webhook_secret: str | None = None
    payload: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def client(self, principal: str, *, enforce_csrf: bool = False) -> Client:
        """A Django test client acting as the principal (session login, or the agent's bearer)."""
        if principal == "agent":
            bearer = f"Bearer {self.agent_raw_token}"
            return Client(enforce_csrf_checks=enforce_csrf, HTTP_AUTHORIZATION=bearer)
        client = Client(enforce_csrf_checks=enforce_csrf)
        if principal != "anonymous":
            client.force_login(self.users[principal])
        return client


def build_world() -> World:
    organization = OrganizationFactory(name=f"Acme {MARKER}", slug="acme")
    other = OrganizationFactory(name="Globex", slug="globex")
    users = {}
    for principal, role, org in (
        ("admin", Role.ADMIN, organization),
        ("operator", Role.OPERATOR, organization),
        ("viewer", Role.VIEWER, organization),
        ("outsider", Role.ADMIN, other),
    ):
        users[principal] = UserFactory(username=principal)
        MembershipFactory(
            organization=organization if org is organization else other, user=users[principal], role=role
        )
    admin = users["admin"]
    board = BoardFactory(organization=organization, name=f"Board {MARKER}", slug="launch", created_by=admin)
    BoardFactory(organization=other, name="Globex board", slug="globex-board")
    TagFactory(organization=other, name="globex-tag")
    tag = TagFactory(organization=organization, name=f"tag{MARKER}")
    task = TaskFactory(board=board, title=f"Task {MARKER}", description=f"Description {MARKER}")
    other_task = TaskFactory(board=board, title=f"Other {MARKER}")
    TaskDependency.objects.create(task=task, depends_on=other_task)
    # A comment: a message of the task's thread (its one conversation).
    comment = ChatMessage.objects.create(
        board=board, task=task, author_user=admin, author_label=admin.username, body=f"Comment {MARKER}"
    )
    approval = Approval.objects.create(task=task, requested_by_user=admin, reason=f"Reason {MARKER}")
    # Other organization's agents first, so the agent's id differs from its token's (a mix-up of
    # the two in a test must not pass by coincidence).
    for n in range(3):
        AgentFactory(organization=other, name=f"globex-agent-{n}")
    agent = AgentFactory(organization=organization, name=f"agent-{MARKER}")
    agent.boards.add(board)
    task.assignee_agent = agent
    task.save(update_fields=["assignee_agent"])
    token, raw = issue_agent_token(agent=agent, actor=Actor.for_user(admin), name="matrix")
    event = ActivityEvent.objects.filter(organization=organization).order_by("-id").first()
    if event is None or event.board_id is None:
        event = ActivityEvent.objects.create(
            organization=organization,
            board=board,
            actor_kind="system",
            actor_label="system",
            verb="task.created",
            target_type="task",
            target_id=str(task.pk),
            detail={"title": task.title},
        )
    world = World(
        organization=organization,
        other_organization=other,
        users=users,
        board=board,
        task=task,
        other_task=other_task,
        comment=comment,
        tag=tag,
        approval=approval,
        event=event,
        agent=agent,
        agent_token=token,
        agent_raw_token=raw,
    )
    _add_personal_token(world)
    _add_webhooks(world)
    _add_alerts(world)
    _add_chat(world)
    _add_invitation(world)
    _add_organization_parts(world)
    _add_gateway(world)
    _add_standup(world)
    return world


def _add_standup(world: World) -> None:
    """Yesterday's standup of the first organization's board (the API's detail route)."""
    from datetime import timedelta

    from django.utils import timezone

    from standups.services import post_standup

    day = timezone.now().date() - timedelta(days=1)
    world.extra["standup"] = post_standup(organization=world.organization, board=world.board, day=day)


def _add_organization_parts(world: World) -> None:
    """A board group of the first organization, and the viewer's membership (for /members/<pk>)."""
    from boards.services import create_board_group
    from core.models import Membership

    world.extra["board_group"] = create_board_group(
        organization=world.organization, actor=Actor.for_user(world.users["admin"]), name=f"Group {MARKER}"
    )
    world.extra["membership"] = Membership.objects.get(
        organization=world.organization, user=world.users["viewer"]
    )


def _add_gateway(world: World) -> None:
    """A gateway of the first organization with one queued command (no supervisor runs here)."""
    from gateways.services import (
        create_gateway,
        record_approval_requested,
        request_command,
        sync_gateway_agents,
    )

    gateway = create_gateway(
        actor=Actor.for_user(world.users["admin"]),
        organization=world.organization,
        name=f"Gateway {MARKER}",
        url="ws://127.0.0.1:9/",
        token=f"token-{MARKER}",
    )
    command, _ = request_command(actor=Actor.for_user(world.users["admin"]), gateway=gateway, method="health")
    (gateway_agent,) = sync_gateway_agents(gateway_id=gateway.pk, listed={"agents": [{"id": "main"}]})
    approval = record_approval_requested(
        gateway_id=gateway.pk,
        payload={"id": "approval-1", "request": {"command": f"rm {MARKER}", "agentId": "main"}},
    )
    world.extra.update(
        gateway=gateway, gateway_command=command, gateway_agent=gateway_agent, gateway_approval=approval
    )


def _add_chat(world: World) -> None:
    """A chat message by the operator that mentions the admin (so the admin has a notification)."""
    from chat.services import post_message

    message = post_message(
        board=world.board, actor=Actor.for_user(world.users["operator"]), body=f"@admin chat {MARKER}"
    )
    notification = world.users["admin"].notifications.get()
    world.extra.update(chat_message=message, notification=notification)


def _add_invitation(world: World) -> None:
    """A pending invitation of the first organization (its raw token is never needed here)."""
    from teams.services import create_invitation

    invitation, _ = create_invitation(
        organization=world.organization,
        actor=Actor.for_user(world.users["admin"]),
        email=f"{MARKER}@example.com",
        role=Role.OPERATOR,
        send_email=False,
    )
    world.extra["invitation"] = invitation


def _add_personal_token(world: World) -> None:
    """The admin's personal API token (`Authorization: Token mcp_…`), when that feature exists."""
    try:
        from core.services import create_personal_token
    except ImportError:  # pragma: no cover - before the boards engineer's tokens landed
        return
    world.personal_token, world.personal_raw_token = create_personal_token(
        user=world.users["admin"], name=f"script {MARKER}"
    )


def _add_webhooks(world: World) -> None:
    from webhooks.services import create_webhook, ingest_webhook_payload

    webhook, secret = create_webhook(
        board=world.board,
        actor=Actor.for_user(world.users["admin"]),
        description=f"Hook {MARKER}",
        target_agent=world.agent,
    )
    result = ingest_webhook_payload(
        webhook=webhook,
        body=f'{{"title": "{MARKER}"}}'.encode(),
        content_type="application/json",
        headers={"Content-Type": "application/json"},
        source_ip="127.0.0.1",
    )
    world.webhook, world.webhook_secret, world.payload = webhook, secret, result.payload
    _add_webhook_rules(world)
    _add_automations(world)
    _add_deliveries(world)


def _add_webhook_rules(world: World) -> None:
    from webhook_rules.services import apply_preset

    rules = apply_preset(webhook=world.webhook, actor=Actor.for_user(world.users["admin"]), preset="ci")
    world.extra["rule"] = rules[0]


def _add_automations(world: World) -> None:
    from automations import services as automation_services
    from automations.models import Pipeline

    admin = Actor.for_user(world.users["admin"])
    chat = [{"action": "post_chat", "body": f"Chat {MARKER}"}]
    schedule = automation_services.create_schedule(
        board=world.board, actor=admin, name=f"Schedule {MARKER}", cron_expression="0 9 * * *", actions=chat
    )
    automation = automation_services.create_automation(
        board=world.board, actor=admin, name=f"Automation {MARKER}", trigger="task_done", actions=chat
    )
    task_template = automation_services.create_task_template(
        board=world.board, actor=admin, name=f"Template {MARKER}", title="Review"
    )
    pipeline_template = automation_services.create_pipeline_template(
        board=world.board, actor=admin, name=f"Pipeline {MARKER}", steps=[{"key": "a", "title": "A"}]
    )
    pipeline = Pipeline.objects.create(
        board=world.board, template=pipeline_template, name=f"Pipeline {MARKER}"
    )
    world.extra.update(
        schedule=schedule,
        automation=automation,
        task_template=task_template,
        pipeline_template=pipeline_template,
        pipeline=pipeline,
    )


def _add_deliveries(world: World) -> None:
    """A subscription with one failed delivery and its attempt (rows, not sends)."""
    from core.encryption import encrypt_secret
    from deliveries.models import Delivery, DeliveryAttempt, Subscription

    subscription = Subscription.objects.create(
        organization=world.organization,
        board=world.board,
        description=f"Subscription {MARKER}",
        target_url="https://hooks.example.com/mc",
        secret_ciphertext=encrypt_secret("whsec_" + "A" * 32),
        created_by=world.users["admin"],
    )
    delivery = Delivery.objects.create(
        organization=world.organization,
        board=world.board,
        subscription=subscription,
        target_url=subscription.target_url,
        event_type="task.created",
        payload={"marker": MARKER},
        status="dead",
    )
    attempt = DeliveryAttempt.objects.create(
        delivery=delivery, number=1, response_status=500, error_message="boom"
    )
    world.extra.update(subscription=subscription, delivery=delivery, attempt=attempt)


def _add_alerts(world: World) -> None:
    """An alert rule with one firing incident (a row, not an evaluation)."""
    from django.utils import timezone

    from alerts.models import Incident
    from alerts.services import create_rule

    rule = create_rule(
        actor=Actor.for_user(world.users["admin"]),
        organization=world.organization,
        name=f"Rule {MARKER}",
        condition="approval_waiting",
        params={"hours": 2},
    )
    incident = Incident.objects.create(
        rule=rule,
        organization=world.organization,
        board=world.board,
        subject_key="approval:1",
        subject_label=f"Incident {MARKER}",
        summary=f"Summary {MARKER}",
        opened_at=timezone.now(),
    )
    from usage.models import Budget

    budget = Budget.objects.create(organization=world.organization, limit_micros=50_000_000)
    world.extra.update(alert_rule=rule, incident=incident, budget=budget)
