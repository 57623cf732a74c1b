"""Webhook management and what happens after a payload is stored."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection
from django.test import Client
from django.utils import timezone

from activity.models import ActivityEvent
from boards.models import Task
from core.actors import Actor
from core.encryption import decrypt_secret
from core.signing import standard_webhook_key
from infra.exceptions import DomainError, NotFound, PermissionDenied
from tests.conftest import requires_postgres
from tests.factories import AgentFactory
from tests.webhooks_inbound.conftest import SECRET, post_signed
from webhooks import services
from webhooks.models import BoardWebhook, WebhookPayload


@pytest.mark.django_db
class TestManagingWebhooks:
    def test_it_generates_a_secret_returned_once_and_stored_encrypted(self, board, user):
        webhook, secret = services.create_webhook(board=board, actor=Actor.for_user(user), description="CI")
        assert secret.startswith("whsec_") and len(standard_webhook_key(secret)) == 32
        stored = BoardWebhook.objects.get(pk=webhook.pk)
        assert secret not in stored.secret_ciphertext
        assert decrypt_secret(stored.secret_ciphertext) == secret
        assert stored.created_by == user
        assert ActivityEvent.objects.filter(verb="webhook.created", target_id=str(webhook.pk)).exists()
        assert secret not in str(ActivityEvent.objects.get(verb="webhook.created").detail)

    def test_an_empty_secret_creates_an_unsigned_webhook(self, board, user):
        webhook, secret = services.create_webhook(board=board, actor=Actor.for_user(user), secret="")
        assert secret is None and webhook.secret_ciphertext == ""

    def test_it_refuses_a_short_secret(self, board, user):
        with pytest.raises(DomainError):
            services.create_webhook(board=board, actor=Actor.for_user(user), secret="short")

    def test_it_refuses_an_invalid_signature_header_name(self, board, user):
        with pytest.raises(DomainError):
            services.create_webhook(board=board, actor=Actor.for_user(user), signature_header="X Bad: header")

    def test_it_refuses_a_target_agent_of_another_organization(self, board, user, other_organization):
        stranger = AgentFactory(organization=other_organization)
        with pytest.raises(DomainError):
            services.create_webhook(board=board, actor=Actor.for_user(user), target_agent=stranger)

    def test_only_admins_manage_webhooks(self, board, teammate, outsider, webhook):
        with pytest.raises(PermissionDenied):
            services.create_webhook(board=board, actor=Actor.for_user(teammate))
        with pytest.raises(NotFound):
            services.create_webhook(board=board, actor=Actor.for_user(outsider))
        with pytest.raises(PermissionDenied):
            services.rotate_webhook_secret(webhook=webhook, actor=Actor.for_user(teammate))
        with pytest.raises(PermissionDenied):
            services.delete_webhook(webhook=webhook, actor=Actor.for_user(teammate))

    def test_the_system_actor_may_manage_webhooks(self, board):
        webhook, secret = services.create_webhook(board=board, actor=Actor.system())
        assert services.rotate_webhook_secret(webhook=webhook, actor=Actor.system()) != secret

    def test_rotation_with_grace_keeps_the_previous_secret_until_it_expires(self, webhook, user):
        new = services.rotate_webhook_secret(webhook=webhook, actor=Actor.for_user(user), grace_seconds=60)
        webhook.refresh_from_db()
        assert services.webhook_secrets(webhook) == [new, SECRET]
        later = timezone.now() + timedelta(seconds=61)
        assert services.webhook_secrets(webhook, now=later) == [new]

    def test_rotation_refuses_a_grace_period_out_of_range(self, webhook, user):
        with pytest.raises(DomainError):
            services.rotate_webhook_secret(webhook=webhook, actor=Actor.for_user(user), grace_seconds=-1)
        with pytest.raises(DomainError):
            services.rotate_webhook_secret(
                webhook=webhook,
                actor=Actor.for_user(user),
                grace_seconds=services.MAX_ROTATION_GRACE_SECONDS + 1,
            )

    def test_rotating_an_unsigned_webhook_makes_it_signed(self, unsigned_webhook, user):
        secret = services.rotate_webhook_secret(
            webhook=unsigned_webhook, actor=Actor.for_user(user), grace_seconds=60
        )
        unsigned_webhook.refresh_from_db()
        assert services.webhook_secrets(unsigned_webhook) == [secret]

    def test_delete_removes_payloads_and_records_it(self, webhook, user):
        services.ingest_webhook_payload(webhook=webhook, body=b"{}")
        services.delete_webhook(webhook=webhook, actor=Actor.for_user(user))
        assert not BoardWebhook.objects.exists() and not WebhookPayload.objects.exists()
        assert ActivityEvent.objects.filter(verb="webhook.deleted").exists()

    def test_webhook_url_uses_the_public_base_url(self, webhook, settings):
        settings.PUBLIC_BASE_URL = "https://mc.example.com"
        assert services.webhook_url(webhook) == (
            f"https://mc.example.com/api/v1/boards/{webhook.board_id}/webhooks/{webhook.pk}"
        )


class TestTaskTitleTemplate:
    def test_it_substitutes_top_level_scalars_only(self):
        payload = {"action": "opened", "number": 42, "ok": True, "issue": {"title": "x"}}
        title = services.render_task_title("{action} #{number} {ok} {issue} {missing}", payload, fallback="f")
        assert title == "opened #42 true"

    def test_it_cannot_reach_attributes_or_format_specs(self):
        template = "{action.__class__} {action!r} {action:>10}"
        title = services.render_task_title(template, {"action": "x"}, fallback="f")
        assert title == template and "class" not in title.replace("__class__", "")

    def test_it_truncates_to_200_characters_and_falls_back_when_empty(self):
        assert len(services.render_task_title("{a}", {"a": "y" * 500}, fallback="f")) == 200
        assert services.render_task_title("{a}", ["not", "a", "dict"], fallback="fallback") == "fallback"


@pytest.mark.django_db
class TestAfterStoring:
    def test_it_records_webhook_received_and_notifies_the_target_agent(
        self, board, user, organization, django_capture_on_commit_callbacks
    ):
        agent = AgentFactory(organization=organization)
        webhook, _ = services.create_webhook(board=board, actor=Actor.for_user(user), target_agent=agent)
        recorded = []
        original = services.record_activity

        def spy(**kwargs):
            recorded.append(kwargs)
            return original(**kwargs)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(services, "record_activity", spy)
            with django_capture_on_commit_callbacks(execute=True):
                result = services.ingest_webhook_payload(
                    webhook=webhook,
                    body=b'{"a":1}',
                    content_type="application/json",
                    headers={"x-github-event": "push"},
                )
        event = ActivityEvent.objects.get(verb="webhook.received")
        assert event.board_id == board.pk and event.actor_kind == "webhook"
        assert event.target_type == "webhookpayload" and event.target_id == str(result.payload.pk)
        assert event.detail["event"] == "push" and event.detail["size"] == 7
        assert recorded[-1]["notify_agent_ids"] == [agent.pk]

    def test_it_notifies_the_board_lead_when_there_is_no_target_agent(self, webhook, board, organization):
        lead = AgentFactory(organization=organization, is_board_lead=True)
        lead.boards.add(board)
        AgentFactory(organization=organization).boards.add(board)
        assert services.agents_to_notify(webhook) == [lead.pk]

    def test_it_creates_an_inbox_task_from_the_template(
        self, board, user, django_capture_on_commit_callbacks
    ):
        webhook, _ = services.create_webhook(
            board=board,
            actor=Actor.for_user(user),
            creates_task=True,
            task_title_template="Alert: {alertname}",
        )
        with django_capture_on_commit_callbacks(execute=True):
            services.ingest_webhook_payload(
                webhook=webhook, body=b'{"alertname": "DiskFull"}', content_type="application/json"
            )
        task = Task.objects.get(board=board, title="Alert: DiskFull")
        assert task.status == "inbox"
        assert ActivityEvent.objects.get(verb="webhook.received").detail["task_id"] == task.pk

    def test_a_failing_task_creation_keeps_the_payload_and_the_event(
        self, board, user, monkeypatch, django_capture_on_commit_callbacks
    ):
        from boards import services as board_services

        def broken(**kwargs):
            raise RuntimeError("boom")

        monkeypatch.setattr(board_services, "create_task", broken)
        webhook, _ = services.create_webhook(board=board, actor=Actor.for_user(user), creates_task=True)
        with django_capture_on_commit_callbacks(execute=True):
            result = services.ingest_webhook_payload(webhook=webhook, body=b"{}")
        assert WebhookPayload.objects.filter(pk=result.payload.pk).exists()
        assert ActivityEvent.objects.filter(verb="webhook.received").exists()
        assert not Task.objects.filter(board=board).exists()

    def test_a_failing_event_insert_stores_nothing_and_asks_the_sender_to_retry(
        self, webhook, monkeypatch, django_capture_on_commit_callbacks
    ):
        """The payload and its event commit together: never a payload the log does not know of
        (no consumer would ever see it), and never a 202 for what is not stored."""

        def broken(**kwargs):
            raise DatabaseError("the event's insert failed")

        monkeypatch.setattr(services, "record_activity", broken)
        with django_capture_on_commit_callbacks(execute=True):
            response = post_signed(Client(), webhook, b"{}")
        assert response.status_code == 503 and response["Retry-After"]
        assert WebhookPayload.objects.count() == 0

    def test_replay_records_webhook_replayed_with_the_agent_to_notify(self, board, user, organization):
        agent = AgentFactory(organization=organization)
        webhook, _ = services.create_webhook(board=board, actor=Actor.for_user(user), target_agent=agent)
        payload = services.ingest_webhook_payload(webhook=webhook, body=b"{}").payload
        services.replay_webhook_payload(payload=payload, actor=Actor.for_user(user))
        event = ActivityEvent.objects.get(verb="webhook.replayed")
        assert event.target_id == str(payload.pk) and event.actor_user == user

    def test_replay_without_any_agent_is_refused(self, webhook, user):
        payload = services.ingest_webhook_payload(webhook=webhook, body=b"{}").payload
        with pytest.raises(DomainError):
            services.replay_webhook_payload(payload=payload, actor=Actor.for_user(user))


@pytest.mark.django_db
def test_prune_deletes_payloads_older_than_the_retention(webhook, settings):
    settings.WEBHOOK_RETENTION_DAYS = 90
    old = services.ingest_webhook_payload(webhook=webhook, body=b"old").payload
    edge = services.ingest_webhook_payload(webhook=webhook, body=b"edge").payload
    fresh = services.ingest_webhook_payload(webhook=webhook, body=b"fresh").payload
    now = timezone.now()
    WebhookPayload.objects.filter(pk=old.pk).update(received_at=now - timedelta(days=90, seconds=1))
    WebhookPayload.objects.filter(pk=edge.pk).update(received_at=now - timedelta(days=89, hours=23))
    assert services.prune_webhook_payloads() == 1
    assert set(WebhookPayload.objects.values_list("pk", flat=True)) == {edge.pk, fresh.pk}
    assert services.prune_webhook_payloads(older_than_days=0) == 2


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_identical_deliveries_store_one_payload(webhook):
    barrier = threading.Barrier(2)
    responses = []

    def send():
        try:
            barrier.wait(5)
            response = post_signed(Client(), webhook, b'{"n":1}', headers={"X-GitHub-Delivery": "race"})
            responses.append(response)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(r.status_code for r in responses) == [202, 202]
    assert sorted(r.json()["duplicate"] for r in responses) == [False, True]
    assert len({r.json()["id"] for r in responses}) == 1
    assert WebhookPayload.objects.filter(delivery_id="race").count() == 1
