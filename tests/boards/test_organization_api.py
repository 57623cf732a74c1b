"""The human API for members, roles and board groups (issue 31: what people did only on pages),
driven with a personal token as a script would."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from activity.models import ActivityEvent
from boards.models import BoardGroup
from core.models import Membership, Role
from core.services import create_personal_token

pytestmark = pytest.mark.django_db


def _script(user) -> APIClient:
    _token, raw = create_personal_token(user=user, name="script")
    return APIClient(HTTP_AUTHORIZATION=f"Token {raw}")


def test_it_lists_the_roles_lowest_first(user):
    body = _script(user).get("/api/v1/roles/").json()
    assert [role["value"] for role in body] == ["viewer", "operator", "admin"]


def test_members_are_listed_for_your_organizations_only(user, teammate, outsider, organization):
    body = _script(user).get("/api/v1/members/").json()
    assert {row["username"] for row in body["results"]} == {"owner", "teammate"}
    stranger = _script(outsider)
    membership = Membership.objects.get(user=teammate)
    assert stranger.get(f"/api/v1/members/{membership.pk}/").status_code == 404
    assert {row["username"] for row in stranger.get("/api/v1/members/").json()["results"]} == {"outsider"}


def test_an_admin_changes_a_role_and_removes_a_member_through_the_services(user, teammate):
    client = _script(user)
    membership = Membership.objects.get(user=teammate)
    response = client.patch(f"/api/v1/members/{membership.pk}/", {"role": "viewer"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["role"] == "viewer"
    assert ActivityEvent.objects.filter(verb="member.role_changed").count() == 1
    assert client.delete(f"/api/v1/members/{membership.pk}/").status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert ActivityEvent.objects.filter(verb="member.removed").count() == 1


def test_a_non_admin_cannot_change_roles_and_the_last_admin_stays(user, teammate):
    admin_membership = Membership.objects.get(user=user)
    refused = _script(teammate).patch(
        f"/api/v1/members/{admin_membership.pk}/", {"role": "viewer"}, format="json"
    )
    assert refused.status_code == 403
    last = _script(user).patch(f"/api/v1/members/{admin_membership.pk}/", {"role": "viewer"}, format="json")
    assert last.status_code == 409
    assert "last admin" in last.json()["error"]["message"]
    bad = _script(user).patch(f"/api/v1/members/{admin_membership.pk}/", {"role": "owner"}, format="json")
    assert bad.status_code == 400 and "role" in bad.json()["error"]["fields"]
    assert Membership.objects.get(user=user).role == Role.ADMIN


def test_board_groups_are_created_renamed_reordered_and_deleted(user, organization, board):
    client = _script(user)
    first = client.post(
        "/api/v1/board-groups/", {"organization": organization.pk, "name": "Ops"}, format="json"
    )
    second = client.post(
        "/api/v1/board-groups/", {"organization": organization.pk, "name": "Web"}, format="json"
    )
    assert (first.status_code, second.status_code) == (201, 201)
    duplicate = client.post(
        "/api/v1/board-groups/", {"organization": organization.pk, "name": "ops"}, format="json"
    )
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "group_exists"
    ops, web = first.json()["id"], second.json()["id"]
    renamed = client.patch(f"/api/v1/board-groups/{ops}/", {"name": "Platform"}, format="json")
    assert renamed.json()["name"] == "Platform"
    reordered = client.post(
        "/api/v1/board-groups/reorder/",
        {"organization": organization.pk, "groups": [web, ops]},
        format="json",
    )
    assert [group["id"] for group in reordered.json()] == [web, ops]
    partial = client.post(
        "/api/v1/board-groups/reorder/", {"organization": organization.pk, "groups": [web]}, format="json"
    )
    assert partial.status_code == 400 and partial.json()["error"]["code"] == "invalid_order"
    assert client.delete(f"/api/v1/board-groups/{ops}/").status_code == 204
    assert list(BoardGroup.objects.values_list("name", flat=True)) == ["Web"]
    verbs = set(ActivityEvent.objects.values_list("verb", flat=True))
    assert {
        "board_group.created",
        "board_group.renamed",
        "board_group.reordered",
        "board_group.deleted",
    } <= verbs


def test_only_admins_of_the_organization_make_board_groups(teammate, outsider, organization):
    body = {"organization": organization.pk, "name": "Ops"}
    assert _script(teammate).post("/api/v1/board-groups/", body, format="json").status_code == 403
    assert _script(outsider).post("/api/v1/board-groups/", body, format="json").status_code == 404
    missing = _script(outsider).post("/api/v1/board-groups/", {**body, "organization": 999999}, format="json")
    assert missing.status_code == 404  # a missing organization looks like someone else's
    assert not BoardGroup.objects.exists()


def test_an_agent_token_is_refused_on_the_people_api(organization, board):
    from tests.agents.factories import agent_with_token

    _agent, _token, raw = agent_with_token(organization=organization, boards=[board])
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/members/").status_code == 401
