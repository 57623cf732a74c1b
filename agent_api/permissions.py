"""The agent half of the API is for agent tokens only (people use core.api.permissions.IsHuman)."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from agents.authentication import AgentPrincipal


class IsAgent(BasePermission):
    message = "This endpoint needs an agent token."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, AgentPrincipal)
