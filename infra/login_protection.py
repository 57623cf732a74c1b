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

Every password check shares the two windows: `/login/`, `/admin/login/` and the admin's
password change answer 429 while locked (ThrottledLoginView, ThrottledAdminSite); the
authentication backend refuses to check a password while locked for any other caller of
`authenticate()` with a request; and every failure is counted once, from Django's
`user_login_failed` signal (sent by `authenticate()` whoever called it) or, for a wrong old
password at password change (which does not go through `authenticate()`), by the admin site.

Counting uses infra.ratelimits (fail-open: with the backend down, logins still work).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_ratelimit.core import get_usage

from infra import ratelimits
from infra.client_ip import client_ip_from_meta
from infra.errors import json_error
from infra.metrics import RATE_LIMIT_BACKEND_ERRORS, RATE_LIMIT_REJECTIONS

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
            429,
            "rate_limited",
            f"Too many failed logins; try again in {retry_after} seconds.",
            headers=headers,
            retry_after=retry_after,
        )
    response = render(request, "registration/login_throttled.html", {"retry_after": retry_after}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def refusal_while_locked(request: HttpRequest, username: str) -> HttpResponse | None:
    """The 429 for a password check attempted while either window is full, else None."""
    lockout = login_lockout(request, username)
    if not lockout.locked:
        return None
    # The client address only: the typed username is sometimes a password.
    logger.warning(
        "login throttled for %s (retry in %ss)",
        client_ip_from_meta(request.META),
        lockout.retry_after,
        extra={"event": "auth.login_throttled"},
    )
    return throttled_response(request, lockout.retry_after)


def _is_http_request(request: HttpRequest | None) -> bool:
    return request is not None and bool(getattr(request, "META", {}).get("REQUEST_METHOD"))


@receiver(user_login_failed, dispatch_uid="infra.login_protection.count_failure")
def count_failed_login(sender, credentials=None, request=None, **kwargs) -> None:
    """Every failed authenticate() with a request counts once, whichever view called it."""
    if not _is_http_request(request):
        return
    username = (credentials or {}).get(get_user_model().USERNAME_FIELD)
    record_failed_login(request, normalise_username(username))


class ThrottledModelBackend(ModelBackend):
    """Django's backend, refusing to check a password while the caller's address or the username
    is locked, so no view (present or future) can become an unthrottled password oracle.
    Without a request (scripts, management commands) it checks as usual."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if _is_http_request(request):
            typed = username if username is not None else kwargs.get(get_user_model().USERNAME_FIELD)
            if login_lockout(request, normalise_username(typed)).locked:
                raise PermissionDenied  # authenticate() stops here and reports a failure
        return super().authenticate(request, username=username, password=password, **kwargs)


@method_decorator([sensitive_post_parameters(), csrf_protect, never_cache], name="dispatch")
class ThrottledLoginView(auth_views.LoginView):
    """Django's LoginView (which cycles the session key on login) behind the failed-login windows."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        refusal = refusal_while_locked(request, normalise_username(request.POST.get("username")))
        return refusal or super().post(request, *args, **kwargs)


class ThrottledAdminSite(AdminSite):
    """The admin site (installed as the default one by infra.apps.ThrottledAdminConfig) with its login
    and password change behind the same windows as `/login/`."""

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        if request.method == "POST":
            refusal = refusal_while_locked(request, normalise_username(request.POST.get("username")))
            if refusal is not None:
                return refusal
        return super().login(request, extra_context)

    def password_change(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        username = normalise_username(request.user.get_username()) if request.user.is_authenticated else ""
        if request.method == "POST":
            refusal = refusal_while_locked(request, username)
            if refusal is not None:
                return refusal
        response = super().password_change(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        if request.method == "POST" and form is not None and "old_password" in form.errors:
            # A wrong old password is a failed password check that authenticate() never saw.
            record_failed_login(request, username)
        return response
