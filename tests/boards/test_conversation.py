"""One conversation per task: boards writes and reads a task's comments only through the seam
(boards.conversation, settings.TASK_CONVERSATION), which chat fills with the task's thread."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured

from activity.models import ActivityEvent
from boards import conversation, services
from chat import services as chat_services
from chat.models import ChatMessage
from core.actors import Actor
from deliveries.models import Delivery
from infra.exceptions import DomainError, RateLimited
from notifications.models import Notification, NotificationKind
from tests.activity.log import drain_log
from tests.factories import AgentFactory, TaskFactory

pytestmark = pytest.mark.django_db

# The fake store below: settings.TASK_CONVERSATION may name any module with these two functions.
POSTED: list[dict] = []


def post_comment(*, task, actor, body):
    POSTED.append({"task": task.pk, "actor": actor.label, "body": body})
    return SimpleNamespace(id=1, task_id=task.pk, body=body)


def task_messages(*, task):
    return ChatMessage.objects.none()


@pytest.fixture
def task(board):
    return TaskFactory(board=board, title="Fix the deploy")


@pytest.fixture
def bot(organization, board):
    agent = AgentFactory(
        organization=organization, name="release-bot", callback_url="https://agent.example.com/hook"
    )
    agent.boards.set([board])
    return agent


def test_a_comment_goes_to_the_store_the_settings_name_and_nowhere_else(settings, task, teammate):
    settings.TASK_CONVERSATION = __name__
    POSTED.clear()
    made = services.add_comment(task=task, actor=Actor.for_user(teammate), body="Deployed")
    assert [{"task": task.pk, "actor": "teammate", "body": "Deployed"}] == POSTED
    assert made.body == "Deployed"
    assert not ChatMessage.objects.exists() and not ActivityEvent.objects.exists()


def test_without_a_store_a_comment_is_a_configuration_error(settings, task, teammate):
    settings.TASK_CONVERSATION = ""
    with pytest.raises(ImproperlyConfigured):
        services.add_comment(task=task, actor=Actor.for_user(teammate), body="Deployed")


def test_the_review_rule_counts_a_message_posted_in_the_thread(board, task, teammate):
    board.require_comment_for_review = True
    board.save()
    task.status = "in_progress"
    task.save()
    chat_services.post_message(board=board, actor=Actor.for_user(teammate), body="PR 12 is up", task=task)
    assert services.move_task(task=task, actor=Actor.for_user(teammate), status="review").status == "review"


def test_a_comment_is_a_message_of_the_tasks_thread_with_both_events(board, task, teammate):
    made = services.add_comment(task=task, actor=Actor.for_user(teammate), body="Deployed to **staging**")
    message = ChatMessage.objects.get()
    assert (message.pk, message.task_id, message.board_id) == (made.pk, task.pk, board.pk)
    assert list(conversation.task_messages(task=task)) == [message]
    posted = ActivityEvent.objects.get(verb="chat.message_posted")
    added = ActivityEvent.objects.get(verb="comment.added")
    assert posted.detail["message"]["task_id"] == task.pk  # the live push the thread shows
    assert (added.target_type, added.target_id) == ("comment", str(message.pk))
    assert added.detail["task_id"] == task.pk and added.detail["comment_id"] == message.pk


def test_a_message_posted_in_the_thread_is_a_comment_too(board, task, teammate):
    """Listeners to comments hear the whole conversation, whichever way a message came in."""
    task.assignee_agent = AgentFactory(organization=board.organization)
    task.save()
    message = chat_services.post_message(board=board, actor=Actor.for_user(teammate), body="hi", task=task)
    added = ActivityEvent.objects.get(verb="comment.added")
    assert added.detail["message_id"] == message.pk
    assert added.notify_agent_ids == [task.assignee_agent_id]
    chat_services.post_message(board=board, actor=Actor.for_user(teammate), body="board-wide")
    assert ActivityEvent.objects.filter(verb="comment.added").count() == 1


@pytest.mark.parametrize(("length", "accepted"), [(20000, True), (20001, False)])
def test_a_comment_keeps_the_20000_character_limit_at_its_boundary(task, bot, length, accepted):
    def add():
        return services.add_comment(task=task, actor=Actor.for_agent(bot), body="x" * length)

    if accepted:
        assert len(add().body) == 20000
    else:
        with pytest.raises(DomainError) as refused:
            add()
        assert refused.value.code == "body_too_long"
        assert not ChatMessage.objects.exists()


def test_comments_are_not_under_the_chat_post_rate_but_chat_posts_are(settings, board, task, teammate):
    settings.CHAT_POST_RATE = "2/60s"
    actor = Actor.for_user(teammate)
    for n in range(3):
        services.add_comment(task=task, actor=actor, body=f"comment {n}")
    services.move_task(task=task, actor=actor, status="in_progress", note="a move's note never fails it")
    chat_services.post_message(board=board, actor=actor, body="one", task=task)
    chat_services.post_message(board=board, actor=actor, body="two", task=task)
    with pytest.raises(RateLimited):
        chat_services.post_message(board=board, actor=actor, body="three", task=task)
    assert conversation.task_messages(task=task).count() == 6


def test_a_comment_mention_reaches_the_agent_and_the_bell_once(task, teammate, user, bot):
    made = services.add_comment(task=task, actor=Actor.for_user(teammate), body="@release-bot and @owner: go")
    drain_log()
    mentioned = ActivityEvent.objects.get(verb="chat.mentioned")
    assert mentioned.notify_agent_ids == [bot.pk] and mentioned.detail["message_id"] == made.pk
    assert ActivityEvent.objects.get(verb="comment.added").notify_agent_ids == [bot.pk]
    # Pushed to the push-mode agent (both events: "you were named" and "the conversation grew").
    assert sorted(Delivery.objects.filter(agent=bot).values_list("event_type", flat=True)) == [
        "chat.mentioned",
        "comment.added",
    ]
    [bell] = Notification.objects.filter(recipient=user, kind=NotificationKind.MENTION)
    assert bell.url.endswith(f"#chat-message-{made.pk}")


def test_a_reply_in_the_thread_mentioning_the_agent_wakes_it(board, task, teammate, bot):
    """The reverse of an agent's comment: a person answers in the thread, naming the agent."""
    services.add_comment(task=task, actor=Actor.for_agent(bot), body="Deployed; shall I roll out?")
    reply = chat_services.post_message(
        board=board, actor=Actor.for_user(teammate), body="@release-bot yes, go", task=task
    )
    mentioned = ActivityEvent.objects.get(verb="chat.mentioned")
    assert mentioned.notify_agent_ids == [bot.pk] and mentioned.detail["thread_task_id"] == task.pk
    assert [m.agent_id for m in reply.mentions.all()] == [bot.pk]


def test_a_legacy_comment_event_still_notifies_the_people_it_names(organization, board, task, teammate, user):
    """A `comment.added` written before comments joined the thread (no `message_id`) that the
    notifications consumer had not reached yet is still told."""
    from activity.services import record_activity

    record_activity(
        organization=organization,
        board=board,
        verb="comment.added",
        actor=Actor.for_user(teammate),
        target_type="comment",
        target_id=99,
        detail={"task_id": task.pk, "excerpt": "@owner look", "mentioned_user_ids": [user.pk]},
    )
    drain_log()
    assert Notification.objects.filter(recipient=user, kind=NotificationKind.MENTION).count() == 1
