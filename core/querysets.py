"""The organization scoping every human read starts from: `Model.objects.visible_to(user)`."""

from __future__ import annotations

from typing import Self

from django.db import models


class OrganizationScopedQuerySet(models.QuerySet):
    """Rows of the organizations the user belongs to; nothing for anonymous users.

    Every member of an organization sees all of its rows, so scoping is one join through the
    memberships. `organization_path` is how a subclass's model reaches its organization ("board__
    organization" for rows that belong to a board; "" for Organization itself).
    """

    organization_path = "organization"

    def visible_to(self, user) -> Self:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        prefix = f"{self.organization_path}__" if self.organization_path else ""
        return self.filter(**{f"{prefix}memberships__user": user})
