"""Organizations, their members and roles, and people's personal API tokens.

The floor every app stands on: boards, agents, webhooks and deliveries all belong to an
organization, and every access check asks a membership here (see core.access).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.querysets import OrganizationScopedQuerySet
from core.time_zones import DEFAULT_TIME_ZONE, MAX_TIME_ZONE_LENGTH, validate_time_zone


def creation_stamps() -> tuple[models.ForeignKey, models.DateTimeField, models.DateTimeField]:
    """`created_by, created_at, updated_at = creation_stamps()` in a model's body: who created the
    row (kept empty when they are deleted), when, and when it was last saved.

    A function, not an abstract model: inherited fields go to the front of a model's field order,
    and admin forms and read-only admin pages would show them first.
    """
    return (
        models.ForeignKey(
            settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
        ),
        models.DateTimeField(auto_now_add=True),
        models.DateTimeField(auto_now=True),
    )


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    OPERATOR = "operator", "Operator"
    ADMIN = "admin", "Admin"


# Higher number, more rights: a role satisfies every requirement at or below its rank.
ROLE_RANK = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.ADMIN: 3}


class OrganizationQuerySet(OrganizationScopedQuerySet):
    organization_path = ""


class Organization(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # An IANA name: where new schedules and standup settings start (each keeps its own after).
    time_zone = models.CharField(
        max_length=MAX_TIME_ZONE_LENGTH, default=DEFAULT_TIME_ZONE, validators=[validate_time_zone]
    )

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        # The table keeps the name it was created with in boards (moved in core 0001, no copy).
        db_table = "boards_organization"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "boards_membership"
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"

    def has_role(self, required: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(required)]


class PersonalToken(models.Model):
    """A person's API token for scripts: `mcp_<public_id>_<secret>`, sent as `Authorization: Token …`.

    Only the SHA-256 of the whole token is stored; `public_id` is unique and indexed, so
    authenticating is one indexed lookup and one constant-time compare. The token acts with its
    owner's memberships and roles, nothing more.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_tokens"
    )
    name = models.CharField(max_length=80)
    public_id = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "boards_personaltoken"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} / {self.name}"
