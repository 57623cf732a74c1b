"""The human API for agents and tokens: members read, admins write, outsiders see nothing."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from agents.models import Agent, AgentToken
from tests.agents.factories import agent_with_token, bearer
from tests.factories import AgentFactory, BoardFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(user) -> APIClient:
    return client_for(user)


@pytest.fixture
def agent(organization, board):
    agent = AgentFactory(organization=organization, name="builder")
    agent.boards.set([board])
    return agent


def test_admin_creates_an_agent_with_boards(owner_client, organization, board):
    response = owner_client.post(
        "/api/v1/agents/",
        {"name": "scout", "boards": [board.pk], "capabilities": ["search"], "is_board_lead": True},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["organization"] == organization.pk and body["boards"] == [board.pk]
    assert body["presence"] == "offline" and body["status"] == "active"
    assert Agent.objects.get(pk=body["id"]).created_by.username == "owner"


def test_create_rejects_boards_of_another_organization_field_by_field(owner_client, other_organization):
    foreign = BoardFactory(organization=other_organization)
    response = owner_client.post("/api/v1/agents/", {"name": "x", "boards": [foreign.pk]}, format="json")
    assert response.status_code == 400
    assert "boards" in response.json()["error"]["fields"]


def test_create_rejects_a_duplicate_name_and_bad_fields(owner_client, agent):
    assert owner_client.post("/api/v1/agents/", {"name": "builder"}, format="json").status_code == 409
    bad = owner_client.post(
        "/api/v1/agents/", {"name": "", "callback_url": "ftp://x", "capabilities": ["a" * 41]}, format="json"
    )
    assert bad.status_code == 400
    assert {"name", "callback_url", "capabilities"} <= set(bad.json()["error"]["fields"])


def test_operators_and_viewers_read_but_cannot_write(teammate, viewer, agent):
    for member in (teammate, viewer):
        client = client_for(member)
        assert client.get("/api/v1/agents/").json()["count"] == 1
        assert client.post("/api/v1/agents/", {"name": "nope"}, format="json").status_code == 403
        assert client.post(f"/api/v1/agents/{agent.pk}/suspend").status_code == 403
        assert client.post(f"/api/v1/agents/{agent.pk}/tokens/", {}, format="json").status_code == 403


def test_outsiders_get_404_for_everything(outsider, agent):
    client = client_for(outsider)
    token, _raw = agent_with_token(organization=agent.organization, name="other")[1:]
    assert client.get("/api/v1/agents/").json()["count"] == 0
    assert client.get(f"/api/v1/agents/{agent.pk}/").status_code == 404
    assert client.post(f"/api/v1/agents/{agent.pk}/suspend").status_code == 404
    assert client.get(f"/api/v1/agents/{agent.pk}/tokens/").status_code == 404
    assert client.post(f"/api/v1/agent-tokens/{token.pk}/revoke").status_code == 404
    assert (
        client.post(
            "/api/v1/agents/", {"name": "x", "organization": agent.organization_id}, format="json"
        ).status_code
        == 404
    )


def test_update_suspend_resume_delete(owner_client, agent):
    changes = {"description": "hello", "boards": []}
    response = owner_client.patch(f"/api/v1/agents/{agent.pk}/", changes, format="json")
    assert response.status_code == 200 and response.json()["boards"] == []
    assert owner_client.post(f"/api/v1/agents/{agent.pk}/suspend").json()["status"] == "suspended"
    assert owner_client.post(f"/api/v1/agents/{agent.pk}/resume").json()["status"] == "active"
    assert owner_client.delete(f"/api/v1/agents/{agent.pk}/").status_code == 204
    assert not Agent.objects.filter(pk=agent.pk).exists()


def test_token_is_returned_once_and_never_listed(owner_client, agent):
    created = owner_client.post(f"/api/v1/agents/{agent.pk}/tokens/", {"name": "ci"}, format="json")
    assert created.status_code == 201
    raw = created.json()["token"]
    assert raw.startswith("mca_") and created["Cache-Control"] == "no-store"
    listing = owner_client.get(f"/api/v1/agents/{agent.pk}/tokens/")
    text = listing.content.decode()
    assert listing.json()["count"] == 1
    assert raw not in text and raw[4:20] not in text and "digest" not in text and 'token"' not in text
    assert owner_client.get(f"/api/v1/agent-tokens/{created.json()['id']}/").json()["name"] == "ci"
    assert APIClient().get("/api/v1/agent/me", **bearer(raw)).status_code == 200


def test_rotate_with_grace_then_revoke(owner_client, agent):
    created = owner_client.post(f"/api/v1/agents/{agent.pk}/tokens/", {}, format="json").json()
    url = f"/api/v1/agent-tokens/{created['id']}/rotate"
    rotated = owner_client.post(url, {"grace_seconds": 60}, format="json")
    assert rotated.status_code == 201
    new = rotated.json()
    assert new["token"] != created["token"]
    agent_client = APIClient()
    assert agent_client.get("/api/v1/agent/me", **bearer(created["token"])).status_code == 200
    assert agent_client.get("/api/v1/agent/me", **bearer(new["token"])).status_code == 200
    revoked = owner_client.post(f"/api/v1/agent-tokens/{created['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert agent_client.get("/api/v1/agent/me", **bearer(created["token"])).status_code == 401


@pytest.mark.parametrize(("grace", "expected"), [(-1, 400), (0, 201), (604800, 201), (604801, 400)])
def test_rotate_grace_boundaries(owner_client, agent, grace, expected):
    created = owner_client.post(f"/api/v1/agents/{agent.pk}/tokens/", {}, format="json").json()
    response = owner_client.post(
        f"/api/v1/agent-tokens/{created['id']}/rotate", {"grace_seconds": grace}, format="json"
    )
    assert response.status_code == expected


def test_the_api_enforces_csrf_for_sessions(user, agent):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(f"/api/v1/agents/{agent.pk}/suspend").status_code == 403
    assert Agent.objects.get(pk=agent.pk).status == "active"


@pytest.mark.parametrize("rows", [1, 40])
def test_agent_list_runs_a_constant_number_of_queries(
    owner_client, organization, board, rows, django_assert_max_num_queries
):
    for i in range(rows):
        agent = AgentFactory(organization=organization, name=f"bot-{i}")
        agent.boards.set([board])
    with django_assert_max_num_queries(6):
        response = owner_client.get("/api/v1/agents/?limit=100")
    assert response.json()["count"] == rows


def test_token_list_never_exposes_digests(owner_client, agent):
    for _ in range(3):
        owner_client.post(f"/api/v1/agents/{agent.pk}/tokens/", {}, format="json")
    digests = list(AgentToken.objects.values_list("digest", flat=True))
    text = owner_client.get(f"/api/v1/agents/{agent.pk}/tokens/").content.decode()
    assert all(d not in text for d in digests)


@pytest.mark.parametrize("huge", ["99999999999999999999", "abc"])
def test_out_of_range_or_bad_ids_are_404_never_500(owner_client, user, huge):
    assert owner_client.get(f"/api/v1/agents/{huge}/").status_code == 404
    assert owner_client.post(f"/api/v1/agents/{huge}/suspend").status_code == 404
    assert owner_client.post(f"/api/v1/agent-tokens/{huge}/revoke").status_code == 404
    assert owner_client.get(f"/agents/{huge}/").status_code == 404
    assert owner_client.post(f"/agents/tokens/{huge}/revoke/").status_code == 404
