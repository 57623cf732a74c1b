"""The overview's first-run checklist: each step checked off by what really happened (a real
agent-API call, a real signed POST to the ingest endpoint), never by a click; admins only; hidden
per person."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from rest_framework.test import APIClient

from activity.models import ActivityEvent
from agents import services as agent_services
from boards import services as board_services
from core.actors import Actor
from gateways import services as gateway_services
from gateways.models import GatewayAgent
from infra.exceptions import PermissionDenied
from overview import onboarding, services
from overview.models import OnboardingDismissal
from teams import services as team_services
from tests.factories import MembershipFactory, UserFactory
from webhooks import services as webhook_services

pytestmark = [pytest.mark.django_db, pytest.mark.backend_independent]


def _done(organization) -> dict[str, bool]:
    return {step.key: step.done for step in onboarding.checklist(organization).steps}


def test_an_empty_organization_has_four_steps_to_do_each_with_its_link(organization):
    found = onboarding.checklist(organization)
    assert [(s.key, s.done, s.url) for s in found.steps] == [
        ("board", False, "/boards/new/"),
        ("agent", False, "/agents/new/"),
        ("webhook", False, "/webhooks/"),
        ("colleague", False, f"/organizations/{organization.pk}/members/"),
    ]
    assert found.done_count == 0 and not found.complete


def test_a_board_checks_off_the_first_step_and_points_webhooks_at_it(organization, user):
    board = board_services.create_board(organization=organization, actor=Actor.for_user(user), name="Ops")
    found = onboarding.checklist(organization)
    assert found.steps[0].done and found.steps[2].url == f"/webhooks/boards/{board.pk}/"


def test_an_archived_board_does_not_count(organization, user, board):
    board_services.archive_board(board=board, actor=Actor.for_user(user))
    assert not _done(organization)["board"]


def test_an_agent_counts_once_its_token_made_a_real_call(organization, user, board):
    actor = Actor.for_user(user)
    agent = agent_services.create_agent(organization=organization, actor=actor, name="bot", boards=[board])
    _token, raw = agent_services.issue_agent_token(agent=agent, actor=actor)
    assert not _done(organization)["agent"]  # a token nobody used is not a connection
    client = APIClient()
    assert client.get("/api/v1/agent/boards", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    assert _done(organization)["agent"]


def test_an_agent_an_openclaw_gateway_listed_counts(organization, user):
    gateway = gateway_services.create_gateway(
        actor=Actor.for_user(user),
        organization=organization,
        name="studio",
        url="ws://127.0.0.1:1",
        token="t",
    )
    assert not _done(organization)["agent"]  # a gateway added is not yet a connected agent
    GatewayAgent.objects.create(gateway=gateway, agent_key="main")
    assert _done(organization)["agent"]


def _post(webhook, body: bytes, secret: str | None):
    headers = {}
    if secret:
        headers["HTTP_X_HUB_SIGNATURE_256"] = (
            "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        )
    url = f"/api/v1/boards/{webhook.board_id}/webhooks/{webhook.pk}"
    return APIClient().post(url, body, content_type="application/json", **headers)


def test_only_a_signed_payload_received_checks_off_the_webhook(organization, user, board):
    actor = Actor.for_user(user)
    unsigned, _ = webhook_services.create_webhook(board=board, actor=actor, description="open", secret="")
    signed, secret = webhook_services.create_webhook(board=board, actor=actor, description="github")
    body = json.dumps({"zen": "Keep it logically awesome."}).encode()
    assert _post(unsigned, body, None).status_code == 202
    assert not _done(organization)["webhook"]  # anyone could have sent that
    assert _post(signed, body, "not-the-secret").status_code == 403
    assert not _done(organization)["webhook"]
    assert _post(signed, body, secret).status_code == 202
    assert _done(organization)["webhook"]


def test_an_invitation_or_a_second_member_checks_off_the_colleague(
    organization, user, teammate, other_organization
):
    assert _done(organization)["colleague"]  # the teammate is a second member
    outsider_org = other_organization
    from tests.factories import MembershipFactory, UserFactory

    admin = UserFactory(username="solo")
    MembershipFactory(organization=outsider_org, user=admin, role="admin")
    assert not _done(outsider_org)["colleague"]
    team_services.create_invitation(
        organization=outsider_org, actor=Actor.for_user(admin), email="grace@example.com", send_email=False
    )
    assert _done(outsider_org)["colleague"]


# --- who sees it ---------------------------------------------------------------------------------


def test_only_admins_see_it_until_it_is_complete(organization, user, teammate, viewer):
    assert onboarding.checklist_for(user, organization) is not None
    assert onboarding.checklist_for(teammate, organization) is None
    assert onboarding.checklist_for(viewer, organization) is None
    assert onboarding.checklist_for(user, None) is None


def test_a_complete_checklist_leaves_the_page_but_stays_green_on_a_live_refresh(organization, user, teammate):
    actor = Actor.for_user(user)
    board = board_services.create_board(organization=organization, actor=actor, name="Ops")
    gateway = gateway_services.create_gateway(
        actor=actor, organization=organization, name="studio", url="ws://127.0.0.1:1", token="t"
    )
    GatewayAgent.objects.create(gateway=gateway, agent_key="main")
    webhook, secret = webhook_services.create_webhook(board=board, actor=actor, description="ci")
    assert _post(webhook, b"{}", secret).status_code == 202
    assert onboarding.checklist_for(user, organization) is None
    kept = onboarding.checklist_for(user, organization, keep_complete=True)
    assert kept is not None and kept.complete


def test_dismissing_hides_it_for_that_person_only_with_one_event(organization, user):
    other_admin = UserFactory(username="second")
    MembershipFactory(organization=organization, user=other_admin, role="admin")
    services.dismiss_onboarding(actor=Actor.for_user(user), organization=organization)
    services.dismiss_onboarding(actor=Actor.for_user(user), organization=organization)
    assert onboarding.checklist_for(user, organization) is None
    assert onboarding.checklist_for(other_admin, organization) is not None
    assert OnboardingDismissal.objects.count() == 1
    assert ActivityEvent.objects.filter(verb="onboarding.dismissed").count() == 1


def test_a_non_admin_cannot_dismiss(organization, teammate):
    with pytest.raises(PermissionDenied):
        services.dismiss_onboarding(actor=Actor.for_user(teammate), organization=organization)
    assert not OnboardingDismissal.objects.exists()


# --- the page ------------------------------------------------------------------------------------


def test_the_overview_shows_the_checklist_and_the_dismiss_button_hides_it(client, user, organization):
    client.force_login(user)
    page = client.get("/overview/").content.decode()
    assert 'id="overview-onboarding"' in page and "0 of 4 done" in page and 'href="/boards/new/"' in page
    response = client.post("/overview/onboarding/dismiss/")
    assert response.status_code == 302
    assert 'id="overview-onboarding"' not in client.get("/overview/").content.decode()
    assert client.get("/overview/onboarding/").content.decode().strip() == ""


def test_the_fragment_is_empty_for_a_viewer_and_dismiss_is_refused(client, viewer, organization):
    client.force_login(viewer)
    assert client.get("/overview/onboarding/").content.decode().strip() == ""
    assert client.post("/overview/onboarding/dismiss/").status_code == 403
