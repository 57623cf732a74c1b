"""The command palette's actions: offered only where the person's role lets the service run them,
and each run through the page endpoint the palette posts to (the same service as the page)."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from boards.models import TaskStatus
from core.actors import Actor
from gateways import services as gateway_services
from gateways.models import GatewayAgent, GatewayCommand
from tests.factories import AgentFactory, BoardFactory, TaskFactory

pytestmark = [pytest.mark.django_db, pytest.mark.backend_independent]

URL = "/overview/palette/"


def _choices(client, person) -> dict:
    client.force_login(person)
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    return response.json()


def _action_ids(body: dict) -> set[str]:
    return {action["id"] for action in body["actions"]}


@pytest.fixture
def gateway_agent(organization, user) -> GatewayAgent:
    gateway = gateway_services.create_gateway(
        actor=Actor.for_user(user),
        organization=organization,
        name="studio",
        url="ws://127.0.0.1:18789",
        token="t",
    )
    return GatewayAgent.objects.create(gateway=gateway, agent_key="main", name="Main")


def test_a_viewer_is_offered_no_action(client, viewer, board, gateway_agent):
    body = _choices(client, viewer)
    assert body["actions"] == [] and body["boards"] == [] and body["gateway_agents"] == []


def test_an_operator_is_offered_task_actions_and_wake_but_not_webhooks(
    client, teammate, board, gateway_agent
):
    body = _choices(client, teammate)
    assert _action_ids(body) == {"new-task", "assign", "move", "wake"}
    assert [b["label"] for b in body["boards"]] == ["Launch"]
    assert body["boards"][0]["webhook_url"] == ""
    assert body["gateway_agents"] == [
        {
            "label": "Main on studio",
            "wake_url": f"/gateways/{gateway_agent.gateway_id}/agents/{gateway_agent.pk}/wake",
        }
    ]


def test_an_admin_is_offered_webhooks_and_wake_only_with_a_gateway_agent(client, user, board):
    body = _choices(client, user)
    assert _action_ids(body) == {"new-task", "assign", "move", "create-webhook"}
    assert body["boards"][0]["webhook_url"] == f"/webhooks/boards/{board.pk}/"


def test_archived_boards_and_other_organizations_are_not_offered(
    client, user, board, outsider, other_organization
):
    BoardFactory(organization=board.organization, name="Old", slug="old", archived=True)
    BoardFactory(organization=other_organization, name="Globex board", slug="gx")
    AgentFactory(organization=other_organization, name="their-bot")
    body = _choices(client, user)
    assert [b["label"] for b in body["boards"]] == ["Launch"]
    assert "Agent · their-bot" not in [a["label"] for a in body["assignees"]]


def test_anonymous_callers_are_sent_to_log_in(client):
    assert client.get(URL).status_code == 302


# --- the endpoints the palette posts to ---------------------------------------------------------


def test_assign_gives_the_task_to_an_agent_and_says_so(client, teammate, board):
    agent = AgentFactory(organization=board.organization, name="release-bot")
    task = TaskFactory(board=board, title="Ship it")
    client.force_login(teammate)
    response = client.post(f"/boards/{board.pk}/tasks/{task.pk}/assign/", {"assignee": f"agent:{agent.pk}"})
    assert response.status_code == 302 and response["Location"] == f"/boards/{board.pk}/tasks/{task.pk}/"
    task.refresh_from_db()
    assert task.assignee_agent == agent
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["“Ship it” is assigned to release-bot."]


def test_assign_refuses_someone_from_another_organization(client, teammate, board, outsider):
    task = TaskFactory(board=board)
    client.force_login(teammate)
    response = client.post(f"/boards/{board.pk}/tasks/{task.pk}/assign/", {"assignee": f"user:{outsider.pk}"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.assignee_user is None
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "That assignee is not in this organization."
    ]


def test_a_viewer_cannot_assign(client, viewer, board, teammate):
    task = TaskFactory(board=board)
    client.force_login(viewer)
    client.post(f"/boards/{board.pk}/tasks/{task.pk}/assign/", {"assignee": f"user:{teammate.pk}"})
    task.refresh_from_db()
    assert task.assignee_user is None


def test_move_from_the_palette_lands_on_the_task(client, teammate, board):
    task = TaskFactory(board=board)
    client.force_login(teammate)
    response = client.post(
        f"/boards/{board.pk}/tasks/{task.pk}/move/", {"status": "in_progress", "next": "task"}
    )
    assert response["Location"] == f"/boards/{board.pk}/tasks/{task.pk}/"
    task.refresh_from_db()
    assert task.status == TaskStatus.IN_PROGRESS


def test_wake_queues_the_gateways_wake_for_that_agent_once_per_key(client, teammate, gateway_agent):
    client.force_login(teammate)
    url = f"/gateways/{gateway_agent.gateway_id}/agents/{gateway_agent.pk}/wake"
    first = client.post(url, {"idempotency_key": "k1"})
    client.post(url, {"idempotency_key": "k1"})  # a double Enter
    assert first.status_code == 302
    command = GatewayCommand.objects.get()
    assert command.method == "agent"
    assert command.params["agentId"] == "main"
    assert command.params["message"] == gateway_services.WAKE_MESSAGE


def test_a_viewer_cannot_wake(client, viewer, gateway_agent):
    client.force_login(viewer)
    response = client.post(f"/gateways/{gateway_agent.gateway_id}/agents/{gateway_agent.pk}/wake")
    assert response.status_code == 403
    assert not GatewayCommand.objects.exists()


def test_a_retired_agent_is_not_woken(client, teammate, gateway_agent):
    from django.utils import timezone

    gateway_agent.retired_at = timezone.now()
    gateway_agent.save()
    client.force_login(teammate)
    client.post(f"/gateways/{gateway_agent.gateway_id}/agents/{gateway_agent.pk}/wake")
    assert not GatewayCommand.objects.exists()


def test_a_wake_text_has_a_limit(teammate, gateway_agent):
    from infra.exceptions import DomainError

    actor = Actor.for_user(teammate)
    limit = gateway_services.MAX_MESSAGE_LENGTH
    gateway_services.wake_gateway_agent(
        actor=actor, gateway_agent=gateway_agent, idempotency_key="", message="x" * limit
    )
    with pytest.raises(DomainError):
        gateway_services.wake_gateway_agent(
            actor=actor, gateway_agent=gateway_agent, idempotency_key="", message="x" * (limit + 1)
        )
