"""Organizations, members and board groups in the app (not only in Django admin)."""

from __future__ import annotations

import pytest
from django.test import Client

from boards.models import Board, BoardGroup
from core.models import Membership, Organization, Role
from tests.factories import BoardFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def members_url(organization) -> str:
    return f"/organizations/{organization.pk}/members/"


def settings_url(organization) -> str:
    return f"/organizations/{organization.pk}/settings/"


def test_anyone_signed_in_creates_an_organization_and_becomes_its_admin(outsider):
    client = login(outsider)
    response = client.post("/organizations/new/", {"name": "  Initech  Labs "})
    organization = Organization.objects.get(name="Initech Labs")
    assert response.status_code == 302 and response["Location"] == members_url(organization)
    assert Membership.objects.get(organization=organization).role == Role.ADMIN
    assert "Initech Labs" in client.get("/").content.decode()  # switched to it


def test_creating_an_organization_with_a_taken_name_gets_a_free_slug(user, organization):
    login(user).post("/organizations/new/", {"name": "Acme"})
    assert sorted(Organization.objects.values_list("slug", flat=True)) == ["acme", "acme-2"]


def test_a_blank_organization_name_is_refused(user):
    assert login(user).post("/organizations/new/", {"name": "   "}).status_code == 400


def test_an_admin_renames_the_organization_and_a_name_over_the_limit_is_refused(user, organization):
    client = login(user)
    assert client.post(settings_url(organization), {"action": "rename", "name": "A" * 121}).status_code == 400
    assert client.post(settings_url(organization), {"action": "rename", "name": "A" * 120}).status_code == 302
    organization.refresh_from_db()
    assert organization.name == "A" * 120


def test_the_settings_page_is_for_admins_only(organization, user, teammate, viewer, outsider):
    assert login(user).get(settings_url(organization)).status_code == 200
    for person in (teammate, viewer):
        assert login(person).get(settings_url(organization)).status_code == 403
        login(person).post(settings_url(organization), {"action": "rename", "name": "Hijacked"})
    assert login(outsider).get(settings_url(organization)).status_code == 404
    organization.refresh_from_db()
    assert organization.name == "Acme"


def test_the_members_page_lists_role_last_seen_and_token_count(
    organization, user, teammate, django_assert_max_num_queries
):
    from core.services import create_personal_token, revoke_personal_token

    create_personal_token(user=teammate, name="ci")
    revoked, _ = create_personal_token(user=teammate, name="old")
    revoke_personal_token(token=revoked, user=teammate)
    for n in range(5):
        MembershipFactory(organization=organization, user=UserFactory(username=f"member{n}"))
    client = login(user)
    with django_assert_max_num_queries(12):
        response = client.get(members_url(organization))
    page = response.content.decode()
    row = page[page.index('data-member="teammate"') :]
    row = row[: row.index("</tr>")]
    assert "<td>1</td>" in row  # one live token, the revoked one not counted
    assert 'value="operator" selected' in row


def test_an_admin_changes_a_role_and_removes_a_member(organization, user, teammate, viewer):
    client = login(user)
    membership = Membership.objects.get(user=teammate)
    client.post(members_url(organization), {"action": "role", "membership": membership.pk, "role": "admin"})
    assert Membership.objects.get(pk=membership.pk).role == Role.ADMIN
    client.post(
        members_url(organization), {"action": "remove", "membership": Membership.objects.get(user=viewer).pk}
    )
    assert not Membership.objects.filter(user=viewer, organization=organization).exists()


def test_the_last_admin_cannot_be_demoted_or_removed_in_the_app(organization, user, teammate):
    client = login(user)
    mine = Membership.objects.get(user=user)
    response = client.post(
        members_url(organization), {"action": "role", "membership": mine.pk, "role": "viewer"}, follow=True
    )
    assert "last admin" in response.content.decode()
    response = client.post(
        members_url(organization), {"action": "remove", "membership": mine.pk}, follow=True
    )
    assert "last admin" in response.content.decode()
    assert Membership.objects.get(pk=mine.pk).role == Role.ADMIN


def test_the_last_admin_cannot_leave_but_another_member_can(organization, user, teammate):
    response = login(user).post(f"/organizations/{organization.pk}/leave/", follow=True)
    assert "last admin" in response.content.decode()
    assert Membership.objects.filter(user=user, organization=organization).exists()
    assert login(teammate).post(f"/organizations/{organization.pk}/leave/").status_code == 302
    assert not Membership.objects.filter(user=teammate, organization=organization).exists()


def test_a_viewer_cannot_change_roles_or_remove_anyone(organization, user, viewer, teammate):
    client = login(viewer)
    target = Membership.objects.get(user=teammate)
    client.post(members_url(organization), {"action": "role", "membership": target.pk, "role": "viewer"})
    client.post(members_url(organization), {"action": "remove", "membership": target.pk})
    assert Membership.objects.get(pk=target.pk).role == Role.OPERATOR


def test_an_outsider_cannot_see_the_members_of_another_organization(organization, user, outsider):
    assert login(outsider).get(members_url(organization)).status_code == 404


def test_admins_create_rename_and_order_board_groups_and_the_board_list_follows(organization, user):
    client = login(user)
    for name in ("Platform", "Growth", "Research"):
        client.post(settings_url(organization), {"action": "create-group", "name": name})
    groups = {g.name: g for g in BoardGroup.objects.filter(organization=organization)}
    assert [g.name for g in BoardGroup.objects.filter(organization=organization)] == [
        "Platform",
        "Growth",
        "Research",
    ]
    client.post(
        settings_url(organization),
        {"action": "move-group", "group": groups["Research"].pk, "direction": "up"},
    )
    client.post(
        settings_url(organization),
        {"action": "rename-group", "group": groups["Growth"].pk, "name": "Growth team"},
    )
    assert [g.name for g in BoardGroup.objects.filter(organization=organization)] == [
        "Platform",
        "Research",
        "Growth team",
    ]
    BoardFactory(organization=organization, name="api", slug="api", group=groups["Platform"])
    BoardFactory(organization=organization, name="lab", slug="lab", group=groups["Research"])
    BoardFactory(organization=organization, name="misc", slug="misc")
    page = client.get("/").content.decode()
    order = [
        page.index(text)
        for text in (">Platform<", ">api<", ">Research<", ">lab<", ">Other boards<", ">misc<")
    ]
    assert order == sorted(order)


def test_a_duplicate_group_name_is_refused(organization, user):
    client = login(user)
    client.post(settings_url(organization), {"action": "create-group", "name": "Ops"})
    response = client.post(settings_url(organization), {"action": "create-group", "name": "ops"}, follow=True)
    assert "already a group" in response.content.decode()
    assert BoardGroup.objects.filter(organization=organization).count() == 1


def test_a_board_is_put_in_a_group_from_its_settings(organization, user, board):
    group = BoardGroup.objects.create(organization=organization, name="Platform")
    response = login(user).post(f"/boards/{board.pk}/settings/", {"name": "Launch", "group": group.pk})
    assert response.status_code == 302
    assert Board.objects.get(pk=board.pk).group == group


def test_a_group_of_another_organization_cannot_be_chosen(organization, user, board, other_organization):
    foreign = BoardGroup.objects.create(organization=other_organization, name="Theirs")
    response = login(user).post(f"/boards/{board.pk}/settings/", {"name": "Launch", "group": foreign.pk})
    assert response.status_code == 400
    assert Board.objects.get(pk=board.pk).group is None


def test_deleting_a_group_keeps_its_boards(organization, user, board):
    group = BoardGroup.objects.create(organization=organization, name="Platform")
    Board.objects.filter(pk=board.pk).update(group=group)
    login(user).post(settings_url(organization), {"action": "delete-group", "group": group.pk})
    assert Board.objects.get(pk=board.pk).group is None


def test_the_team_link_leads_to_the_current_organization_or_to_creating_one(organization, user):
    assert login(user).get("/organizations/").headers["Location"] == members_url(organization)
    loner = UserFactory(username="loner")
    assert login(loner).get("/organizations/").headers["Location"] == "/organizations/new/"


def test_a_board_page_lists_the_boards_by_group(organization, user, board):
    group = BoardGroup.objects.create(organization=organization, name="Platform")
    BoardFactory(organization=organization, name="api", slug="api", group=group)
    page = login(user).get(f"/boards/{board.pk}/").content.decode()
    navigator = page[page.index('class="board-navigator"') :]
    assert navigator.index(">Platform<") < navigator.index(">api<") < navigator.index(">Other boards<")
    assert f'href="/boards/{board.pk}/" aria-current="page"' in navigator


def test_the_settings_page_reads_a_fixed_number_of_queries(organization, user, django_assert_max_num_queries):
    for n in range(10):
        group = BoardGroup.objects.create(organization=organization, name=f"Group {n}", position=n)
        BoardFactory(organization=organization, name=f"b{n}", slug=f"b{n}", group=group)
    client = login(user)
    with django_assert_max_num_queries(8):
        response = client.get(settings_url(organization))
    assert response.content.decode().count('name="action" value="rename-group"') == 10
