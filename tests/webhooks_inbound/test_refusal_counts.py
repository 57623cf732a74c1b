"""Refusals of a known webhook are counted per day and reason (the overview's "webhooks refused");
one counter row per day and reason, however many refusals."""

from __future__ import annotations

import pytest

from tests.webhooks_inbound.conftest import ingest_path, post_signed
from webhooks import services
from webhooks.models import WebhookRefusalCount

pytestmark = pytest.mark.django_db


def counts(webhook) -> dict[str, int]:
    return dict(WebhookRefusalCount.objects.filter(webhook=webhook).values_list("reason", "count"))


def test_a_bad_signature_is_counted_once_per_refusal_on_one_row(sender, webhook):
    for _ in range(3):
        assert post_signed(sender, webhook, b"{}", secret="wrong-secret").status_code == 403
    assert counts(webhook) == {"invalid_signature": 3}
    assert WebhookRefusalCount.objects.count() == 1


def test_a_missing_signature_and_a_disabled_webhook_are_counted_by_reason(sender, webhook):
    assert sender.post(ingest_path(webhook), data=b"{}", content_type="application/json").status_code == 403
    webhook.enabled = False
    webhook.save(update_fields=["enabled"])
    services.forget_webhook_for_ingest(webhook.pk)  # saved behind the services' back
    assert post_signed(sender, webhook, b"{}").status_code == 410
    assert counts(webhook) == {"missing_signature": 1, "disabled": 1}


def test_a_payload_over_the_limit_is_counted(sender, webhook, settings):
    settings.WEBHOOK_MAX_PAYLOAD_BYTES = 10
    assert post_signed(sender, webhook, b'{"a": "0123456789"}').status_code == 413
    assert counts(webhook) == {"too_large": 1}


def test_an_accepted_payload_and_an_unknown_webhook_count_no_refusal(sender, webhook):
    assert post_signed(sender, webhook, b"{}").status_code == 202
    assert (
        sender.post(
            f"/api/v1/boards/{webhook.board_id}/webhooks/999999", data=b"{}", content_type="application/json"
        ).status_code
        == 404
    )
    assert WebhookRefusalCount.objects.count() == 0
