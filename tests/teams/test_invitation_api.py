"""/api/v1/invitations/ (issue 31): invite, list, revoke and accept through teams.services."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from rest_framework.test import APIClient

from activity.models import ActivityEvent
from core.models import Membership
from core.services import create_personal_token
from teams.models import Invitation
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _script(user) -> APIClient:
    _token, raw = create_personal_token(user=user, name="script")
    return APIClient(HTTP_AUTHORIZATION=f"Token {raw}")


def _invite(client, organization, email="new@example.com", role="operator"):
    return client.post(
        "/api/v1/invitations/",
        {"organization": organization.pk, "email": email, "role": role, "send_email": False},
        format="json",
    )


def test_an_admin_invites_and_the_link_is_shown_once(user, organization):
    client = _script(user)
    response = _invite(client, organization)
    assert response.status_code == 201, response.json()
    assert response["Cache-Control"] == "no-store"
    token = parse_qs(urlparse(response.json()["url"]).query)["token"][0]
    listed = client.get("/api/v1/invitations/").json()["results"]
    assert [(row["email"], row["state"]) for row in listed] == [("new@example.com", "pending")]
    assert token not in str(listed) and "url" not in listed[0]
    assert ActivityEvent.objects.filter(verb="invitation.created").count() == 1


def test_the_invited_person_accepts_with_the_token(user, organization):
    response = _invite(_script(user), organization, email="newcomer@example.com")
    token = parse_qs(urlparse(response.json()["url"]).query)["token"][0]
    newcomer = UserFactory(username="newcomer", email="newcomer@example.com")
    accepted = _script(newcomer).post("/api/v1/invitations/accept/", {"token": token}, format="json")
    assert accepted.status_code == 201, accepted.json()
    assert Membership.objects.get(user=newcomer, organization=organization).role == "operator"
    again = _script(newcomer).post("/api/v1/invitations/accept/", {"token": token}, format="json")
    assert again.status_code == 410 and again.json()["error"]["code"] == "invitation_accepted"


def test_an_admin_revokes_and_others_cannot_see_or_invite(user, teammate, outsider, organization):
    invitation_id = _invite(_script(user), organization).json()["id"]
    assert _script(teammate).get("/api/v1/invitations/").json()["count"] == 0
    assert _script(teammate).post(f"/api/v1/invitations/{invitation_id}/revoke/").status_code == 404
    assert _invite(_script(teammate), organization, email="x@example.com").status_code == 403
    assert _invite(_script(outsider), organization, email="y@example.com").status_code == 404
    revoked = _script(user).post(f"/api/v1/invitations/{invitation_id}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert Invitation.objects.count() == 1


def test_a_bad_email_is_a_clear_error(user, organization):
    response = _invite(_script(user), organization, email="not-an-email")
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "invalid_email", "message": "Enter a valid email address."}


# --- /api/v1/organizations/ writes (teams.services) ---------------------------------------------------


def test_a_person_starts_renames_and_leaves_an_organization(user, teammate, organization):
    client = _script(user)
    created = client.post("/api/v1/organizations/", {"name": "Initech"}, format="json")
    assert created.status_code == 201, created.json()
    assert (created.json()["name"], created.json()["role"]) == ("Initech", "admin")
    renamed = client.patch(f"/api/v1/organizations/{organization.pk}/", {"name": "Acme Corp"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Acme Corp"
    assert (
        _script(teammate)
        .patch(f"/api/v1/organizations/{organization.pk}/", {"name": "Mine now"}, format="json")
        .status_code
        == 403
    )
    last_admin = client.post(f"/api/v1/organizations/{organization.pk}/leave/")
    assert last_admin.status_code == 409
    assert _script(teammate).post(f"/api/v1/organizations/{organization.pk}/leave/").status_code == 204
    assert not Membership.objects.filter(user=teammate, organization=organization).exists()
    assert ActivityEvent.objects.filter(verb="member.left").count() == 1


def test_an_outsider_cannot_rename_or_leave_an_organization_it_is_not_in(outsider, organization):
    client = _script(outsider)
    assert (
        client.patch(f"/api/v1/organizations/{organization.pk}/", {"name": "x"}, format="json").status_code
        == 404
    )
    assert client.post(f"/api/v1/organizations/{organization.pk}/leave/").status_code == 404
