"""The ingest cache: the webhook, its board and who to notify, without a query per ingest,
and never stale after a change."""

from __future__ import annotations

import pytest

from agents.services import suspend_agent
from core.actors import Actor
from infra.exceptions import NotFound
from tests.factories import AgentFactory, BoardFactory
from webhooks import services
from webhooks.services import get_webhook_for_ingest

pytestmark = pytest.mark.django_db


def test_a_second_lookup_reads_no_database(webhook, board, django_assert_num_queries):
    get_webhook_for_ingest(board_id=board.pk, webhook_id=webhook.pk)
    with django_assert_num_queries(0):
        cached = get_webhook_for_ingest(board_id=board.pk, webhook_id=webhook.pk)
    assert cached.pk == webhook.pk and cached.board.organization_id == board.organization_id


def test_a_cached_webhook_is_still_not_found_under_another_board(webhook, board, organization):
    get_webhook_for_ingest(board_id=board.pk, webhook_id=webhook.pk)
    other = BoardFactory(organization=organization)
    with pytest.raises(NotFound):
        get_webhook_for_ingest(board_id=other.pk, webhook_id=webhook.pk)


def test_a_change_to_the_webhook_drops_it(webhook, board, user, django_capture_on_commit_callbacks):
    get_webhook_for_ingest(board_id=board.pk, webhook_id=webhook.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.set_webhook_enabled(webhook=webhook, actor=Actor.for_user(user), enabled=False)
    assert get_webhook_for_ingest(board_id=board.pk, webhook_id=webhook.pk).enabled is False


def test_a_deleted_webhook_is_not_found(webhook, board, user, django_capture_on_commit_callbacks):
    get_webhook_for_ingest(board_id=board.pk, webhook_id=webhook.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_webhook(webhook=webhook, actor=Actor.for_user(user))
    with pytest.raises(NotFound):
        get_webhook_for_ingest(board_id=board.pk, webhook_id=webhook.pk)


def test_a_change_to_an_agent_refreshes_who_is_notified(
    board, user, organization, django_capture_on_commit_callbacks
):
    lead = AgentFactory(organization=organization, is_board_lead=True)
    lead.boards.add(board)
    webhook, _ = services.create_webhook(board=board, actor=Actor.for_user(user), secret="")
    first = get_webhook_for_ingest(board_id=board.pk, webhook_id=webhook.pk)
    assert services.agents_to_notify(first) == [lead.pk]
    with django_capture_on_commit_callbacks(execute=True):
        suspend_agent(agent=lead, actor=Actor.for_user(user))
    again = get_webhook_for_ingest(board_id=board.pk, webhook_id=webhook.pk)
    assert services.agents_to_notify(again) == []
