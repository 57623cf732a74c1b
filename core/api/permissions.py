"""Who may call the human API: signed-in people (session or personal token), never an agent.

Roles are checked by the services (viewer reads, operator edits work, admin manages); reads are
scoped by membership in each view's get_queryset, so a non-member gets 404.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework.permissions import BasePermission


class IsHuman(BasePermission):
    message = "Log in (or send a personal API token) to use this endpoint."

    def has_permission(self, request, view) -> bool:
        user = request.user
        # Agents authenticate with their own principal type; this half of the API is for people.
        return bool(getattr(user, "is_authenticated", False)) and isinstance(user, get_user_model())
