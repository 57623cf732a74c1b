"""The first-run checklist of the overview: what a new admin still has to do (reads only).

Every step is computed from the rows the real thing leaves behind, never from a click on the
checklist, so a step done through the API, MCP, a gateway or another admin is checked off too:

- a board: a board that is not archived;
- a connected agent: an agent token that was used (the REST agent API and `/mcp` both record a
  token's use), or an agent an OpenClaw gateway listed;
- a signed test webhook received: a payload stored for a webhook that has a secret (ingest stores
  nothing whose signature failed, so a stored payload there was signed);
- an invited colleague: an invitation created, or a second member.

Shown to admins (the steps are admin work) until every step is done or they dismiss it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from agents.models import AgentToken
from boards.models import Board
from core.models import Membership, Organization, Role
from gateways.models import GatewayAgent
from overview.models import OnboardingDismissal
from teams.models import Invitation
from webhooks.models import WebhookPayload

# The event prefixes that may check a step off: the overview re-reads the checklist on them.
LIVE_PREFIXES = ("board.", "agent.", "gateway.", "webhook.", "invitation.", "member.")


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    done: bool
    done_text: str
    todo_text: str
    link_label: str
    url: str


@dataclass(frozen=True)
class Checklist:
    steps: list[Step]

    @property
    def done_count(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def complete(self) -> bool:
        return all(step.done for step in self.steps)


def checklist(organization: Organization) -> Checklist:
    """The four steps for `organization`, each with whether it really happened and its link."""
    org_id = organization.pk
    first_board = Board.objects.filter(organization_id=org_id, archived=False).order_by("id").first()
    agent_connected = (
        AgentToken.objects.filter(agent__organization_id=org_id, last_used_at__isnull=False).exists()
        or GatewayAgent.objects.filter(gateway__organization_id=org_id).exists()
    )
    webhook_received = (
        WebhookPayload.objects.filter(board__organization_id=org_id)
        .exclude(webhook__secret_ciphertext="")
        .exists()
    )
    colleague = (
        Invitation.objects.filter(organization_id=org_id).exists()
        or Membership.objects.filter(organization_id=org_id).count() > 1
    )
    if first_board is not None:
        webhooks_url = reverse("webhooks:board-webhooks", args=[first_board.pk])
    else:
        webhooks_url = reverse("webhooks:webhook-index")
    return Checklist(
        steps=[
            Step(
                "board",
                "Create a board",
                first_board is not None,
                "A board holds the work.",
                "Boards hold the tasks people and agents work on.",
                "Create a board",
                reverse("boards:board-create"),
            ),
            Step(
                "agent",
                "Connect an agent",
                agent_connected,
                "An agent has called in.",
                "Add an agent and let it call the API or /mcp with its token, or add an OpenClaw gateway.",
                "Add an agent",
                reverse("agents:agent-create"),
            ),
            Step(
                "webhook",
                "Receive a signed webhook",
                webhook_received,
                "A signed payload arrived.",
                "Create a webhook and send it a test payload signed with its secret.",
                "Create a webhook",
                webhooks_url,
            ),
            Step(
                "colleague",
                "Invite a colleague",
                colleague,
                "A colleague is invited.",
                "Work is better shared: invite someone to this organization.",
                "Invite a colleague",
                reverse("teams:members", args=[org_id]),
            ),
        ]
    )


def checklist_for(
    user, organization: Organization | None, *, keep_complete: bool = False
) -> Checklist | None:
    """The checklist to show `user` on the overview, or None: only admins, only until every step
    is done, and not after they dismissed it. `keep_complete`: the live refresh of a page that
    showed it, so the last step turns green before the person's eyes instead of vanishing."""
    if organization is None:
        return None
    membership = Membership.objects.filter(organization=organization, user=user).first()
    if membership is None or not membership.has_role(Role.ADMIN):
        return None
    if OnboardingDismissal.objects.filter(user=user, organization=organization).exists():
        return None
    found = checklist(organization)
    return None if found.complete and not keep_complete else found
