"""Every event type chat and notifications emit is registered with a sentence that renders, and
the sentence escapes what people and agents wrote."""

from __future__ import annotations

import pytest

from activity.models import ActivityEvent
from activity.registry import get_event_type

pytestmark = pytest.mark.django_db

EMITTED = {
    "chat.message_posted",
    "chat.message_edited",
    "chat.message_deleted",
    "chat.message_pinned",
    "chat.message_unpinned",
    "chat.mentioned",
    "notification.board_muted",
    "notification.board_unmuted",
    "notification.task_watched",
    "notification.task_unwatched",
}


def test_every_emitted_type_is_registered_and_renders_escaped(organization, board):
    for verb in EMITTED:
        event_type = get_event_type(verb)
        assert event_type is not None, f"{verb} is not registered"
        event = ActivityEvent(
            organization=organization,
            board=board,
            actor_kind="agent",
            actor_label="<b>bot</b>",
            verb=verb,
            detail={
                "excerpt": "<script>x</script>",
                "name": "<i>n</i>",
                "title": "<i>t</i>",
                "agent_ids": [1],
                "user_ids": [2],
                "here": False,
            },
        )
        sentence = str(event_type.sentence(event))
        assert "&lt;b&gt;bot&lt;/b&gt;" in sentence, verb
        assert "<script>" not in sentence and "<i>" not in sentence, verb


def test_the_mention_event_stays_off_the_board_feed():
    assert get_event_type("chat.mentioned").on_board_feed is False
    assert get_event_type("chat.message_posted").on_board_feed is True


def test_a_post_in_a_tasks_thread_reads_as_a_comment_on_the_task(organization, board):
    """The thread is the task's conversation: its post is the board feed's line for the comment."""
    event = ActivityEvent(
        organization=organization,
        board=board,
        actor_kind="user",
        actor_label="ann",
        verb="chat.message_posted",
        detail={"excerpt": "Deployed", "thread_task_id": 7, "thread_task_title": "<i>Fix</i> it"},
    )
    sentence = str(get_event_type("chat.message_posted").sentence(event))
    assert sentence.startswith("ann commented on <a href=") and f"/boards/{board.pk}/tasks/7/" in sentence
    assert "&lt;i&gt;Fix&lt;/i&gt; it" in sentence and "“Deployed”" in sentence
    board_chat = ActivityEvent(
        organization=organization, board=board, actor_label="ann", verb="chat.message_posted", detail={}
    )
    assert "wrote in the chat" in str(get_event_type("chat.message_posted").sentence(board_chat))


@pytest.mark.parametrize("verb", ["chat.message_posted", "comment.added"])
def test_feed_quotes_show_the_text_of_markdown_not_its_syntax(organization, board, verb):
    """A quote in the feed is one line of text: "**182 ms**" reads "182 ms"; markup stays inert."""
    event = ActivityEvent(
        organization=organization,
        board=board,
        actor_kind="user",
        actor_label="ann",
        verb=verb,
        detail={"excerpt": "p95 is **182 ms** on `prod` <img src=x onerror=alert(1)>", "task_id": 7},
    )
    sentence = str(get_event_type(verb).sentence(event))
    assert "p95 is 182 ms on prod" in sentence
    assert (
        "**" not in sentence and "`" not in sentence and "<img" not in sentence and "onerror" not in sentence
    )
