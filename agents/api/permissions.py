"""Who may call which half of the API: agents (token) the agent API, humans (session) the rest."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from agents.authentication import AgentPrincipal


class IsAgent(BasePermission):
    message = "This endpoint needs an agent token."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, AgentPrincipal)


class IsHumanUser(BasePermission):
    """A logged-in person. Roles are checked by the services (admins write, members read)."""

    message = "Log in to manage agents."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(getattr(user, "is_authenticated", False)) and not isinstance(user, AgentPrincipal)
