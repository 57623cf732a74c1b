"""The ingest endpoint: every status code at its boundary, signatures, idempotency, storage."""

from __future__ import annotations

import io
import json
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.handlers.asgi import ASGIRequest
from django.db import OperationalError, connection, connections
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from activity import following
from activity.models import ActivityEvent, LogConsumerCursor
from core.actors import Actor
from core.signing import sha256_signature, standard_webhook_signature
from tests.factories import BoardFactory
from tests.webhooks_inbound.conftest import SECRET, ingest_path, post_signed
from webhooks import services
from webhooks.ingest import ingest_webhook
from webhooks.models import BoardWebhook, WebhookPayload

pytestmark = pytest.mark.django_db

LIMIT = 1_048_576


def _body_of(size: int) -> bytes:
    prefix = b'{"pad":"'
    return prefix + b"x" * (size - len(prefix) - 2) + b'"}'


# --- happy path and storage ------------------------------------------------------------------------


def test_it_stores_a_signed_payload_byte_exact_and_answers_202(sender, webhook):
    body = b'{"action": "opened",  "n": 1}\n'
    response = post_signed(sender, webhook, body, headers={"X-GitHub-Event": "issues"})
    assert response.status_code == 202
    assert response.json() == {"id": str(WebhookPayload.objects.get().pk), "duplicate": False}
    stored = WebhookPayload.objects.get()
    assert bytes(stored.body) == body
    assert stored.payload == {"action": "opened", "n": 1}
    assert stored.json_invalid is False
    assert stored.content_type == "application/json"
    assert stored.board_id == webhook.board_id
    assert stored.source_ip == "127.0.0.1"
    assert stored.headers["x-github-event"] == "issues"


def test_it_keeps_invalid_json_raw_and_flags_it(sender, webhook):
    body = b'{"broken": '
    response = post_signed(sender, webhook, body)
    assert response.status_code == 202
    stored = WebhookPayload.objects.get()
    assert (bytes(stored.body), stored.payload, stored.json_invalid) == (body, None, True)


@pytest.mark.parametrize(
    "body",
    [
        b'{"n": NaN}',
        b'{"s": "a\\u0000b"}',
        # Valid JSON that PostgreSQL's jsonb refuses: a lone surrogate (in a value or a key)
        # and numbers out of double range, which Python reads as infinity.
        b'{"a": "\\ud800"}',
        b'{"\\udfff": 1}',
        b'{"a": 1e400}',
        b'{"a": [-1e400]}',
    ],
)
def test_it_flags_json_the_database_cannot_store(sender, webhook, body):
    assert post_signed(sender, webhook, body).status_code == 202
    stored = WebhookPayload.objects.get()
    assert stored.json_invalid is True and bytes(stored.body) == body


def test_it_stores_non_json_bodies_raw_without_parsing(sender, webhook):
    body = b"\x00\xff binary \x01"
    response = post_signed(sender, webhook, body, content_type="application/octet-stream")
    assert response.status_code == 202
    stored = WebhookPayload.objects.get()
    assert (bytes(stored.body), stored.payload, stored.json_invalid) == (body, None, False)


def test_it_accepts_vendor_json_content_types(sender, webhook):
    assert (
        post_signed(
            sender, webhook, b'{"a": 1}', content_type="application/vnd.x+json; charset=utf-8"
        ).status_code
        == 202
    )
    assert WebhookPayload.objects.get().payload == {"a": 1}


def test_it_needs_no_session_and_no_csrf_token(api_client, webhook):
    # A logged-in browser client with CSRF checks on: the ingest view must not ask for a token.
    assert post_signed(api_client, webhook, b"{}").status_code == 202


def test_it_redacts_signature_and_credential_headers(sender, board, user):
    custom, _ = services.create_webhook(
        board=board, actor=Actor.for_user(user), secret=SECRET, signature_header="X-Signature"
    )
    body = b'{"a": 1}'
    response = post_signed(
        sender,
        custom,
        body,
        header="X-Signature",
        headers={
            "Authorization": "Bearer abc",
            "X-Hub-Signature-256": "sha256=00",
            "X-Api-Key": "k",
            "Cookie": "sessionid=s",
            "X-Request-Source": "ci",
        },
    )
    assert response.status_code == 202
    headers = WebhookPayload.objects.get().headers
    for name in ("x-signature", "authorization", "x-hub-signature-256", "x-api-key", "cookie"):
        assert headers[name] == "[redacted]", name
    assert headers["x-request-source"] == "ci"
    assert sha256_signature(SECRET, body).split("=")[1] not in json.dumps(headers)


def test_it_redacts_standard_webhook_signatures(sender, webhook):
    body = b"{}"
    stamp = str(int(time.time()))
    signature = standard_webhook_signature(SECRET, "msg_1", stamp, body)
    response = sender.post(
        ingest_path(webhook),
        data=body,
        content_type="application/json",
        headers={"webhook-id": "msg_1", "webhook-timestamp": stamp, "webhook-signature": signature},
    )
    assert response.status_code == 202
    assert WebhookPayload.objects.get().headers["webhook-signature"] == "[redacted]"


# --- 404, 405, 410 and routing -------------------------------------------------------------------------


def test_it_answers_the_same_404_for_an_unknown_board_and_an_unknown_webhook(sender, webhook, organization):
    other_board = BoardFactory(organization=organization)
    unknown_board = sender.post(
        f"/api/v1/boards/999999/webhooks/{webhook.pk}", data=b"{}", content_type="application/json"
    )
    wrong_board = sender.post(
        f"/api/v1/boards/{other_board.pk}/webhooks/{webhook.pk}", data=b"{}", content_type="application/json"
    )
    unknown_webhook = sender.post(
        f"/api/v1/boards/{webhook.board_id}/webhooks/999999", data=b"{}", content_type="application/json"
    )
    assert unknown_board.status_code == wrong_board.status_code == unknown_webhook.status_code == 404
    assert unknown_board.content == wrong_board.content == unknown_webhook.content
    assert unknown_board.json()["error"]["code"] == "not_found"


def test_it_does_not_redirect_or_accept_a_trailing_slash(sender, webhook):
    response = sender.post(ingest_path(webhook) + "/", data=b"{}", content_type="application/json")
    assert response.status_code == 404


def test_it_answers_410_for_a_disabled_webhook(sender, webhook, user):
    services.set_webhook_enabled(webhook=webhook, actor=Actor.for_user(user), enabled=False)
    response = post_signed(sender, webhook, b"{}")
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "gone"
    assert not WebhookPayload.objects.exists()


def test_it_refuses_other_methods_with_a_json_405(sender, webhook):
    response = sender.get(ingest_path(webhook))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["error"]["code"] == "method_not_allowed"


# --- 413 ---------------------------------------------------------------------------------------------


def test_it_accepts_a_body_of_exactly_the_limit(sender, webhook):
    body = _body_of(LIMIT)
    assert len(body) == LIMIT
    response = post_signed(sender, webhook, body)
    assert response.status_code == 202
    assert len(bytes(WebhookPayload.objects.get().body)) == LIMIT


def test_it_refuses_one_byte_over_the_limit_with_an_honest_content_length(sender, webhook):
    response = post_signed(sender, webhook, _body_of(LIMIT + 1))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert not WebhookPayload.objects.exists()


def test_it_refuses_a_declared_oversize_length_before_reading(sender, webhook):
    response = sender.post(
        ingest_path(webhook), data=b"{}", content_type="application/json", CONTENT_LENGTH=str(LIMIT + 1)
    )
    assert response.status_code == 413


@override_settings(WEBHOOK_MAX_PAYLOAD_BYTES=10, DATA_UPLOAD_MAX_MEMORY_SIZE=5)
def test_the_limit_is_configurable_and_independent_of_django_upload_limit(sender, webhook):
    assert post_signed(sender, webhook, b"0123456789", content_type="text/plain").status_code == 202
    assert post_signed(sender, webhook, b"0123456789A", content_type="text/plain").status_code == 413


def _asgi_request(webhook, body: bytes, content_length: str | None) -> ASGIRequest:
    headers = [
        (b"content-type", b"application/json"),
        (b"x-hub-signature-256", sha256_signature(SECRET, body).encode()),
    ]
    if content_length is not None:
        headers.append((b"content-length", content_length.encode()))
    scope = {
        "type": "http",
        "method": "POST",
        "path": ingest_path(webhook),
        "query_string": b"",
        "headers": headers,
        "client": ("10.0.0.9", 5000),
        "server": ("testserver", 80),
    }
    return ASGIRequest(scope, io.BytesIO(body))


@pytest.mark.parametrize("content_length", [None, "2", "0"], ids=["absent", "lying", "zero"])
def test_it_counts_the_bytes_it_reads_not_the_content_length(webhook, content_length):
    # Under ASGI the view reads whatever the server streamed, whatever the header says.
    over = _asgi_request(webhook, _body_of(LIMIT + 1), content_length)
    assert ingest_webhook(over, board_id=webhook.board_id, webhook_id=webhook.pk).status_code == 413
    exact = _asgi_request(webhook, _body_of(LIMIT), content_length)
    assert ingest_webhook(exact, board_id=webhook.board_id, webhook_id=webhook.pk).status_code == 202


# --- 429 ---------------------------------------------------------------------------------------------


def test_the_60th_request_in_the_window_is_accepted_and_the_61st_gets_429(sender, webhook, monkeypatch):
    # Fixed windows: pin the clock so a window boundary cannot fall inside the test.
    monkeypatch.setattr("django_ratelimit.core.time", SimpleNamespace(time=lambda: 1_800_000_000.0))
    unknown = f"/api/v1/boards/{webhook.board_id}/webhooks/999999"
    for _ in range(59):
        assert sender.post(unknown, data=b"{}", content_type="application/json").status_code == 404
    assert post_signed(sender, webhook, b"{}").status_code == 202
    response = post_signed(sender, webhook, b"{}")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["error"]["code"] == "rate_limited"
    assert WebhookPayload.objects.count() == 1


def test_the_rate_limit_is_per_client_address(sender, webhook, monkeypatch):
    monkeypatch.setattr("django_ratelimit.core.time", SimpleNamespace(time=lambda: 1_800_000_000.0))
    with override_settings(WEBHOOK_INGEST_RATE="1/60s"):
        assert post_signed(sender, webhook, b"{}").status_code == 202
        assert post_signed(sender, webhook, b"{}").status_code == 429
        assert post_signed(sender, webhook, b"{}", REMOTE_ADDR="10.1.2.3").status_code == 202


# --- 403: sha256= headers ----------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["X-Hub-Signature-256", "X-Webhook-Signature"])
def test_it_accepts_a_good_signature_in_either_default_header(sender, webhook, header):
    assert post_signed(sender, webhook, b'{"a":1}', header=header).status_code == 202


@pytest.mark.parametrize("header", ["X-Hub-Signature-256", "X-Webhook-Signature"])
def test_it_refuses_a_wrong_signature_without_saying_what_was_expected(sender, webhook, header):
    body = b'{"a":1}'
    response = post_signed(sender, webhook, body, header=header, secret="whsec_wrong-secret-0123456789")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "invalid_signature"
    assert sha256_signature(SECRET, body).split("=")[1] not in response.content.decode()
    assert not WebhookPayload.objects.exists()


def test_it_refuses_a_missing_signature(sender, webhook):
    response = sender.post(ingest_path(webhook), data=b"{}", content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_signature"
    assert "x-webhook-signature" in response.json()["error"]["message"]


def test_it_refuses_a_signature_without_the_sha256_prefix(sender, webhook):
    digest = sha256_signature(SECRET, b"{}").split("=")[1]
    response = sender.post(
        ingest_path(webhook),
        data=b"{}",
        content_type="application/json",
        headers={"X-Hub-Signature-256": digest},
    )
    assert response.status_code == 403


def test_it_refuses_a_signature_over_different_bytes(sender, webhook):
    response = sender.post(
        ingest_path(webhook),
        data=b'{"a": 1}',
        content_type="application/json",
        headers={"X-Hub-Signature-256": sha256_signature(SECRET, b'{"a":1}')},
    )
    assert response.status_code == 403


def test_a_custom_signature_header_is_the_only_one_looked_at(sender, board, user):
    custom, _ = services.create_webhook(
        board=board, actor=Actor.for_user(user), secret=SECRET, signature_header="X-Signature"
    )
    assert post_signed(sender, custom, b"{}", header="X-Signature").status_code == 202
    missing = post_signed(sender, custom, b"{}", header="X-Hub-Signature-256")
    assert missing.status_code == 403
    assert missing.json()["error"]["code"] == "missing_signature"
    assert "x-signature" in missing.json()["error"]["message"]
    wrong = post_signed(sender, custom, b"{}", header="X-Signature", secret="whsec_wrong-secret-0123456789")
    assert wrong.json()["error"]["code"] == "invalid_signature"


def test_an_unsigned_webhook_accepts_payloads_without_a_signature(sender, unsigned_webhook):
    response = sender.post(ingest_path(unsigned_webhook), data=b"{}", content_type="application/json")
    assert response.status_code == 202


# --- 403: Standard Webhooks --------------------------------------------------------------------------


def _post_standard(
    client, webhook, body: bytes, *, msg_id="msg_2a", timestamp=None, secret=SECRET, signature=None, drop=()
):
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": signature or standard_webhook_signature(secret, msg_id, stamp, body),
    }
    for name in drop:
        headers.pop(name)
    return client.post(ingest_path(webhook), data=body, content_type="application/json", headers=headers)


def test_it_accepts_a_good_standard_webhook_signature(sender, webhook):
    response = _post_standard(sender, webhook, b'{"type":"ping"}')
    assert response.status_code == 202
    assert WebhookPayload.objects.get().delivery_id == "msg_2a"


def test_it_accepts_one_of_several_standard_signatures(sender, webhook):
    stamp = int(time.time())
    good = standard_webhook_signature(SECRET, "m", stamp, b"{}")
    response = _post_standard(
        sender, webhook, b"{}", msg_id="m", timestamp=stamp, signature=f"v1,AAAA {good}"
    )
    assert response.status_code == 202


def test_it_refuses_a_wrong_standard_webhook_signature(sender, webhook):
    response = _post_standard(sender, webhook, b"{}", secret="whsec_b3RoZXItc2VjcmV0LXZhbHVlLTEyMw==")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp"])
def test_it_refuses_standard_webhooks_without_id_or_timestamp(sender, webhook, missing):
    response = _post_standard(sender, webhook, b"{}", drop=[missing])
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_signature"


@pytest.mark.parametrize("offset", [-300, 300])
def test_it_accepts_a_timestamp_just_inside_the_tolerance(sender, webhook, offset, monkeypatch):
    now = 1_800_000_000
    monkeypatch.setattr("webhooks.ingest.current_time", lambda: now + 0.0)
    assert _post_standard(sender, webhook, b"{}", timestamp=now + offset).status_code == 202


@pytest.mark.parametrize("offset", [-301, 301])
def test_it_refuses_a_timestamp_just_outside_the_tolerance(sender, webhook, offset, monkeypatch):
    now = 1_800_000_000
    monkeypatch.setattr("webhooks.ingest.current_time", lambda: now + 0.0)
    response = _post_standard(sender, webhook, b"{}", timestamp=now + offset)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_timestamp"


def test_it_refuses_a_non_numeric_timestamp(sender, webhook):
    assert _post_standard(sender, webhook, b"{}", timestamp="soon").status_code == 403


# --- rotation grace ----------------------------------------------------------------------------------


def test_both_secrets_verify_during_the_grace_period_and_only_the_new_one_after(sender, webhook, user):
    new = services.rotate_webhook_secret(webhook=webhook, actor=Actor.for_user(user), grace_seconds=600)
    assert post_signed(sender, webhook, b'{"n":1}', secret=SECRET).status_code == 202
    assert post_signed(sender, webhook, b'{"n":2}', secret=new).status_code == 202
    assert _post_standard(sender, webhook, b"{}", msg_id="old", secret=SECRET).status_code == 202
    BoardWebhook.objects.filter(pk=webhook.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    # A row changed behind the services' back: drop the ingest cache as they would.
    services.forget_webhook_for_ingest(webhook.pk)
    assert post_signed(sender, webhook, b'{"n":3}', secret=SECRET).status_code == 403
    assert post_signed(sender, webhook, b'{"n":4}', secret=new).status_code == 202


def test_rotation_without_grace_stops_the_old_secret_at_once(sender, webhook, user):
    new = services.rotate_webhook_secret(webhook=webhook, actor=Actor.for_user(user))
    assert post_signed(sender, webhook, b"{}", secret=SECRET).status_code == 403
    assert post_signed(sender, webhook, b"{}", secret=new).status_code == 202


# --- idempotency -------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["X-GitHub-Delivery", "Idempotency-Key"])
def test_a_replayed_delivery_id_returns_the_first_payload(sender, webhook, header):
    first = post_signed(sender, webhook, b'{"n":1}', headers={header: "d-1"})
    again = post_signed(sender, webhook, b'{"n":1}', headers={header: "d-1"})
    assert first.status_code == again.status_code == 202
    assert again.json() == {"id": first.json()["id"], "duplicate": True}
    assert WebhookPayload.objects.count() == 1


def test_a_replayed_standard_webhook_id_is_deduplicated(sender, webhook, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = _post_standard(sender, webhook, b"{}", msg_id="msg_same")
        again = _post_standard(sender, webhook, b"{}", msg_id="msg_same")
    assert again.json() == {"id": first.json()["id"], "duplicate": True}
    assert WebhookPayload.objects.count() == 1
    assert ActivityEvent.objects.filter(verb="webhook.received").count() == 1


def test_the_same_delivery_id_on_two_webhooks_is_two_payloads(sender, webhook, board, user):
    other, _ = services.create_webhook(board=board, actor=Actor.for_user(user), secret=SECRET)
    for target in (webhook, other):
        response = post_signed(sender, target, b"{}", headers={"X-GitHub-Delivery": "d"})
        assert response.json()["duplicate"] is False
    assert WebhookPayload.objects.count() == 2


def test_payloads_without_a_delivery_id_are_never_deduplicated(sender, webhook):
    post_signed(sender, webhook, b"{}")
    post_signed(sender, webhook, b"{}")
    assert WebhookPayload.objects.count() == 2


def test_it_refuses_an_overlong_delivery_id(sender, webhook):
    response = post_signed(sender, webhook, b"{}", headers={"Idempotency-Key": "k" * 201})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_delivery_id"


# --- 503 ---------------------------------------------------------------------------------------------


def test_it_answers_503_and_stores_nothing_when_the_database_fails_while_storing(
    sender, webhook, monkeypatch, django_capture_on_commit_callbacks
):
    def database_down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(WebhookPayload.objects, "create", database_down)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_signed(sender, webhook, b"{}", headers={"X-GitHub-Delivery": "d-503"})
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response.json()["error"]["code"] == "unavailable"
    assert callbacks == []
    assert not WebhookPayload.objects.exists()
    assert not ActivityEvent.objects.filter(verb="webhook.received").exists()


def test_it_answers_503_when_the_database_fails_while_looking_up_the_webhook(sender, webhook, monkeypatch):
    def database_down(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(services, "get_webhook_for_ingest", database_down)
    response = post_signed(sender, webhook, b"{}")
    assert response.status_code == 503
    assert "Retry-After" in response


def test_it_keeps_json_with_a_surrogate_pair_as_json(sender, webhook):
    body = b'{"emoji": "\\ud83d\\ude80"}'
    assert post_signed(sender, webhook, body).status_code == 202
    stored = WebhookPayload.objects.get()
    assert (stored.payload, stored.json_invalid) == ({"emoji": "\U0001f680"}, False)


# --- cost ----------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("delivery_id", "statements"), [(None, 5), ("d-queries", 7)], ids=["no-delivery-id", "delivery-id"]
)
def test_a_signed_ingest_runs_at_most_five_statements_and_two_commits(
    sender, webhook, delivery_id, statements, monkeypatch
):
    """Fails if anything synchronous joins the ingest request again (a listener, a lookup).

    As in production (ACTIVITY_CONSUMERS_INLINE off, a worker follows the log), with the webhook
    already in the ingest cache: the payload's INSERT and its event's INSERT, one commit; then the
    live publisher (lock its cursor, read what is new, advance), a second commit. A sender's
    delivery id adds the savepoint around the INSERT (SAVEPOINT, RELEASE) that lets a duplicate
    fail without failing the transaction.
    """
    monkeypatch.setattr(following, "enqueue_follow", lambda: None)  # the worker's part
    commits = []
    real_commit = connections["default"].commit
    monkeypatch.setattr(connections["default"], "commit", lambda: (commits.append(1), real_commit())[1])
    headers = {"X-GitHub-Delivery": delivery_id} if delivery_id else {}
    with override_settings(ACTIVITY_CONSUMERS_INLINE=False):
        assert post_signed(sender, webhook, b'{"warm": 1}').status_code == 202  # fills the cache
        commits.clear()
        with CaptureQueriesContext(connection) as captured:
            response = post_signed(sender, webhook, b'{"a": 1}', headers=headers)
    assert response.status_code == 202
    # Transaction control is not a statement of the work (SQLite's BEGIN IMMEDIATE and COMMIT are
    # captured as queries, PostgreSQL's are not); commits are counted on their own.
    work = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(("BEGIN", "COMMIT"))]
    assert len(work) <= statements, "\n".join(work)
    assert len(commits) <= 2
    event = ActivityEvent.objects.get(verb="webhook.received", target_id=response.json()["id"])
    assert event.position is not None
    assert LogConsumerCursor.objects.get(name="live").position >= event.position
