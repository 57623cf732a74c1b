"""chat 0003 copies every task comment into its task's thread once, keeping author and time.

Fast: boards.Comment is kept (read-only) in the current schema, so the migration's function runs
on the current models inside the test's transaction, without migrating the database back and
forth (tests/core/test_migration_upgrade.py does that for the schema as a whole).
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import import_module

import pytest
from django.apps import apps

from activity.services import record_activity
from boards.models import Comment
from chat.models import ChatMessage
from core.actors import Actor
from tests.factories import AgentFactory, TaskFactory

pytestmark = pytest.mark.django_db

migration = import_module("chat.migrations.0003_copy_task_comments")


def old_comment(task, *, at, body, user=None, agent=None) -> Comment:
    comment = Comment.objects.create(task=task, author_user=user, author_agent=agent, body=body)
    Comment.objects.filter(pk=comment.pk).update(created_at=at)
    comment.refresh_from_db()
    return comment


def test_it_copies_each_comment_once_with_its_author_time_and_text(organization, board, user, teammate):
    task = TaskFactory(board=board)
    bot = AgentFactory(organization=organization, name="release-bot")
    first = old_comment(task, at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC), body="Started", user=user)
    second = old_comment(task, at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC), body="Deployed **now**", agent=bot)
    by_rule = old_comment(task, at=datetime(2026, 3, 3, 9, 0, tzinfo=UTC), body="@hubot on GitHub: +1")
    record_activity(
        organization=organization,
        board=board,
        verb="comment.added",
        actor=Actor(kind="webhook", label="GitHub issues"),
        target_type="comment",
        target_id=by_rule.pk,
    )
    old_comment(
        TaskFactory(board=board), at=datetime(2026, 3, 4, tzinfo=UTC), body="Elsewhere", user=teammate
    )

    assert migration.copy_comments(apps, None) == 4

    thread = list(ChatMessage.objects.filter(task=task).order_by("created_at"))
    assert [(m.legacy_comment_id, m.body, m.author_label) for m in thread] == [
        (first.pk, "Started", "owner"),
        (second.pk, "Deployed **now**", "release-bot"),
        (by_rule.pk, "@hubot on GitHub: +1", "GitHub issues"),
    ]
    assert [m.created_at.day for m in thread] == [1, 2, 3]
    assert [m.created_at for m in thread] == [first.created_at, second.created_at, by_rule.created_at]
    assert (thread[0].author_user_id, thread[1].author_agent_id) == (user.pk, bot.pk)
    assert all(m.board_id == board.pk for m in thread)

    # Idempotent: a second run (a rerun, a partly applied copy) copies nothing again.
    assert migration.copy_comments(apps, None) == 0
    assert ChatMessage.objects.count() == 4
    # And auto_now_add is back for messages written afterwards.
    assert ChatMessage._meta.get_field("created_at").auto_now_add


def test_reversing_it_deletes_the_copies_and_keeps_the_threads_own_messages(board, user):
    task = TaskFactory(board=board)
    old_comment(task, at=datetime(2026, 3, 1, tzinfo=UTC), body="Started", user=user)
    own = ChatMessage.objects.create(
        board=board, task=task, author_user=user, author_label="owner", body="hi"
    )
    migration.copy_comments(apps, None)
    migration.delete_copies(apps, None)
    assert list(ChatMessage.objects.all()) == [own]
    assert Comment.objects.count() == 1
