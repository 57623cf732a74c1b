"""Bearer authentication over HTTP: both headers, 401s, rate limits, client IPs, fail-open, logs."""

from __future__ import annotations

import logging

import pytest
from django.core.cache import caches
from django.test import override_settings
from rest_framework.test import APIClient

from agents import services
from agents.authentication import (
    AgentPrincipal,
    authenticate_websocket_scope,
    client_ip_from_scope,
    token_from_request_headers,
)
from agents.models import AgentToken
from core.actors import Actor
from tests.agents.factories import agent_with_token, bearer

pytestmark = pytest.mark.django_db

ME = "/api/v1/agent/me"
DEAD_REDIS_CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t-default"},
    "ratelimit": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    },
}


@pytest.fixture
def agent_token(organization, board):
    return agent_with_token(organization=organization, name="runner", boards=[board])


def bad_token() -> str:
    return "mca_0123456789abcdef_" + "x" * 43


def test_it_authenticates_with_the_bearer_header(agent_token):
    agent, _token, raw = agent_token
    response = APIClient().get(ME, **bearer(raw))
    assert response.status_code == 200
    assert response.json()["id"] == agent.pk


def test_it_authenticates_with_the_x_agent_token_header(agent_token):
    agent, _token, raw = agent_token
    response = APIClient().get(ME, HTTP_X_AGENT_TOKEN=raw)
    assert response.status_code == 200
    assert response.json()["name"] == agent.name


def test_it_rejects_a_bad_token_with_401_and_a_bearer_challenge():
    response = APIClient().get(ME, **bearer(bad_token()))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["error"]["code"] == "authentication_failed"


def test_it_rejects_a_missing_token_with_401():
    response = APIClient().get(ME)
    assert response.status_code == 401


def test_a_session_user_cannot_call_the_agent_api(api_client):
    assert api_client.get(ME).status_code == 401


def test_an_agent_token_cannot_call_the_human_api(agent_token):
    _agent, _token, raw = agent_token
    assert APIClient().get("/api/v1/agents/", **bearer(raw)).status_code in (401, 403)


def test_header_parsing_handles_mappings_and_asgi_scopes():
    assert token_from_request_headers({"Authorization": "Bearer abc"}) == "abc"
    assert token_from_request_headers({"authorization": "bearer  abc "}) == "abc"
    assert token_from_request_headers({"X-Agent-Token": "abc"}) == "abc"
    assert token_from_request_headers({"Authorization": "Basic abc"}) is None
    assert token_from_request_headers({}) is None
    assert token_from_request_headers([(b"x-agent-token", b"abc")]) == "abc"
    assert token_from_request_headers([(b"authorization", b"Bearer abc")]) == "abc"


def test_websocket_scope_authentication_uses_the_same_rules(agent_token):
    agent, token, raw = agent_token
    headers = [(b"authorization", f"Bearer {raw}".encode())]
    scope = {"client": ("10.0.0.9", 5000), "path": "/ws/agent/", "headers": headers}
    assert authenticate_websocket_scope(scope) == token
    assert authenticate_websocket_scope({**scope, "headers": []}) is None
    services.suspend_agent(agent=agent, actor=Actor.system())
    from agents.authentication import AgentAuthenticationFailed

    with pytest.raises(AgentAuthenticationFailed):
        authenticate_websocket_scope(scope)


def test_websocket_client_ip_honours_trusted_proxies():
    scope = {"client": ("10.0.0.1", 1), "headers": [(b"x-forwarded-for", b"6.6.6.6, 1.2.3.4")]}
    with override_settings(TRUSTED_PROXY_COUNT=0):
        assert client_ip_from_scope(scope) == "10.0.0.1"
    with override_settings(TRUSTED_PROXY_COUNT=1):
        assert client_ip_from_scope(scope) == "1.2.3.4"


def test_the_principal_is_not_a_django_user(agent_token):
    from django.contrib.auth.models import AbstractBaseUser

    agent, token, _raw = agent_token
    principal = AgentPrincipal(agent=agent, token=token)
    assert principal.is_authenticated and not principal.is_anonymous
    assert not isinstance(principal, AbstractBaseUser)


def test_failed_authentication_is_limited_per_ip_at_its_boundary(agent_token):
    """AGENT_AUTH_RATE=20/60s: 20 failures answer 401, the 21st 429 — even with a valid token."""
    _agent, _token, raw = agent_token
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    statuses = [client.get(ME, **bearer(bad_token())).status_code for _ in range(20)]
    assert statuses == [401] * 20
    response = client.get(ME, **bearer(bad_token()))
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "rate_limited"
    assert client.get(ME, **bearer(raw)).status_code == 429
    # Another address is unaffected.
    assert APIClient(REMOTE_ADDR="203.0.113.8").get(ME, **bearer(raw)).status_code == 200


@override_settings(AGENT_AUTH_RATE="3/60s", TRUSTED_PROXY_COUNT=0)
def test_without_trusted_proxies_x_forwarded_for_cannot_dodge_the_limit():
    client = APIClient(REMOTE_ADDR="198.51.100.1")
    statuses = [
        client.get(ME, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}", **bearer(bad_token())).status_code
        for i in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


@override_settings(AGENT_AUTH_RATE="3/60s", TRUSTED_PROXY_COUNT=1)
def test_with_a_trusted_proxy_each_forwarded_client_has_its_own_budget():
    proxy = APIClient(REMOTE_ADDR="10.0.0.2")
    first = [
        proxy.get(ME, HTTP_X_FORWARDED_FOR="192.0.2.1", **bearer(bad_token())).status_code for _ in range(4)
    ]
    assert first == [401, 401, 401, 429]
    # A spoofed left-most entry does not matter: the proxy-appended address is the client.
    other = proxy.get(ME, HTTP_X_FORWARDED_FOR="192.0.2.1, 192.0.2.2", **bearer(bad_token()))
    assert other.status_code == 401


@override_settings(AGENT_RATE="3/60s")
def test_authenticated_calls_are_limited_per_agent(agent_token, organization, board):
    _agent, _token, raw = agent_token
    _other, _t, other_raw = agent_with_token(organization=organization, name="other", boards=[board])
    client = APIClient()
    assert [client.get(ME, **bearer(raw)).status_code for _ in range(4)] == [200, 200, 200, 429]
    response = client.get(ME, **bearer(raw))
    assert response.json()["error"]["code"] == "rate_limited" and int(response["Retry-After"]) >= 1
    assert client.get(ME, **bearer(other_raw)).status_code == 200


@pytest.mark.urls("tests.agents.urls_mixed")
@override_settings(AGENT_RATE="3/60s")
def test_a_route_accepting_session_or_token_limits_the_agent_path_like_agent_routes(agent_token, api_client):
    _agent, _token, raw = agent_token
    client = APIClient()
    # The per-agent budget is shared between the mixed route and the agent-only route.
    assert client.get("/mixed/whoami", **bearer(raw)).status_code == 200
    assert client.get(ME, **bearer(raw)).status_code == 200
    assert client.get("/mixed/whoami", **bearer(raw)).json()["who"] == "agent:runner"
    response = client.get("/mixed/whoami", **bearer(raw))
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    # A bad token on the mixed route is a 401 counted against the IP, not a silent fall-through.
    bad = client.get("/mixed/whoami", **bearer(bad_token()))
    assert bad.status_code == 401 and bad["WWW-Authenticate"] == 'Bearer realm="api"'
    # The session path is untouched by the agent's limit.
    assert api_client.get("/mixed/whoami").json()["who"] == "owner"


@override_settings(AGENT_AUTH_RATE="2/60s", CACHES=DEAD_REDIS_CACHES)
def test_rate_limits_fail_open_when_redis_is_down(agent_token, caplog):
    _agent, _token, raw = agent_token
    from infra import ratelimits
    from infra.metrics import RATE_LIMIT_BACKEND_ERRORS

    ratelimits._last_warning_at = 0.0
    before = RATE_LIMIT_BACKEND_ERRORS.labels(limiter="agent_auth")._value.get()
    client = APIClient()
    with caplog.at_level(logging.WARNING):
        statuses = [client.get(ME, **bearer(bad_token())).status_code for _ in range(4)]
        assert statuses == [401] * 4  # over the 2/60s limit, but the limiter is down: allowed
        assert client.get(ME, **bearer(raw)).status_code == 200
    assert RATE_LIMIT_BACKEND_ERRORS.labels(limiter="agent_auth")._value.get() > before
    warnings = [r for r in caplog.records if "failing open" in r.getMessage()]
    assert len(warnings) == 1


def test_redis_dies_mid_test_and_requests_are_allowed(agent_token):
    """The limit works, then the ratelimit cache points at a dead port: requests pass again."""
    _agent, _token, raw = agent_token
    client = APIClient(REMOTE_ADDR="203.0.113.50")
    with override_settings(AGENT_AUTH_RATE="1/60s"):
        assert client.get(ME, **bearer(bad_token())).status_code == 401
        assert client.get(ME, **bearer(bad_token())).status_code == 429
        with override_settings(CACHES=DEAD_REDIS_CACHES):
            assert client.get(ME, **bearer(bad_token())).status_code == 401
            assert client.get(ME, **bearer(raw)).status_code == 200
    caches["ratelimit"].clear()


def _slices(raw: str, size: int = 6) -> set[str]:
    return {raw[i : i + size] for i in range(len(raw) - size + 1)}


def test_no_token_fragment_reaches_any_log_line(agent_token, caplog):
    agent, token, raw = agent_token
    revoked, revoked_raw = services.issue_agent_token(agent=agent, actor=Actor.system(), name="old")
    services.revoke_agent_token(token=revoked, actor=Actor.system())
    forged = raw[:-3] + ("abc" if not raw.endswith("abc") else "xyz")
    client = APIClient()
    with caplog.at_level(logging.DEBUG):
        assert client.get(ME, **bearer(raw)).status_code == 200
        assert client.get(ME, HTTP_X_AGENT_TOKEN=raw).status_code == 200
        assert client.get(ME, **bearer(forged)).status_code == 401
        assert client.get(ME, **bearer(revoked_raw)).status_code == 401
        assert client.get(ME, **bearer(raw + "zz")).status_code == 401
        services.rotate_agent_token(token=token, actor=Actor.system(), grace_seconds=60)
    assert any("agent authentication failed" in r.getMessage() for r in caplog.records)
    fragments = _slices(raw) | _slices(revoked_raw) | _slices(forged)
    formatter = logging.Formatter("%(message)s %(name)s")
    for record in caplog.records:
        text = formatter.format(record) + " " + " ".join(str(v) for v in vars(record).values())
        leaked = [f for f in fragments if f in text]
        assert not leaked, f"token fragment in log line: {record.getMessage()!r}"


def test_last_used_at_is_recorded_and_throttled(agent_token):
    agent, token, raw = agent_token
    client = APIClient()
    client.get(ME, **bearer(raw))
    token.refresh_from_db()
    agent.refresh_from_db()
    first_used, first_seen = token.last_used_at, agent.last_seen_at
    assert first_used is not None and first_seen is not None
    client.get(ME, **bearer(raw))
    token.refresh_from_db()
    agent.refresh_from_db()
    assert token.last_used_at == first_used and agent.last_seen_at == first_seen
    assert AgentToken.objects.filter(pk=token.pk, last_used_at__isnull=False).exists()


@override_settings(AGENT_AUTH_RATE="3/60s")
def test_every_agent_auth_rejection_is_counted_in_the_metric(agent_token):
    """The lockout itself answers 429 without counting a failure; each one is still a rejection."""
    from infra.metrics import RATE_LIMIT_REJECTIONS

    _agent, _token, raw = agent_token
    rejections = RATE_LIMIT_REJECTIONS.labels(limiter="agent_auth")
    before = rejections._value.get()
    client = APIClient(REMOTE_ADDR="203.0.113.44")
    statuses = [client.get(ME, **bearer(bad_token())).status_code for _ in range(3)]
    statuses += [client.get(ME, **bearer(bad_token() if i % 2 else raw)).status_code for i in range(10)]
    assert statuses == [401] * 3 + [429] * 10
    assert rejections._value.get() - before == 10
