"""Logins in the audit trail: `auth.login` and `auth.login_failed` activity events.

Signals are the only hook Django gives for logins, so these are receivers (connected in
MissionControlConfig.ready). An ActivityEvent belongs to one organization, so a login is
recorded once per organization the user belongs to. A failed login for a username that does
not exist is only logged (with the client address, not the typed name, which is sometimes a
password typed in the wrong box). Logins made in code without an HTTP request (the test
client's force_login, scripts) are not audited.
"""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from activity.services import record_activity
from core.actors import Actor
from core.models import Organization
from infra.client_ip import client_ip_from_meta

logger = logging.getLogger("missioncontrol.audit")


def _is_http_request(request) -> bool:
    return request is not None and bool(getattr(request, "META", {}).get("REQUEST_METHOD"))


def _record_for_each_organization(*, user, verb: str, actor, detail: dict) -> int:
    count = 0
    for organization in Organization.objects.filter(memberships__user=user).distinct():
        record_activity(
            organization=organization,
            verb=verb,
            actor=actor,
            target_type="user",
            target_id=user.pk,
            detail=detail,
        )
        count += 1
    return count


@receiver(user_logged_in, dispatch_uid="missioncontrol.audit.login")
def record_login(sender, request=None, user=None, **kwargs) -> None:
    if user is None or not _is_http_request(request):
        return
    ip = client_ip_from_meta(request.META)
    logger.info("login: user id %s from %s", user.pk, ip, extra={"event": "auth.login", "user_id": user.pk})
    try:
        _record_for_each_organization(
            user=user, verb="auth.login", actor=Actor.for_user(user), detail={"ip": ip}
        )
    except Exception as exc:  # an audit write must not turn a good login into a 500
        logger.error("could not record auth.login: %s", type(exc).__name__)


@receiver(user_login_failed, dispatch_uid="missioncontrol.audit.login_failed")
def record_login_failure(sender, credentials=None, request=None, **kwargs) -> None:
    if not _is_http_request(request):
        return
    ip = client_ip_from_meta(request.META)
    username = (credentials or {}).get(get_user_model().USERNAME_FIELD) or ""
    user = (
        get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
        if username
        else None
    )
    if user is None:
        logger.warning(
            "failed login for an unknown username from %s", ip, extra={"event": "auth.login_failed", "ip": ip}
        )
        return
    logger.warning(
        "failed login for user id %s from %s",
        user.pk,
        ip,
        extra={"event": "auth.login_failed", "user_id": user.pk, "ip": ip},
    )
    try:
        # The actor is whoever typed the password, not the account owner: recorded as system,
        # with the target naming the account.
        _record_for_each_organization(
            user=user,
            verb="auth.login_failed",
            actor=Actor.system(),
            detail={"ip": ip, "username": user.get_username()},
        )
    except Exception as exc:
        logger.error("could not record auth.login_failed: %s", type(exc).__name__)
