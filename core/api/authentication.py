"""Personal API tokens for people's scripts: `Authorization: Token mcp_<public_id>_<secret>`.

Lookup is one indexed query by public id plus a constant-time digest compare. Failures are
counted per client address (AGENT_AUTH_RATE, the same budget as agent tokens) and logged with
the path and address only: never the token or any slice of it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from core.models import PersonalToken
from core.tokens import find_personal_token
from infra.client_ip import client_ip_from_meta
from infra.ratelimits import hit

logger = logging.getLogger(__name__)

AUTH_LIMITER = "personal_token_auth"
# last_used_at is informative; writing it on every call would make each API call a write.
LAST_USED_WRITE_INTERVAL = timedelta(seconds=60)


class PersonalTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, raw = header.strip().partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        client_ip = client_ip_from_meta(request.META)
        token = find_personal_token(raw.strip())
        if token is None:
            logger.warning(
                "personal token authentication failed: path=%s client_ip=%s", request.path, client_ip
            )
            decision = hit(AUTH_LIMITER, client_ip, settings.AGENT_AUTH_RATE)
            if not decision.allowed:
                raise exceptions.Throttled(wait=decision.retry_after)
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired token.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_WRITE_INTERVAL:
            PersonalToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "core.api.authentication.PersonalTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token mcp_…`, a personal API token created on the Tokens page.",
        }
