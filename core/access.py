"""Who may do what in an organization. Every service and view asks here."""

from __future__ import annotations

from django.db import models

from core.actors import Actor, ActorKind
from core.models import Membership, Organization, Role
from infra.exceptions import NotFound, PermissionDenied


def membership_for(user, organization: Organization | int) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    organization_id = organization if isinstance(organization, int) else organization.pk
    return Membership.objects.filter(organization_id=organization_id, user=user).first()


def member_organization_ids(user) -> models.QuerySet:
    """The ids of the user's organizations, as a subquery: `organization_id__in=` of list reads."""
    return Membership.objects.filter(user=user).values("organization_id")


def require_role(*, user, organization: Organization | int, role: str = Role.VIEWER) -> Membership:
    """The user's membership if it carries `role` or more.

    A non-member gets NotFound (404), never PermissionDenied, so that ids of other
    organizations cannot be probed; a member with too small a role gets PermissionDenied.
    """
    membership = membership_for(user, organization)
    if membership is None:
        raise NotFound("Not found.")
    if not membership.has_role(role):
        raise PermissionDenied(f"This needs the {Role(role).label.lower()} role or higher.")
    return membership


def _organization_id(target: models.Model | int) -> int:
    if isinstance(target, int):
        return target
    return target.pk if isinstance(target, Organization) else target.organization_id


def authorize(
    actor: Actor,
    *,
    organization: models.Model | int,
    role: str,
    board: models.Model | None = None,
    allow_agent: bool = True,
) -> None:
    """Raise unless `actor` may act with `role` in the organization (and, for agents, on `board`).

    The one authorisation check every service makes: people by their membership's role, agents
    by being active, in the organization and (where a board is named) on that board. A stranger
    gets NotFound so that ids of other organizations cannot be probed.
    """
    organization_id = _organization_id(organization)
    if actor.kind == ActorKind.USER:
        require_role(user=actor.user, organization=organization_id, role=role)
        return
    if actor.kind == ActorKind.AGENT:
        agent = actor.agent
        if (
            agent is None
            or not agent.is_active
            or agent.organization_id != organization_id
            or (board is not None and not agent.boards.filter(pk=board.pk).exists())
        ):
            raise NotFound("Not found.")
        if not allow_agent:
            raise PermissionDenied("Agents cannot do this; ask a human operator.")
        return
    # Webhooks and the system act on behalf of a caller that has already been authorised.


CURRENT_ORGANIZATION_SESSION_KEY = "current_organization_id"


def organizations_of(request) -> list[Organization]:
    """The signed-in user's organizations, read once per request."""
    cached = getattr(request, "_boards_organizations", None)
    if cached is None:
        cached = list(Organization.objects.visible_to(request.user).order_by("name", "id"))
        request._boards_organizations = cached
    return cached


def current_organization(request, *, organizations: list[Organization] | None = None) -> Organization | None:
    """The organization picked in the switcher (kept in the session), else the first one."""
    organizations = organizations if organizations is not None else organizations_of(request)
    if not organizations:
        return None
    wanted = request.session.get(CURRENT_ORGANIZATION_SESSION_KEY)
    for organization in organizations:
        if organization.pk == wanted:
            return organization
    return organizations[0]
