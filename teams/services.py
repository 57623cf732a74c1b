"""Organizations, memberships and invitations: every write, its role check and its activity event.

Who may call what: any signed-in person creates an organization (and becomes its admin); admins
rename it, add members, change their roles and remove them (never the last admin), invite and
revoke invitations; any member leaves, except the last admin. Accepting an invitation is
authorised by the token itself.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from activity.services import record_activity, update_and_record
from core.access import authorize
from core.actors import Actor
from core.models import Membership, Organization, Role
from core.time_zones import is_time_zone
from infra.exceptions import Conflict, DomainError, NotFound, PermissionDenied
from teams.models import Invitation, InvitationState

logger = logging.getLogger(__name__)
User = get_user_model()

ORGANIZATION_NAME_MAX = 120
TOKEN_PREFIX = "inv_"  # noqa: S105 - a prefix that marks our tokens in leaks, not a secret
# Prefix, a 12-character public id, an underscore, a 43-character secret: nothing else is a token.
TOKEN_LENGTH = len(TOKEN_PREFIX) + 12 + 1 + 43


# --- organizations ---------------------------------------------------------------------------------


def _clean_organization_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError("An organization needs a name.", code="name_required")
    if len(name) > ORGANIZATION_NAME_MAX:
        raise DomainError(f"A name is at most {ORGANIZATION_NAME_MAX} characters.", code="name_too_long")
    return name


def _free_slug(name: str) -> str:
    base = (slugify(name) or "team")[:50]
    taken = set(Organization.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    return next(f"{base}-{n}" for n in range(2, len(taken) + 3) if f"{base}-{n}" not in taken)


@transaction.atomic
def create_organization(*, user, name: str) -> Organization:
    """A new organization with its creator as the one admin."""
    name = _clean_organization_name(name)
    try:
        with transaction.atomic():
            organization = Organization.objects.create(name=name, slug=_free_slug(name))
    except IntegrityError as exc:  # a concurrent create took the slug between the read and the insert
        raise Conflict("That name was just taken; try again.", code="slug_taken") from exc
    membership = Membership.objects.create(organization=organization, user=user, role=Role.ADMIN)
    record_activity(
        organization=organization,
        actor=Actor.for_user(user),
        verb="organization.created",
        target=organization,
        detail={"name": name, "membership_id": membership.pk},
    )
    return organization


@transaction.atomic
def rename_organization(*, organization: Organization, actor: Actor, name: str) -> Organization:
    authorize(actor, organization=organization, role=Role.ADMIN, allow_agent=False)
    name = _clean_organization_name(name)
    previous = organization.name
    update_and_record(
        organization,
        changes={"name": name},
        actor=actor,
        verb="organization.renamed",
        organization=organization,
        detail=lambda _changed: {"name": name, "from": previous},
    )
    return organization


@transaction.atomic
def set_organization_time_zone(*, organization: Organization, actor: Actor, time_zone: str) -> Organization:
    """Admins: the organization's time zone, which new schedules and standup settings start from
    (those already made keep theirs)."""
    authorize(actor, organization=organization, role=Role.ADMIN, allow_agent=False)
    if not is_time_zone(time_zone):
        raise DomainError(
            f"Unknown time zone {str(time_zone)[:64]!r}; use an IANA name such as Europe/Paris.",
            code="invalid_time_zone",
        )
    previous = organization.time_zone
    update_and_record(
        organization,
        changes={"time_zone": time_zone},
        actor=actor,
        verb="organization.time_zone_changed",
        organization=organization,
        detail=lambda _changed: {"time_zone": time_zone, "from": previous},
    )
    return organization


@transaction.atomic
def update_organization(
    *, organization: Organization, actor: Actor, name: str | None = None, time_zone: str | None = None
) -> Organization:
    """The API's PATCH: the name, the time zone or both, all or nothing (each step authorizes)."""
    if name is not None:
        organization = rename_organization(organization=organization, actor=actor, name=name)
    if time_zone is not None:
        organization = set_organization_time_zone(organization=organization, actor=actor, time_zone=time_zone)
    return organization


@transaction.atomic
def leave_organization(*, organization: Organization, user) -> None:
    """Leave, unless you are the last admin: someone must be able to manage what stays behind."""
    membership = Membership.objects.select_for_update().filter(organization=organization, user=user).first()
    if membership is None:
        raise NotFound("Not found.")
    if membership.role == Role.ADMIN:
        _require_another_admin(membership)
    detail = {"user_id": user.pk, "username": user.get_username(), "role": membership.role}
    membership.delete()
    record_activity(
        organization=organization,
        actor=Actor.for_user(user),
        verb="member.left",
        target_type="membership",
        target_id=membership.pk,
        detail=detail,
    )


# --- members -------------------------------------------------------------------------------------------


def _member_detail(membership: Membership) -> dict[str, Any]:
    return {
        "user_id": membership.user_id,
        "username": membership.user.get_username(),
        "role": membership.role,
    }


def _require_another_admin(membership: Membership) -> None:
    """An organization always keeps one admin: nobody could manage it otherwise.

    The admin rows are locked, so two admins demoting each other at once cannot both pass.
    """
    admins = Membership.objects.select_for_update().filter(
        organization_id=membership.organization_id, role=Role.ADMIN
    )
    if not [pk for pk in admins.values_list("pk", flat=True) if pk != membership.pk]:
        raise Conflict("This is the organization's last admin; make someone else admin first.")


@transaction.atomic
def add_member(*, organization: Organization, actor: Actor, user, role: str = Role.VIEWER) -> Membership:
    """Admins add people; the event is the audit trail of who let whom in."""
    authorize(actor, organization=organization, role=Role.ADMIN, allow_agent=False)
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}; use one of {', '.join(Role.values)}.")
    membership, created = Membership.objects.get_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    if not created:
        raise Conflict(f"{user.get_username()} is already a member.")
    record_activity(
        organization=organization,
        actor=actor,
        verb="member.added",
        target=membership,
        detail=_member_detail(membership),
    )
    return membership


@transaction.atomic
def change_member_role(*, membership: Membership, actor: Actor, role: str) -> Membership:
    authorize(actor, organization=membership.organization_id, role=Role.ADMIN, allow_agent=False)
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}; use one of {', '.join(Role.values)}.")
    membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    previous = membership.role
    if previous == role:
        return membership
    if previous == Role.ADMIN:
        _require_another_admin(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    record_activity(
        organization=membership.organization_id,
        actor=actor,
        verb="member.role_changed",
        target=membership,
        detail={**_member_detail(membership), "from": previous},
    )
    return membership


@transaction.atomic
def remove_member(*, membership: Membership, actor: Actor) -> None:
    authorize(actor, organization=membership.organization_id, role=Role.ADMIN, allow_agent=False)
    membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    if membership.role == Role.ADMIN:
        _require_another_admin(membership)
    detail = _member_detail(membership)
    organization_id, membership_id = membership.organization_id, membership.pk
    membership.delete()
    record_activity(
        organization=organization_id,
        actor=actor,
        verb="member.removed",
        target_type="membership",
        target_id=membership_id,
        detail=detail,
    )


# --- invitations -----------------------------------------------------------------------------------


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    public_id = secrets.token_hex(6)
    return public_id, f"{TOKEN_PREFIX}{public_id}_{secrets.token_urlsafe(32)}"


def invitation_url(raw_token: str) -> str:
    """The link to hand out; the token rides in the query string, which request logs leave out."""
    return f"{settings.PUBLIC_BASE_URL}{reverse('teams:invitation-accept')}?token={raw_token}"


# Backends that deliver nothing to the invitee: the embedded default's console (the server log),
# and Django's file and dummy backends. With these the page must not say "we emailed".
UNDELIVERED_MAIL_BACKENDS = frozenset(
    {
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
    }
)


def invitations_are_emailed() -> bool:
    """Whether an invitation's email reaches the invitee (else the admin copies the link)."""
    return settings.EMAIL_BACKEND not in UNDELIVERED_MAIL_BACKENDS


def _send_invitation_email(invitation: Invitation, raw_token: str, inviter: str) -> None:
    """After the commit: a mail server that is down must not undo the invitation (the link can be
    copied from the page), so a failure is logged without the token and swallowed."""
    try:
        send_mail(
            subject=f"{inviter} invited you to {invitation.organization.name} on Mission Control",
            message=(
                f"{inviter} invited you to join {invitation.organization.name} as "
                f"{Role(invitation.role).label.lower()}.\n\nOpen this link to accept (valid until "
                f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC, once):\n{invitation_url(raw_token)}\n"
            ),
            from_email=None,
            recipient_list=[invitation.email],
        )
    except Exception:
        logger.exception("invitation %s: sending the email failed", invitation.pk)


@transaction.atomic
def create_invitation(
    *, organization: Organization, actor: Actor, email: str, role: str = Role.VIEWER, send_email: bool = True
) -> tuple[Invitation, str]:
    """Admins invite by email; returns (invitation, raw token). The raw token is shown once."""
    authorize(actor, organization=organization, role=Role.ADMIN, allow_agent=False)
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise DomainError("Enter a valid email address.", code="invalid_email") from exc
    if role not in Role.values:
        raise DomainError(f"Unknown role {role!r}; use one of {', '.join(Role.values)}.", code="invalid_role")
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise Conflict(f"{email} is already a member of {organization.name}.", code="already_member")
    public_id, raw = _new_token()
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        public_id=public_id,
        digest=token_digest(raw),
        invited_by=actor.user,
        expires_at=timezone.now() + datetime.timedelta(days=settings.INVITATION_EXPIRY_DAYS),
    )
    record_activity(
        organization=organization,
        actor=actor,
        verb="invitation.created",
        target=invitation,
        detail={"email": email, "role": role},
    )
    if send_email:
        transaction.on_commit(lambda: _send_invitation_email(invitation, raw, actor.label))
    return invitation, raw


@transaction.atomic
def revoke_invitation(*, invitation: Invitation, actor: Actor) -> Invitation:
    authorize(actor, organization=invitation.organization_id, role=Role.ADMIN, allow_agent=False)
    # Locked: a revoke racing an accept must not leave a revoked invitation that was also used.
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.state == InvitationState.ACCEPTED:
        raise Conflict("This invitation was already used; remove the member instead.", code="invitation_used")
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        record_activity(
            organization=invitation.organization_id,
            actor=actor,
            verb="invitation.revoked",
            target=invitation,
            detail={"email": invitation.email, "role": invitation.role},
        )
    return invitation


@transaction.atomic
def reissue_invitation(
    *, invitation: Invitation, actor: Actor, email: str | None = None, send_email: bool = True
) -> tuple[Invitation, str]:
    """A fresh link for the same role (to the same address, or to a corrected one): the old link
    stops working. For a lost, expired or mistyped invitation; returns (new invitation, raw token)."""
    authorize(actor, organization=invitation.organization_id, role=Role.ADMIN, allow_agent=False)
    old = revoke_invitation(invitation=invitation, actor=actor)
    return create_invitation(
        organization=old.organization,
        actor=actor,
        email=email if email and email.strip() else old.email,
        role=old.role,
        send_email=send_email,
    )


class InvitationUnusable(DomainError):
    """The link cannot be used; `state` says why (invalid, expired, revoked, accepted)."""

    status_code = 410

    def __init__(self, state: str, message: str) -> None:
        super().__init__(message, code=f"invitation_{state}")
        self.state = state


_UNUSABLE_MESSAGES = {
    "invalid": "This invitation link is not valid. Check that you copied all of it, or ask for a new one.",
    InvitationState.EXPIRED: "This invitation has expired. Ask an admin of the organization for a new one.",
    InvitationState.REVOKED: "This invitation was withdrawn by an admin of the organization.",
    InvitationState.ACCEPTED: "This invitation has already been used. Each link works once.",
}


def find_invitation(raw_token: str | None, *, for_update: bool = False) -> Invitation:
    """The invitation a raw token opens, if it is still usable; else InvitationUnusable."""
    raw = (raw_token or "").strip()
    parts = raw[len(TOKEN_PREFIX) :].split("_", 1) if raw.startswith(TOKEN_PREFIX) else []
    invitation = None
    if len(raw) == TOKEN_LENGTH and len(parts) == 2:
        invitations = Invitation.objects.select_related("organization", "invited_by")
        if for_update:
            invitations = invitations.select_for_update(of=("self",))
        invitation = invitations.filter(public_id=parts[0]).first()
    if invitation is None or not hmac.compare_digest(invitation.digest, token_digest(raw)):
        raise InvitationUnusable("invalid", _UNUSABLE_MESSAGES["invalid"])
    if invitation.state != InvitationState.PENDING:
        raise InvitationUnusable(invitation.state, _UNUSABLE_MESSAGES[invitation.state])
    return invitation


class InvitationForSomeoneElse(PermissionDenied):
    """The link was sent to another address than the signed-in account's: a link that leaked
    (forwarded, pasted in a ticket) must not let its holder join, let alone as admin."""

    code = "invitation_wrong_account"


def invitation_is_for(invitation: Invitation, user) -> bool:
    """Whether `user` is the invited address (emails compare case-insensitively, as stored)."""
    return bool(user.email) and user.email.strip().lower() == invitation.email


@transaction.atomic
def accept_invitation(*, raw_token: str, user) -> Membership:
    """Join with the invited role. The row is locked, so two tabs accepting at once use it once.

    Only the account with the invited email may accept; anyone else is refused and the
    invitation stays pending for its addressee (an admin re-issues it to another address)."""
    invitation = find_invitation(raw_token, for_update=True)
    if not invitation_is_for(invitation, user):
        raise InvitationForSomeoneElse(
            f"This invitation was sent to {invitation.email}, and you are signed in as "
            f"{user.get_username()}{f' ({user.email})' if user.email else ' (no email)'}. Log out and "
            f"open the link again to join as {invitation.email}, or ask an admin of "
            f"{invitation.organization.name} to invite your address."
        )
    if Membership.objects.filter(organization=invitation.organization, user=user).exists():
        raise Conflict(f"You are already a member of {invitation.organization.name}.", code="already_member")
    membership = Membership.objects.create(
        organization=invitation.organization, user=user, role=invitation.role
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    record_activity(
        organization=invitation.organization,
        actor=Actor.for_user(user),
        verb="member.joined",
        target=membership,
        detail={
            "user_id": user.pk,
            "username": user.get_username(),
            "role": membership.role,
            "invitation_id": invitation.pk,
            "invited_by": invitation.invited_by.get_username() if invitation.invited_by else "",
        },
    )
    return membership


@dataclass(frozen=True)
class NewAccount:
    user: object
    membership: Membership


@transaction.atomic
def accept_invitation_with_new_account(*, raw_token: str, username: str, password: str) -> NewAccount:
    """Create the account (with the invited email) and join, in one transaction: a refused
    invitation leaves no orphan account behind. Username and password are validated by the form."""
    invitation = find_invitation(raw_token, for_update=True)
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict("That username is taken; pick another.", code="username_taken")
    user = User.objects.create_user(username=username, email=invitation.email, password=password)
    return NewAccount(user=user, membership=accept_invitation(raw_token=raw_token, user=user))
