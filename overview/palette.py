"""What the command palette may offer a person: its actions and their choices (reads only).

Read when the palette is first opened (static/js/palette.js), never while rendering a page, so no
page pays for it. An action is listed only where the person's role lets the service run it: the
same roles `boards.services`, `webhooks.services` and `gateways.services` check, so the palette
never offers what the page would refuse. The writes go to the pages' own endpoints.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from agents.models import Agent, AgentStatus
from boards.models import Board, TaskStatus
from core.models import Membership, Role
from gateways.models import GatewayAgent

# Enough to pick from by typing; a larger organization narrows by typing in the palette.
MAX_CHOICES = 200


def _url(name: str, *args: int) -> str:
    return reverse(name, args=args)


def palette_choices(user) -> dict[str, Any]:
    """The actions `user` may run from the palette, with what each needs to be chosen from."""
    memberships = list(Membership.objects.filter(user=user).only("organization_id", "role"))
    operator_orgs = [m.organization_id for m in memberships if m.has_role(Role.OPERATOR)]
    admin_orgs = {m.organization_id for m in memberships if m.has_role(Role.ADMIN)}

    boards = list(
        Board.objects.filter(organization_id__in=operator_orgs, archived=False)
        .only("id", "name", "organization_id")
        .order_by("name", "id")[:MAX_CHOICES]
    )
    agents = Agent.objects.filter(organization_id__in=operator_orgs, status=AgentStatus.ACTIVE)
    people = Membership.objects.filter(organization_id__in=operator_orgs).select_related("user")
    gateway_agents = list(
        GatewayAgent.objects.active()
        .filter(gateway__organization_id__in=operator_orgs)
        .select_related("gateway")
        .order_by("gateway__name", "agent_key")[:MAX_CHOICES]
    )

    actions = []
    if boards:
        actions += [
            {"id": "new-task", "label": "New task"},
            {"id": "assign", "label": "Assign a task"},
            {"id": "move", "label": "Move a task"},
        ]
    if gateway_agents:
        actions.append({"id": "wake", "label": "Wake an agent"})
    if any(b.organization_id in admin_orgs for b in boards):
        actions.append({"id": "create-webhook", "label": "Create a webhook"})

    return {
        "actions": actions,
        "boards": [
            {
                "id": b.pk,
                "label": b.name,
                "organization": b.organization_id,
                "new_task_url": _url("boards:task-create", b.pk),
                "webhook_url": (
                    _url("webhooks:board-webhooks", b.pk) if b.organization_id in admin_orgs else ""
                ),
            }
            for b in boards
        ],
        "statuses": [{"value": value, "label": label} for value, label in TaskStatus.choices],
        "assignees": [
            {"value": "", "label": "Nobody", "organization": None},  # any organization
            *(
                {"value": f"agent:{a.pk}", "label": f"Agent · {a.name}", "organization": a.organization_id}
                for a in agents.order_by("name")[:MAX_CHOICES]
            ),
            *(
                {
                    "value": f"user:{m.user_id}",
                    "label": m.user.get_username(),
                    "organization": m.organization_id,
                }
                for m in people.order_by("user__username")[:MAX_CHOICES]
            ),
        ],
        "gateway_agents": [
            {
                "label": f"{row.name or row.agent_key} on {row.gateway.name}",
                "wake_url": _url("gateways:gateway-agent-wake", row.gateway_id, row.pk),
            }
            for row in gateway_agents
        ],
    }
