"""Agent bearer tokens: the one-query lookup, and authentication for DRF and websockets.

A token is `mca_<public_id>_<secret>`: 8 random bytes of public id (16 hex characters, unique and
indexed) and 32 random bytes of secret. Only the SHA-256 of the whole token is stored, so finding
a token is one indexed query by public id plus one constant-time digest compare, whatever the
number of agents — never a loop over hashes.

No log line, response or exception message here contains any part of a token: failures are
logged with the path, the client address and the request id only.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions

from agents.models import AgentStatus, AgentToken
from agents.services import record_agent_seen
from agents.tokens import DUMMY_DIGEST, TOKEN_PATTERN, token_digest
from core.api.views import HUMAN_AUTHENTICATION
from infra import ratelimits
from infra.client_ip import client_ip_from_meta
from infra.logs import current_request_id
from infra.metrics import RATE_LIMIT_BACKEND_ERRORS, RATE_LIMIT_REJECTIONS
from infra.ratelimits import hit

logger = logging.getLogger(__name__)

AUTH_LIMITER = "agent_auth"
AGENT_LIMITER = "agent"


def _find_token(raw: str) -> tuple[AgentToken | None, str]:
    """The usable token for `raw` and "ok", or None and why not (for the log, never the token)."""
    match = TOKEN_PATTERN.match(raw or "")
    if match is None:
        return None, "malformed"
    digest = token_digest(raw)
    try:
        # The one query: unique index on public_id; the agent and organization come along.
        token = AgentToken.objects.select_related("agent", "agent__organization").get(
            public_id=match["public_id"]
        )
    except AgentToken.DoesNotExist:
        hmac.compare_digest(digest, DUMMY_DIGEST)
        return None, "unknown"
    if not hmac.compare_digest(digest, token.digest):
        return None, "mismatch"
    if token.revoked_at is not None:
        return None, "revoked"
    if token.expires_at is not None and token.expires_at <= timezone.now():
        return None, "expired"
    if token.agent.status != AgentStatus.ACTIVE:
        return None, "agent_suspended"
    return token, "ok"


def _header(headers: Mapping[str, str] | Iterable[tuple[Any, Any]], name: str) -> str | None:
    items = headers.items() if isinstance(headers, Mapping) else headers
    wanted = name.lower()
    for key, value in items:
        key = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        if key.lower() == wanted:
            return value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return None


def token_from_request_headers(headers: Mapping[str, str] | Iterable[tuple[Any, Any]]) -> str | None:
    """The raw token from `Authorization: Bearer <t>` or `X-Agent-Token: <t>`, else None.

    Accepts a mapping (Django's request.headers) or an ASGI scope's list of (bytes, bytes) pairs,
    so websocket consumers can pass `scope["headers"]` as is. An Authorization header with another
    scheme (e.g. Basic) is not an agent token.
    """
    authorization = _header(headers, "authorization")
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    explicit = _header(headers, "x-agent-token")
    if explicit and explicit.strip():
        return explicit.strip()
    return None


class AgentAuthenticationFailed(Exception):
    """A token was offered and is not valid (401)."""

    status_code = 401
    code = "authentication_failed"


class AgentSuspended(AgentAuthenticationFailed):
    """A valid token of a suspended agent: the streams answer 403 / close 4403 (docs/realtime.md).
    The REST API keeps answering 401, the failure every other token problem gets there."""

    status_code = 403
    code = "agent_suspended"


class AgentRateLimited(Exception):
    """Too many failed attempts from this address, or too many calls by this agent (429)."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _failures_exhausted(client_ip: str) -> int:
    """Seconds until this address may try again if it used up its failures, else 0.

    Read without counting, so a blocked address cannot learn whether a token is valid. Fails
    open like infra.ratelimits.hit: an unreachable backend never locks agents out.
    """
    try:
        usage = ratelimits.usage(AUTH_LIMITER, client_ip, settings.AGENT_AUTH_RATE, increment=False)
    except Exception:  # any backend failure fails open, by design
        RATE_LIMIT_BACKEND_ERRORS.labels(limiter=AUTH_LIMITER).inc()
        return 0
    if usage is None:
        return 0
    if usage["count"] >= usage["limit"]:
        return max(1, int(usage["time_left"]))
    return 0


def verify_agent_credentials(raw: str, *, client_ip: str, path: str) -> AgentToken:
    """Authenticate one request or websocket handshake carrying `raw`; the shared core.

    Raises AgentRateLimited when the address used up AGENT_AUTH_RATE failures or the agent its
    AGENT_RATE calls, AgentAuthenticationFailed for a bad token. On success the agent is marked
    as seen (throttled) and the token returned.
    """
    retry_after = _failures_exhausted(client_ip)
    if retry_after:
        # A lockout is read without counting a failure, so it must count its own rejection.
        RATE_LIMIT_REJECTIONS.labels(limiter=AUTH_LIMITER).inc()
        _log_failure("rate_limited", client_ip=client_ip, path=path)
        raise AgentRateLimited("Too many failed authentication attempts.", retry_after)
    token, reason = _find_token(raw)
    if token is None:
        _log_failure(reason, client_ip=client_ip, path=path)
        decision = hit(AUTH_LIMITER, client_ip, settings.AGENT_AUTH_RATE)
        if not decision.allowed:
            raise AgentRateLimited("Too many failed authentication attempts.", decision.retry_after)
        if reason == "agent_suspended":
            raise AgentSuspended("This agent is suspended.")
        raise AgentAuthenticationFailed("Invalid or expired agent token.")
    decision = hit(AGENT_LIMITER, str(token.agent_id), settings.AGENT_RATE)
    if not decision.allowed:
        raise AgentRateLimited("Too many requests for this agent.", decision.retry_after)
    record_agent_seen(agent=token.agent, token=token)
    return token


def _log_failure(reason: str, *, client_ip: str, path: str) -> None:
    # Never the token, its public id or any slice of it: only where and from whom. The request id
    # is stamped on every record by infra.logs.RequestIdFilter (and repeated here for
    # handlers without that filter).
    logger.warning(
        "agent authentication failed: reason=%s path=%s client_ip=%s",
        reason,
        path,
        client_ip,
        extra={
            "reason": reason,
            "path": path,
            "client_ip": client_ip,
            "request_id": current_request_id.get(),
        },
    )


def client_ip_from_scope(scope: Mapping[str, Any]) -> str:
    """The client address of an ASGI scope, by the same TRUSTED_PROXY_COUNT rule as HTTP."""
    client = scope.get("client") or ("", 0)
    meta = {"REMOTE_ADDR": client[0] or ""}
    forwarded = _header(scope.get("headers") or [], "x-forwarded-for")
    if forwarded:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip_from_meta(meta)


def authenticate_websocket_scope(scope: Mapping[str, Any]) -> AgentToken | None:
    """For websocket consumers (call through database_sync_to_async): the agent token of a
    handshake, or None when no token was offered. Raises AgentAuthenticationFailed (close 4401),
    AgentSuspended (4403) or AgentRateLimited (4429) exactly as the HTTP path does, with the same
    limits."""
    raw = token_from_request_headers(scope.get("headers") or [])
    if raw is None:
        return None
    return verify_agent_credentials(raw, client_ip=client_ip_from_scope(scope), path=scope.get("path", ""))


@dataclass(eq=False)
class AgentPrincipal:
    """`request.user` for a request authenticated by an agent token. Deliberately not a Django
    User: code that expects a user (memberships, roles) must not mistake an agent for one."""

    agent: Any
    token: AgentToken
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_staff: bool = False
    is_superuser: bool = False
    is_active: bool = True
    pk: None = None
    id: None = None

    def get_username(self) -> str:
        return f"agent:{self.agent.name}"

    def __str__(self) -> str:
        return self.get_username()


class RateLimitedError(exceptions.Throttled):
    default_code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(wait=retry_after, detail=message)
        self.wait = retry_after


class AgentTokenAuthentication(authentication.BaseAuthentication):
    """DRF authentication by agent token (`Authorization: Bearer` or `X-Agent-Token`).

    Returns (AgentPrincipal, AgentToken). No token offered: None, so a session class listed after
    this one can still authenticate a human; an invalid token: 401 (never a fall-through).
    Rate limits apply here, so every route accepting agent tokens is limited the same way.
    """

    def authenticate(self, request) -> tuple[AgentPrincipal, AgentToken] | None:
        raw = token_from_request_headers(request.headers)
        if raw is None:
            return None
        try:
            token = verify_agent_credentials(
                raw, client_ip=client_ip_from_meta(request.META), path=request.path
            )
        except AgentRateLimited as exc:
            raise RateLimitedError(str(exc), exc.retry_after) from None
        except AgentAuthenticationFailed as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        return AgentPrincipal(agent=token.agent, token=token), token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


# For routes a human (session) and an agent (token) may both call. The token class comes first so
# that a bad token is a 401 with WWW-Authenticate; a session without a token still authenticates.
AGENT_OR_SESSION_AUTHENTICATION = [
    AgentTokenAuthentication,
    authentication.SessionAuthentication,
]


# The human API base's authentication with agent bearer tokens first: for the few read APIs
# (search, overview metrics and exports) that agents share with people, each scoped per caller.
HUMAN_OR_AGENT_AUTHENTICATION = [AgentTokenAuthentication, *HUMAN_AUTHENTICATION]
