"""Invitations: invite -> accept -> member with the invited role; unusable links refused clearly."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from core.actors import Actor
from core.models import Membership, Role
from infra.exceptions import PermissionDenied
from teams import services
from teams.models import Invitation
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
ACCEPT = "/organizations/invitations/accept/"


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def invite(organization, admin, email="new@example.com", role=Role.OPERATOR) -> tuple[Invitation, str]:
    return services.create_invitation(
        organization=organization, actor=Actor.for_user(admin), email=email, role=role, send_email=False
    )


def test_an_admin_invites_from_the_members_page_and_the_link_is_shown_once_and_emailed(
    organization, user, django_capture_on_commit_callbacks
):
    client = login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/organizations/{organization.pk}/invitations/", {"email": "Ada@Example.com", "role": "operator"}
        )
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    link = re.search(r'value="(http[^"]+token=(inv_[^"]+))"', response.content.decode())
    assert link, "the page shows the link to copy"
    raw = link.group(2)
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role) == ("ada@example.com", Role.OPERATOR)
    assert raw not in (
        invitation.digest,
        invitation.public_id,
    ) and invitation.digest == services.token_digest(raw)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ada@example.com"]
    assert link.group(1).replace("&amp;", "&") in mail.outbox[0].body
    members_page = client.get(f"/organizations/{organization.pk}/members/").content.decode()
    assert raw not in members_page and "ada@example.com" in members_page


def test_a_new_person_creates_an_account_from_the_link_and_joins_with_the_invited_role(organization, user):
    _, raw = invite(organization, user, email="grace@example.com", role=Role.OPERATOR)
    visitor = Client()
    page = visitor.get(ACCEPT, {"token": raw})
    assert page.status_code == 200 and "Join Acme" in page.content.decode()
    response = visitor.post(
        ACCEPT,
        {
            "token": raw,
            "action": "signup",
            "username": "grace",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/"
    membership = Membership.objects.get(organization=organization, user__username="grace")
    assert membership.role == Role.OPERATOR and membership.user.email == "grace@example.com"
    assert visitor.get("/").status_code == 200  # signed in as the new account
    assert Invitation.objects.get().accepted_by == membership.user


def test_an_existing_account_joins_another_organization_with_the_link(organization, user, outsider):
    _, raw = invite(organization, user, email="outsider@example.com", role=Role.VIEWER)
    client = login(outsider)
    assert "Join as outsider" in client.get(ACCEPT, {"token": raw}).content.decode()
    response = client.post(ACCEPT, {"token": raw, "action": "join"})
    assert response.status_code == 302
    assert Membership.objects.get(organization=organization, user=outsider).role == Role.VIEWER
    assert Membership.objects.filter(user=outsider).count() == 2  # still in their own organization


def test_a_used_link_is_refused_the_second_time(organization, user, outsider, teammate):
    _, raw = invite(organization, user, email="outsider@example.com")
    services.accept_invitation(raw_token=raw, user=outsider)
    other = UserFactory(username="latecomer", email="outsider@example.com")
    response = login(other).post(ACCEPT, {"token": raw, "action": "join"})
    assert response.status_code == 410
    assert "already been used" in response.content.decode()
    assert not Membership.objects.filter(organization=organization, user=other).exists()
    assert Client().get(ACCEPT, {"token": raw}).status_code == 410


def test_an_expired_link_is_refused_with_a_page_that_says_so(organization, user, outsider):
    invitation, raw = invite(organization, user, email=outsider.email)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    response = login(outsider).post(ACCEPT, {"token": raw, "action": "join"})
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert not Membership.objects.filter(organization=organization, user=outsider).exists()


def test_a_link_just_before_its_expiry_still_works(organization, user, outsider):
    invitation, raw = invite(organization, user, email=outsider.email)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() + datetime.timedelta(seconds=30)
    )
    assert login(outsider).post(ACCEPT, {"token": raw, "action": "join"}).status_code == 302


def test_a_revoked_link_is_refused(organization, user, outsider):
    invitation, raw = invite(organization, user, email=outsider.email)
    response = login(user).post(f"/organizations/{organization.pk}/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 302
    refused = login(outsider).post(ACCEPT, {"token": raw, "action": "join"})
    assert refused.status_code == 410 and "withdrawn" in refused.content.decode()
    assert not Membership.objects.filter(organization=organization, user=outsider).exists()


@pytest.mark.parametrize("token", ["", "inv_nope", "x" * 5000])
def test_a_made_up_or_truncated_link_gets_a_not_valid_page(organization, user, token):
    response = Client().get(ACCEPT, {"token": token})
    assert response.status_code == 404 and "not valid" in response.content.decode()


def test_a_link_with_the_right_id_and_a_wrong_secret_is_not_valid(organization, user):
    _, raw = invite(organization, user)
    forged = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    assert Client().get(ACCEPT, {"token": forged}).status_code == 404


def test_a_viewer_or_operator_cannot_invite(organization, user, viewer, teammate):
    for person in (viewer, teammate):
        response = login(person).post(
            f"/organizations/{organization.pk}/invitations/", {"email": "z@example.com", "role": "admin"}
        )
        assert response.status_code == 403
        with pytest.raises(PermissionDenied):
            invite(organization, person)
    assert not Invitation.objects.exists()


def test_an_outsider_cannot_invite_into_another_organization(organization, user, outsider):
    response = login(outsider).post(
        f"/organizations/{organization.pk}/invitations/", {"email": "z@example.com", "role": "admin"}
    )
    assert response.status_code == 404
    assert not Invitation.objects.exists()


def test_inviting_a_current_member_is_refused(organization, user, teammate):
    teammate.email = "team@example.com"
    teammate.save()
    response = login(user).post(
        f"/organizations/{organization.pk}/invitations/",
        {"email": "TEAM@example.com", "role": "viewer"},
        follow=True,
    )
    assert "already a member" in response.content.decode()
    assert not Invitation.objects.exists()


def test_a_signup_with_a_taken_username_creates_nothing_and_keeps_the_link_usable(organization, user):
    _, raw = invite(organization, user)
    response = Client().post(
        ACCEPT,
        {
            "token": raw,
            "action": "signup",
            "username": "owner",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
        },
    )
    assert response.status_code == 400
    assert Invitation.objects.get().accepted_at is None


def test_the_invitation_never_shows_its_token_in_activity(organization, user):
    from activity.models import ActivityEvent

    _, raw = invite(organization, user)
    event = ActivityEvent.objects.get(verb="invitation.created")
    assert raw not in str(event.detail) and event.detail == {"email": "new@example.com", "role": "operator"}


# --- bound to the invited address --------------------------------------------------------------


def test_a_signed_in_account_with_another_email_is_refused_with_a_clear_page(organization, user, outsider):
    _, raw = invite(organization, user, email="ada@example.com", role=Role.ADMIN)
    client = login(outsider)
    page = client.get(ACCEPT, {"token": raw})
    html = page.content.decode()
    assert page.status_code == 403
    assert "This invitation is for ada@example.com" in html and "outsider@example.com" in html
    assert "Join as outsider" not in html  # no button to press
    response = client.post(ACCEPT, {"token": raw, "action": "join"})
    assert response.status_code == 403
    assert "This invitation is for ada@example.com" in response.content.decode()
    assert not Membership.objects.filter(organization=organization, user=outsider).exists()
    assert Invitation.objects.get().accepted_at is None  # still there for Ada


def test_the_service_refuses_another_account_and_an_account_without_email(organization, user, outsider):
    _, raw = invite(organization, user, email="ada@example.com", role=Role.ADMIN)
    nameless = UserFactory(username="nomail", email="")
    for person in (outsider, nameless):
        with pytest.raises(services.InvitationForSomeoneElse) as refused:
            services.accept_invitation(raw_token=raw, user=person)
        assert refused.value.status_code == 403 and refused.value.code == "invitation_wrong_account"
    assert (
        not Membership.objects.filter(organization=organization, role=Role.ADMIN).exclude(user=user).exists()
    )


def test_the_invited_address_matches_whatever_its_case(organization, user):
    ada = UserFactory(username="ada", email="Ada@Example.COM")
    _, raw = invite(organization, user, email="ada@example.com")
    assert services.accept_invitation(raw_token=raw, user=ada).organization == organization


def test_an_admin_reissues_an_invitation_to_a_corrected_address(organization, user, outsider):
    invitation, old_raw = invite(organization, user, email="ada@exmaple.com", role=Role.OPERATOR)
    response = login(user).post(
        f"/organizations/{organization.pk}/invitations/{invitation.pk}/reissue/", {"email": outsider.email}
    )
    assert response.status_code == 201 and response["Cache-Control"] == "no-store"
    new_raw = re.search(r"token=(inv_[^\"&]+)", response.content.decode()).group(1)
    assert Client().get(ACCEPT, {"token": old_raw}).status_code == 410  # the old link is withdrawn
    assert login(outsider).post(ACCEPT, {"token": new_raw, "action": "join"}).status_code == 302
    assert Membership.objects.get(organization=organization, user=outsider).role == Role.OPERATOR


def test_reissuing_keeps_the_address_and_role_by_default(organization, user):
    invitation, _ = invite(organization, user, email="ada@example.com", role=Role.VIEWER)
    new, raw = services.reissue_invitation(
        invitation=invitation, actor=Actor.for_user(user), send_email=False
    )
    assert (new.email, new.role) == ("ada@example.com", Role.VIEWER) and new.pk != invitation.pk
    assert services.find_invitation(raw) == new


def test_only_an_admin_reissues(organization, user, teammate, outsider):
    invitation, _ = invite(organization, user)
    url = f"/organizations/{organization.pk}/invitations/{invitation.pk}/reissue/"
    assert login(teammate).post(url).status_code == 403
    assert login(outsider).post(url).status_code == 404
    assert Invitation.objects.count() == 1


@pytest.mark.parametrize(
    ("backend", "wording"),
    [
        (
            "django.core.mail.backends.console.EmailBackend",
            "Copy this link and send it to new@example.com yourself",
        ),
        ("django.core.mail.backends.smtp.EmailBackend", "We emailed this link to new@example.com"),
    ],
)
def test_the_invitation_page_says_emailed_only_when_mail_goes_out(
    organization, user, settings, backend, wording
):
    settings.EMAIL_BACKEND = backend
    client = login(user)
    # send_email runs after the commit, which this test's transaction never reaches: no SMTP call.
    body = {"email": "new@example.com", "role": "viewer"}
    page = client.post(f"/organizations/{organization.pk}/invitations/", body).content
    assert wording in page.decode()
    assert ("We emailed" in page.decode()) is (backend.endswith("smtp.EmailBackend"))
