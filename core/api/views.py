"""The one base of the human API: every viewset for people derives from HumanViewSet.

It fixes how people authenticate (a personal token for scripts, else the browser session with
CSRF) and that agents are refused, so that no resource can forget either. Scoping stays in each
viewset's get_queryset and roles in the services.
"""

from __future__ import annotations

from rest_framework import viewsets
from rest_framework.authentication import SessionAuthentication

from core.actors import Actor
from core.api.authentication import PersonalTokenAuthentication
from core.api.permissions import IsHuman

# A personal token first (scripts, no CSRF: no cookie is involved), else the session (CSRF on).
HUMAN_AUTHENTICATION = [PersonalTokenAuthentication, SessionAuthentication]


class HumanAPIMixin:
    authentication_classes = HUMAN_AUTHENTICATION
    permission_classes = [IsHuman]

    @property
    def actor(self) -> Actor:
        return Actor.for_user(self.request.user)


class HumanViewSet(HumanAPIMixin, viewsets.GenericViewSet):
    """A viewset for people; subclasses add only the mixins they need."""
