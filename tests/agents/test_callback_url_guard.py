"""An agent's callback URL is checked when saved with the guard every push runs before sending.

The list of URLs is the send-time guard's own (tests/outbound_targets.py): loopback, private,
link-local and metadata addresses, also carried in IPv6 (mapped, 6to4, NAT64), and credentials.
"""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from agents import services
from agents.models import Agent
from core.actors import Actor
from infra.exceptions import DomainError
from tests.factories import AgentFactory
from tests.outbound_targets import REFUSED_TARGET_URLS

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", REFUSED_TARGET_URLS)
def test_the_service_refuses_every_internal_target(organization, user, url):
    with pytest.raises(DomainError) as refused:
        services.create_agent(
            organization=organization, actor=Actor.for_user(user), name="pusher", callback_url=url
        )
    assert refused.value.code == "unsafe_target"
    assert not Agent.objects.filter(name="pusher").exists()


@pytest.mark.parametrize("url", REFUSED_TARGET_URLS)
def test_the_api_answers_a_clear_400_on_create_and_update(owner_api, organization, url):
    response = owner_api.post("/api/v1/agents/", {"name": "pusher", "callback_url": url}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] in {"unsafe_target", "invalid"}
    assert "callback" in error["message"].lower() or "callback_url" in error.get("fields", {})
    agent = AgentFactory(organization=organization, name="existing", callback_url="")
    response = owner_api.patch(f"/api/v1/agents/{agent.pk}/", {"callback_url": url}, format="json")
    assert response.status_code == 400
    agent.refresh_from_db()
    assert agent.callback_url == ""


def test_the_refusal_names_the_reason(owner_api):
    response = owner_api.post(
        "/api/v1/agents/", {"name": "pusher", "callback_url": "http://169.254.169.254/latest/"}, format="json"
    )
    assert response.json()["error"] == {
        "code": "unsafe_target",
        "message": "The callback URL is refused: The host '169.254.169.254' resolves to a private, "
        "loopback, link-local or reserved address; add it to DELIVERY_ALLOWED_HOSTS if this is intended.",
    }


@pytest.mark.parametrize(
    "url",
    [
        "https://8.8.8.8/hook",
        "https://[2606:4700::1111]/hook",
        "https://[2002:808:808::1]/hook",  # 6to4 carrying a public address
        "https://agent.invalid/hook",  # does not resolve (yet): the send-time check still runs
    ],
)
def test_public_and_not_yet_resolvable_targets_are_saved(organization, user, url):
    agent = services.create_agent(
        organization=organization, actor=Actor.for_user(user), name="pusher", callback_url=url
    )
    assert agent.callback_url == url


def test_the_allowlist_lets_a_local_receiver_through(organization, user, settings):
    settings.DELIVERY_ALLOWED_HOSTS = ["127.0.0.1"]
    agent = services.create_agent(
        organization=organization,
        actor=Actor.for_user(user),
        name="local",
        callback_url="http://127.0.0.1:18299/hook",
    )
    assert agent.callback_url == "http://127.0.0.1:18299/hook"


def test_the_page_form_shows_the_refusal_on_the_field(user, organization):
    client = Client()
    client.force_login(user)
    response = client.post(
        "/agents/new/",
        {"organization": organization.pk, "name": "pusher", "callback_url": "http://[64:ff9b::7f00:1]/"},
    )
    assert response.status_code == 200
    assert "callback_url" in response.context["form"].errors
    assert not Agent.objects.filter(name="pusher").exists()


def test_the_admin_form_shows_the_refusal_on_the_field(admin_client, organization):
    response = admin_client.post(
        "/admin/agents/agent/add/",
        {
            "organization": organization.pk,
            "name": "pusher",
            "callback_url": "http://10.0.0.8/",
            "capabilities": "[]",
        },
    )
    assert response.status_code == 200
    assert "callback_url" in response.context["adminform"].form.errors
    assert not Agent.objects.filter(name="pusher").exists()
