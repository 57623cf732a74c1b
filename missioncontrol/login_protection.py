"""Login throttling: failed logins counted per client address and per username.

Every failed attempt counts once against two fixed windows of LOGIN_RATE (default 10/300s):
one keyed by the client address (TRUSTED_PROXY_COUNT decides whether X-Forwarded-For is
believed, so rotating that header buys nothing when no proxy is trusted) and one keyed by the
normalised username (so a botnet of addresses cannot guess one account's password). While
either window is full the login form answers 429 with Retry-After and the password is not
checked at all: a correct guess during a lockout reveals nothing.

A successful login resets nothing. Resetting the address window on success would let an
attacker interleave logins to an account of their own with guesses against someone else's;
resetting the username window would let a victim's own login clear an attacker's count.
The trade-off is that a guessed-at username is locked for its owner too until the window ends;
admins can see that in the audit trail (auth.login_failed events).

Counting uses missioncontrol.ratelimits (fail-open: with the backend down, logins still work).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_ratelimit.core import get_usage

from missioncontrol import ratelimits
from missioncontrol.client_ip import client_ip_from_meta
from missioncontrol.errors import json_error
from missioncontrol.metrics import RATE_LIMIT_BACKEND_ERRORS, RATE_LIMIT_REJECTIONS

logger = logging.getLogger(__name__)

IP_LIMITER = "login-ip"
USERNAME_LIMITER = "login-username"
# Usernames longer than this are not real ones (Django's field is 150); cap what we key on.
_MAX_USERNAME_KEY = 150


@dataclass(frozen=True)
class Lockout:
    locked: bool
    retry_after: int = 0


def normalise_username(raw: str | None) -> str:
    """Case- and space-insensitive, so `Owner ` and `owner` share one window."""
    return (raw or "").strip().lower()[:_MAX_USERNAME_KEY]


def _keys(request: HttpRequest, username: str) -> list[tuple[str, str]]:
    keys = [(IP_LIMITER, client_ip_from_meta(request.META))]
    if username:
        keys.append((USERNAME_LIMITER, username))
    return keys


def _peek(limiter: str, key: str, rate: str) -> Lockout:
    """Is this window already full? Reads without counting; fails open like ratelimits.hit."""
    try:
        usage = get_usage(
            None, group=f"mc:{limiter}", key=lambda _group, _request: key, rate=rate, increment=False
        )
    except Exception:  # backend down: never lock people out because Redis is
        RATE_LIMIT_BACKEND_ERRORS.labels(limiter=limiter).inc()
        return Lockout(locked=False)
    if usage is None:
        return Lockout(locked=False)
    # `count` failures already happened in this window; the limit is how many are allowed.
    if usage["count"] >= usage["limit"]:
        return Lockout(locked=True, retry_after=max(1, int(usage["time_left"])))
    return Lockout(locked=False)


def login_lockout(request: HttpRequest, username: str) -> Lockout:
    """The longest lockout among the address and username windows (not locked if neither is full)."""
    rate = settings.LOGIN_RATE
    retry_after = 0
    for limiter, key in _keys(request, username):
        lockout = _peek(limiter, key, rate)
        if lockout.locked:
            RATE_LIMIT_REJECTIONS.labels(limiter=limiter).inc()
            retry_after = max(retry_after, lockout.retry_after)
    return Lockout(locked=retry_after > 0, retry_after=retry_after)


def record_failed_login(request: HttpRequest, username: str) -> None:
    """Count one failure in both windows."""
    rate = settings.LOGIN_RATE
    for limiter, key in _keys(request, username):
        ratelimits.hit(limiter, key, rate)


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def throttled_response(request: HttpRequest, retry_after: int) -> HttpResponse:
    headers = {"Retry-After": str(retry_after)}
    if _wants_json(request):
        return json_error(
            429, "rate_limited", f"Too many failed logins; try again in {retry_after} seconds.",
            headers=headers, retry_after=retry_after,
        )
    response = render(
        request, "registration/login_throttled.html", {"retry_after": retry_after}, status=429
    )
    response["Retry-After"] = str(retry_after)
    return response


@method_decorator([sensitive_post_parameters(), csrf_protect, never_cache], name="dispatch")
class ThrottledLoginView(auth_views.LoginView):
    """Django's LoginView (which cycles the session key on login) behind the failed-login windows."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        username = normalise_username(request.POST.get("username"))
        lockout = login_lockout(request, username)
        if lockout.locked:
            # The client address only: the typed username is sometimes a password.
            logger.warning(
                "login throttled for %s (retry in %ss)", client_ip_from_meta(request.META),
                lockout.retry_after, extra={"event": "auth.login_throttled"},
            )
            return throttled_response(request, lockout.retry_after)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form) -> HttpResponse:
        record_failed_login(self.request, normalise_username(self.request.POST.get("username")))
        return super().form_invalid(form)
