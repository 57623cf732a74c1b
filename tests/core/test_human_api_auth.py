"""Every human API accepts a personal token (it acts as the person) and refuses agents."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from activity.models import ActivityEvent
from agents import services as agent_services
from core import services as core_services
from core.actors import Actor
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db

# One list endpoint per human resource, in every app that has a human API.
HUMAN_LISTS = [
    "/api/v1/organizations/",
    "/api/v1/boards/",
    "/api/v1/tags/",
    "/api/v1/tasks/",
    "/api/v1/approvals/",
    "/api/v1/activity/",
    "/api/v1/personal-tokens/",
    "/api/v1/agents/",
    "/api/v1/webhooks/",
    "/api/v1/subscriptions/",
    "/api/v1/deliveries/",
]


@pytest.fixture
def token_client(user) -> APIClient:
    _token, raw = core_services.create_personal_token(user=user, name="ci")
    client = APIClient(enforce_csrf_checks=True)  # a token needs no CSRF: no cookie is involved
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


@pytest.fixture
def agent_client(organization, board, user) -> APIClient:
    agent = AgentFactory(organization=organization, name="bot")
    _token, raw = agent_services.issue_agent_token(agent=agent, actor=Actor.for_user(user), name="t")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.mark.parametrize("path", HUMAN_LISTS)
def test_a_personal_token_reads_every_human_api(token_client, board, path):
    response = token_client.get(path)
    assert response.status_code == 200, (path, response.content[:200])


@pytest.mark.parametrize("path", HUMAN_LISTS)
def test_an_agent_token_is_refused_on_every_human_api(agent_client, path):
    assert agent_client.get(path).status_code in (401, 403), path


@override_settings(DELIVERY_ALLOWED_HOSTS=["hooks.internal.test"])
def test_a_personal_token_writes_in_every_app(token_client, organization, board):
    agent = token_client.post(
        "/api/v1/agents/", {"organization": organization.pk, "name": "scout"}, format="json"
    )
    assert agent.status_code == 201, agent.content
    webhook = token_client.post("/api/v1/webhooks/", {"board": board.pk, "description": "ci"}, format="json")
    assert webhook.status_code == 201, webhook.content
    subscription = token_client.post(
        "/api/v1/subscriptions/",
        {"organization": organization.pk, "target_url": "https://hooks.internal.test/hook"},
        format="json",
    )
    assert subscription.status_code == 201, subscription.content
    task = token_client.post("/api/v1/tasks/", {"board": board.pk, "title": "From a script"}, format="json")
    assert task.status_code == 201, task.content


def test_creating_a_board_through_the_api_records_one_event(token_client, organization):
    response = token_client.post(
        "/api/v1/boards/",
        {"organization": organization.pk, "name": "Ops", "agents_can_create_tasks": False},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["agents_can_create_tasks"] is False
    events = ActivityEvent.objects.filter(board_id=response.json()["id"])
    assert list(events.values_list("verb", flat=True)) == ["board.created"]


def test_subscription_rules_live_in_the_service(organization, viewer):
    """A viewer is refused by the service itself, whichever page or API calls it."""
    from deliveries import outbound
    from infra.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        outbound.create_subscription(
            actor=Actor.for_user(viewer),
            organization=organization,
            target_url="https://hooks.internal.test/hook",
        )
