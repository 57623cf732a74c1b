"""Login protection: failed-login windows per address and per username, session hygiene,
cookie flags in production, password validators, and "log out everywhere"."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client

from tests.factories import UserFactory

PASSWORD = "correct-horse-battery-staple"


def attempt(client: Client, username: str, password: str, *, ip: str = "10.0.0.1", **extra):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def fail(client: Client, username: str, times: int, *, ip: str = "10.0.0.1") -> None:
    for _ in range(times):
        assert attempt(client, username, "wrong-password", ip=ip).status_code == 200


def test_the_default_rate_allows_ten_failures_then_locks_with_retry_after(db, user):
    assert settings.LOGIN_RATE == "10/300s"
    client = Client()
    fail(client, "owner", 10)  # the boundary: the 10th failure still gets the form back
    response = attempt(client, "owner", PASSWORD)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 300
    assert b"Too many failed logins" in response.content
    # Locked means the password was not even checked: no session was created.
    assert "_auth_user_id" not in client.session


def test_it_answers_json_with_retry_after_to_api_clients(db, user, settings):
    settings.LOGIN_RATE = "2/60s"
    client = Client()
    fail(client, "owner", 2)
    response = attempt(client, "owner", "x", HTTP_ACCEPT="application/json")
    assert response.status_code == 429
    body = response.json()
    assert body["error"]["code"] == "rate_limited"
    assert body["error"]["retry_after"] == int(response["Retry-After"])


def test_it_locks_a_username_guessed_from_many_addresses(db, user, settings):
    settings.LOGIN_RATE = "3/60s"
    client = Client()
    for n in range(3):
        assert attempt(client, "owner", "wrong", ip=f"10.1.0.{n}").status_code == 200
    # A fresh address, the same account (in another case): locked.
    assert attempt(client, "OWNER ", PASSWORD, ip="10.9.9.9").status_code == 429
    # Another account from that fresh address is not affected.
    UserFactory(username="bystander")
    assert attempt(client, "bystander", PASSWORD, ip="10.9.9.9").status_code == 302


def test_it_locks_an_address_spraying_many_usernames(db, user, settings):
    settings.LOGIN_RATE = "3/60s"
    client = Client()
    for n in range(3):
        assert attempt(client, f"user-{n}", "wrong").status_code == 200
    assert attempt(client, "owner", PASSWORD).status_code == 429
    assert attempt(client, "owner", PASSWORD, ip="10.0.0.2").status_code == 302


def test_rotating_x_forwarded_for_does_not_bypass_the_address_window(db, user, settings):
    settings.LOGIN_RATE = "3/60s"
    settings.TRUSTED_PROXY_COUNT = 0
    client = Client()
    for n in range(3):
        response = attempt(client, f"user-{n}", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
        assert response.status_code == 200
    response = attempt(client, "someone", "wrong", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert response.status_code == 429


def test_a_successful_login_does_not_reset_the_counters(db, user, settings):
    settings.LOGIN_RATE = "3/60s"
    UserFactory(username="mallory")
    client = Client()
    fail(client, "owner", 2)
    # The attacker logs in to an account of their own from the same address...
    assert attempt(Client(), "mallory", PASSWORD).status_code == 302
    # ...which does not buy more guesses against the victim.
    fail(client, "owner", 1)
    assert attempt(client, "owner", PASSWORD).status_code == 429


def test_successful_logins_do_not_count_as_failures(db, user, settings):
    settings.LOGIN_RATE = "2/60s"
    for _ in range(4):
        assert attempt(Client(), "owner", PASSWORD).status_code == 302


def test_the_throttle_log_line_names_the_address_not_the_typed_username(db, user, settings, caplog):
    settings.LOGIN_RATE = "1/60s"
    client = Client()
    fail(client, "hunter2-typed-in-the-wrong-box", 1)
    with caplog.at_level(logging.DEBUG):
        assert attempt(client, "hunter2-typed-in-the-wrong-box", "x").status_code == 429
    assert "hunter2" not in caplog.text
    assert "10.0.0.1" in caplog.text


def test_the_login_form_requires_csrf(db, user):
    client = Client(enforce_csrf_checks=True)
    assert attempt(client, "owner", PASSWORD).status_code == 403


def test_login_cycles_the_session_key(db, user):
    client = Client()
    client.get("/login/")
    session = client.session
    session["pre_login"] = "marker"
    session.save()
    before = session.session_key
    assert attempt(client, "owner", PASSWORD).status_code == 302
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()


def test_password_validators_reject_weak_passwords(db):
    member = UserFactory(username="weakling")
    for weak in ("short", "password123", "12345678901", "weakling1"):
        with pytest.raises(ValidationError):
            validate_password(weak, user=member)
    validate_password("a long and unusual passphrase 7", user=member)


def test_production_cookies_are_secure_httponly_and_lax():
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "x" * 50,
        "DJANGO_SETTINGS_MODULE": "missioncontrol.settings",
    }
    for name in ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        env.pop(name, None)
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_SECURE, s.CSRF_COOKIE_SAMESITE]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [True, True, "Lax", True, "Lax"]


def test_the_session_cookie_sent_after_login_carries_the_flags(db, user, settings):
    settings.SESSION_COOKIE_SECURE = True
    client = Client()
    attempt(client, "owner", PASSWORD)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_admin_log_out_everywhere_ends_only_that_users_sessions(db, user, teammate):
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    laptop, phone, colleague = Client(), Client(), Client()
    for client, name in ((laptop, "owner"), (phone, "owner"), (colleague, "teammate")):
        assert attempt(client, name, PASSWORD, ip=f"10.2.0.{len(name)}").status_code == 302
    assert laptop.get("/").status_code == 200

    admin = Client()
    admin.force_login(superuser)
    response = admin.post(
        "/admin/auth/user/",
        {"action": "log_out_everywhere", "_selected_action": [user.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert b"Ended 2 session(s)." in response.content

    assert laptop.get("/").status_code == 302  # back to the login page
    assert phone.get("/").status_code == 302
    assert colleague.get("/").status_code == 200
    assert admin.get("/admin/").status_code == 200  # the admin's own session survives


# --- every password check shares the windows: admin login and password change ----------------


@pytest.fixture
def admin_user(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def admin_attempt(client: Client, username: str, password: str, *, ip: str = "10.0.0.1", **extra):
    return client.post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=ip, **extra
    )


def test_the_admin_login_is_throttled_like_the_login_page(admin_user):
    """The drill: 30 wrong admin passwords answered 200 and the 31st, right, logged in."""
    client = Client()
    statuses = [admin_attempt(client, "root", "wrong").status_code for _ in range(10)]
    assert statuses == [200] * 10
    response = admin_attempt(client, "root", PASSWORD)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 300
    assert "_auth_user_id" not in client.session


def test_a_username_locked_at_the_login_page_is_locked_at_the_admin_login(admin_user, settings):
    settings.LOGIN_RATE = "3/60s"
    for n in range(3):
        assert attempt(Client(), "root", "wrong", ip=f"10.2.0.{n}").status_code == 200
    response = admin_attempt(Client(), "root", PASSWORD, ip="10.9.9.9")
    assert response.status_code == 429


def test_failures_at_the_admin_login_lock_the_login_page_too(admin_user, settings):
    settings.LOGIN_RATE = "3/60s"
    for n in range(3):
        assert admin_attempt(Client(), "ROOT", "wrong", ip=f"10.3.0.{n}").status_code == 200
    assert attempt(Client(), "root", PASSWORD, ip="10.9.9.8").status_code == 429
    # The address that sprayed is locked for any username too.
    assert admin_attempt(Client(), "someone", "x", ip="10.3.0.2").status_code == 200
    assert admin_attempt(Client(), "other", "x", ip="10.3.0.2").status_code == 200
    assert admin_attempt(Client(), "third", "x", ip="10.3.0.2").status_code == 429


def test_the_admin_login_still_logs_in_with_the_right_password(admin_user):
    client = Client()
    response = admin_attempt(client, "root", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/admin/"


NEW_PASSWORD = "a-new-long-passphrase-42"


def change_password(client: Client, old: str, *, ip: str = "10.0.0.1"):
    return client.post(
        "/admin/password_change/",
        {"old_password": old, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        REMOTE_ADDR=ip,
    )


def test_wrong_old_passwords_at_password_change_count_and_lock(admin_user, settings):
    """A stolen session must not become an unlimited password oracle."""
    settings.LOGIN_RATE = "3/60s"
    client = Client()
    client.force_login(admin_user)
    assert [change_password(client, "wrong").status_code for _ in range(3)] == [200] * 3
    response = change_password(client, PASSWORD)
    assert response.status_code == 429
    admin_user.refresh_from_db()
    assert admin_user.check_password(PASSWORD)  # not changed while locked
    # The same username is locked at the login pages as well.
    assert attempt(Client(), "root", PASSWORD, ip="10.8.8.8").status_code == 429


def test_password_change_with_the_right_old_password_works(admin_user):
    client = Client()
    client.force_login(admin_user)
    assert change_password(client, PASSWORD).status_code == 302


def test_authenticate_refuses_to_check_a_password_while_locked(admin_user, settings):
    """The backend guards every caller of authenticate() with a request, not only the two views."""
    from django.contrib.auth import authenticate
    from django.test import RequestFactory

    settings.LOGIN_RATE = "2/60s"
    request = RequestFactory().post("/anything", REMOTE_ADDR="10.4.0.1")
    assert authenticate(request, username="root", password="wrong") is None
    assert authenticate(request, username="root", password="wrong") is None
    other = RequestFactory().post("/anything", REMOTE_ADDR="10.4.0.2")
    assert authenticate(other, username="root", password=PASSWORD) is None  # username locked
    assert authenticate(None, username="root", password=PASSWORD) == admin_user  # no request: scripts
