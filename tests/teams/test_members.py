"""Member changes: admins only, each an audit event, and never the last admin removed."""

import pytest

from activity.models import ActivityEvent
from core.actors import Actor
from core.models import Membership, Role
from infra.exceptions import Conflict, NotFound, PermissionDenied
from teams import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_an_admin_adds_a_member_and_it_is_audited(organization, user):
    newcomer = UserFactory(username="newcomer")
    membership = services.add_member(
        organization=organization, actor=Actor.for_user(user), user=newcomer, role=Role.OPERATOR
    )
    assert membership.role == Role.OPERATOR
    event = ActivityEvent.objects.get(verb="member.added")
    assert event.detail == {"user_id": newcomer.pk, "username": "newcomer", "role": "operator"}
    assert event.actor_user == user


def test_adding_someone_twice_is_a_conflict(organization, user, teammate):
    with pytest.raises(Conflict):
        services.add_member(organization=organization, actor=Actor.for_user(user), user=teammate)


def test_operators_cannot_manage_members_and_outsiders_get_404(organization, teammate, outsider):
    with pytest.raises(PermissionDenied):
        services.add_member(organization=organization, actor=Actor.for_user(teammate), user=UserFactory())
    with pytest.raises(NotFound):
        services.add_member(organization=organization, actor=Actor.for_user(outsider), user=UserFactory())


def test_a_role_change_records_from_and_to(organization, user, teammate):
    membership = Membership.objects.get(user=teammate)
    services.change_member_role(membership=membership, actor=Actor.for_user(user), role=Role.VIEWER)
    event = ActivityEvent.objects.get(verb="member.role_changed")
    assert (event.detail["from"], event.detail["role"]) == ("operator", "viewer")


def test_the_last_admin_can_be_neither_demoted_nor_removed(organization, user):
    own = Membership.objects.get(user=user)
    with pytest.raises(Conflict):
        services.change_member_role(membership=own, actor=Actor.for_user(user), role=Role.VIEWER)
    with pytest.raises(Conflict):
        services.remove_member(membership=own, actor=Actor.for_user(user))
    assert Membership.objects.get(user=user).role == Role.ADMIN


def test_removing_a_member_is_audited(organization, user, teammate):
    services.remove_member(membership=Membership.objects.get(user=teammate), actor=Actor.for_user(user))
    assert not Membership.objects.filter(user=teammate).exists()
    assert ActivityEvent.objects.get(verb="member.removed").detail["username"] == "teammate"


def test_membership_changes_in_django_admin_go_through_the_services(client, organization, user, teammate):
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    membership = Membership.objects.get(user=teammate)
    response = client.post(
        f"/admin/core/membership/{membership.pk}/change/",
        {"user": teammate.pk, "organization": organization.pk, "role": "viewer"},
    )
    assert response.status_code == 302
    assert ActivityEvent.objects.filter(verb="member.role_changed").count() == 1
    response = client.post(f"/admin/core/membership/{membership.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert ActivityEvent.objects.filter(verb="member.removed").count() == 1
