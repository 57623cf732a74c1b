"""Audit events for logins, the activity export, and re-encryption of secrets under a new key."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from activity.models import ActivityEvent
from activity.services import record_activity
from core.actors import Actor
from core.encryption import SecretUnreadable, decrypt_secret, encrypt_secret
from core.models import Role
from deliveries.models import Subscription
from tests.factories import MembershipFactory
from webhooks.models import BoardWebhook

PASSWORD = "correct-horse-battery-staple"


# --- logins -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_login_records_auth_login_in_every_organization_of_the_user(client, user, other_organization):
    MembershipFactory(organization=other_organization, user=user, role=Role.VIEWER)
    response = client.post("/login/", {"username": "owner", "password": PASSWORD}, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 302
    events = ActivityEvent.objects.filter(verb="auth.login")
    assert events.count() == 2
    assert {e.organization_id for e in events} == {
        user.memberships.first().organization_id,
        other_organization.pk,
    }
    assert all(e.actor_user_id == user.pk and e.detail == {"ip": "198.51.100.7"} for e in events)


@pytest.mark.django_db
def test_a_failed_login_of_a_known_user_records_auth_login_failed(client, user):
    client.post("/login/", {"username": "owner", "password": "wrong"}, REMOTE_ADDR="198.51.100.7")
    event = ActivityEvent.objects.get(verb="auth.login_failed")
    assert event.target_id == str(user.pk)
    assert event.detail == {"ip": "198.51.100.7", "username": "owner"}
    assert "wrong" not in json.dumps(event.detail)


@pytest.mark.django_db
def test_a_failed_login_of_an_unknown_username_is_only_logged(client, user, caplog):
    with caplog.at_level(logging.WARNING, logger="missioncontrol.audit"):
        client.post("/login/", {"username": "my-password-typed-here", "password": "x"})
    assert not ActivityEvent.objects.filter(verb__startswith="auth.").exists()
    assert any("unknown username" in r.getMessage() for r in caplog.records)
    assert "my-password-typed-here" not in caplog.text


@pytest.mark.django_db
def test_logins_in_code_without_a_request_are_not_audited(client, user):
    client.force_login(user)
    assert not ActivityEvent.objects.filter(verb="auth.login").exists()


# --- export ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_export_activity_writes_json_lines_since_the_date(organization, user, tmp_path):
    old = record_activity(organization=organization, verb="task.created", actor=Actor.for_user(user))
    ActivityEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    record_activity(organization=organization, verb="task.moved", actor=Actor.for_user(user))
    record_activity(organization=organization, verb="auth.login", actor=Actor.for_user(user))
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    output = tmp_path / "audit.jsonl"

    call_command("export_activity", "--since", since, "--format", "jsonl", "--output", str(output))

    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert [line["verb"] for line in lines] == ["task.moved", "auth.login"]
    assert lines[0]["organization_slug"] == "acme" and lines[0]["actor"]["label"] == "owner"


@pytest.mark.django_db
def test_export_activity_filters_by_verb_prefix_to_stdout(organization, user, capsys):
    record_activity(organization=organization, verb="task.moved", actor=Actor.for_user(user))
    record_activity(organization=organization, verb="auth.login", actor=Actor.for_user(user))
    call_command("export_activity", "--since", "2000-01-01", "--verb", "auth.")
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["verb"] for line in lines] == ["auth.login"]


@pytest.mark.django_db
def test_export_activity_queries_do_not_grow_with_the_number_of_events(
    organization, user, tmp_path, django_assert_max_num_queries
):
    for _ in range(30):
        record_activity(organization=organization, verb="task.moved", actor=Actor.for_user(user))
    with django_assert_max_num_queries(3):
        call_command("export_activity", "--since", "2000-01-01", "--output", str(tmp_path / "a.jsonl"))
    assert len((tmp_path / "a.jsonl").read_text().splitlines()) == 30


def test_export_activity_rejects_a_bad_date():
    with pytest.raises(CommandError, match="ISO date"):
        call_command("export_activity", "--since", "last tuesday")


# --- key rotation ----------------------------------------------------------------------------------

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


@pytest.fixture
def secrets_under_old_key(settings, board, organization):
    settings.SECRET_ENCRYPTION_KEYS = [OLD_KEY]
    hook = BoardWebhook.objects.create(
        board=board,
        secret_ciphertext=encrypt_secret("whsec-current"),
        previous_secret_ciphertext=encrypt_secret("whsec-previous"),
    )
    subscription = Subscription.objects.create(
        organization=organization,
        target_url="https://example.com/in",
        secret_ciphertext=encrypt_secret("sub"),
    )
    return hook, subscription


@pytest.mark.django_db
def test_rotation_keeps_old_secrets_readable_and_moves_them_to_the_new_key(settings, secrets_under_old_key):
    hook, subscription = secrets_under_old_key
    settings.SECRET_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]  # step 1: new key first, old still listed
    hook.refresh_from_db()
    assert decrypt_secret(hook.secret_ciphertext) == "whsec-current"  # readable during rollout

    call_command("rotate_secret_encryption")  # step 2

    settings.SECRET_ENCRYPTION_KEYS = [NEW_KEY]  # step 3: old key removed
    hook.refresh_from_db()
    subscription.refresh_from_db()
    assert decrypt_secret(hook.secret_ciphertext) == "whsec-current"
    assert decrypt_secret(hook.previous_secret_ciphertext) == "whsec-previous"
    assert decrypt_secret(subscription.secret_ciphertext) == "sub"
    event = ActivityEvent.objects.get(verb="secrets.reencrypted")
    assert event.detail == {"secrets": 3}
    assert "whsec" not in json.dumps(event.detail)


@pytest.mark.django_db
def test_rotation_changes_nothing_when_a_secret_cannot_be_decrypted(settings, secrets_under_old_key):
    hook, _ = secrets_under_old_key
    before = BoardWebhook.objects.get(pk=hook.pk).secret_ciphertext
    settings.SECRET_ENCRYPTION_KEYS = [NEW_KEY]  # the old key was dropped too early
    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("rotate_secret_encryption")
    assert BoardWebhook.objects.get(pk=hook.pk).secret_ciphertext == before
    with pytest.raises(SecretUnreadable):
        decrypt_secret(before)


@pytest.mark.django_db
def test_rotation_dry_run_writes_nothing(settings, secrets_under_old_key, capsys):
    hook, _ = secrets_under_old_key
    before = BoardWebhook.objects.get(pk=hook.pk).secret_ciphertext
    settings.SECRET_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    call_command("rotate_secret_encryption", "--dry-run")
    assert BoardWebhook.objects.get(pk=hook.pk).secret_ciphertext == before
    assert "nothing changed" in capsys.readouterr().out


@pytest.mark.django_db
def test_rotation_also_moves_secrets_off_a_retired_django_secret_key(settings, board):
    settings.SECRET_ENCRYPTION_KEYS = []
    settings.SECRET_KEY = "old-django-secret-key-0123456789-abcdefghijklmnop"
    hook = BoardWebhook.objects.create(board=board, secret_ciphertext=encrypt_secret("whsec-x"))
    settings.SECRET_KEY = "new-django-secret-key-0123456789-abcdefghijklmnop"
    settings.SECRET_KEY_FALLBACKS = ["old-django-secret-key-0123456789-abcdefghijklmnop"]

    call_command("rotate_secret_encryption")

    settings.SECRET_KEY_FALLBACKS = []
    hook.refresh_from_db()
    assert decrypt_secret(hook.secret_ciphertext) == "whsec-x"
