"""Webhook rules act through the same engine: their actions leave the same outcome record as a
schedule's or an automation's, approval asked for included."""

from __future__ import annotations

import pytest

from automations.models import ActionOutcome, OutcomeStatus
from tests.webhook_rules import github
from tests.webhook_rules.conftest import github_webhook, store, webhook  # noqa: F401 - fixtures
from webhook_rules import services as rule_services

pytestmark = pytest.mark.backend_independent


def test_a_rules_actions_leave_the_engines_outcome_records(github_webhook, board):  # noqa: F811
    board.require_approval_for_done = True
    board.save(update_fields=["require_approval_for_done"])
    opened = store(github_webhook, github.OPENED)
    rule_services.apply_rules(payload_id=opened.pk)
    closed = store(github_webhook, github.closed())
    rule_services.apply_rules(payload_id=closed.pk)
    created, asked = ActionOutcome.objects.filter(source_kind="rule").order_by("id")
    assert (created.status, created.firing) == (OutcomeStatus.APPLIED, f"payload:{opened.pk}")
    assert created.message.startswith("Created task #")
    assert (asked.status, asked.firing, asked.action) == (
        OutcomeStatus.APPROVAL_REQUESTED,
        f"payload:{closed.pk}",
        "close_task",
    )
    assert asked.task == created.task
