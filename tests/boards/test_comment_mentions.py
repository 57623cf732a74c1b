"""@mentions in task comments notify people and wake agents the way board chat mentions do: a
comment is a message in the task's thread (boards.conversation), so they are chat's mentions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from activity.models import ActivityEvent
from boards import services
from chat import services as chat_services
from core.actors import Actor
from core.models import Role
from deliveries.models import Delivery
from infra.exceptions import DomainError
from notifications.models import BoardMute, Notification, NotificationKind
from tests.activity.log import drain_log
from tests.factories import AgentFactory, MembershipFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(board):
    return TaskFactory(board=board, title="Fix the deploy")


@pytest.fixture
def bot(organization, board):
    agent = AgentFactory(organization=organization, name="release-bot")
    agent.boards.set([board])
    return agent


@pytest.fixture
def push_bot(organization, board):
    agent = AgentFactory(
        organization=organization, name="push-bot", callback_url="https://agent.example.com/hook"
    )
    agent.boards.set([board])
    return agent


def comment(task, who, body):
    """A comment, then the log's consumers (notifications, deliveries) as the worker runs them."""
    actor = Actor.for_agent(who) if hasattr(who, "callback_url") else Actor.for_user(who)
    made = services.add_comment(task=task, actor=actor, body=body)
    drain_log()
    return made


def mentions_of(user) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind=NotificationKind.MENTION))


def test_a_comment_mention_notifies_each_named_person_once(task, user, teammate, viewer):
    made = comment(task, teammate, "@owner @OWNER and @viewer, please look. @owner.")
    [to_owner] = mentions_of(user)
    assert len(mentions_of(viewer)) == 1
    assert not Notification.objects.filter(recipient=teammate).exists()
    assert to_owner.title == "teammate mentioned you in “Fix the deploy”"
    assert (
        to_owner.url
        == reverse("boards:task-detail", args=[task.board_id, task.pk]) + f"#chat-message-{made.pk}"
    )
    assert "please look" in to_owner.excerpt


def test_a_comment_never_notifies_its_author_a_stranger_or_someone_who_muted_the_board(
    task, board, teammate, user, outsider
):
    BoardMute.objects.create(board=board, user=user)
    comment(task, teammate, "@teammate to myself, @outsider is not here, @owner muted us")
    assert not Notification.objects.filter(kind=NotificationKind.MENTION).exists()


def test_a_comment_mention_wakes_each_agent_and_pushes_to_push_mode_agents(task, teammate, bot, push_bot):
    made = comment(task, teammate, "@release-bot and @push-bot: @release-bot again")
    event = ActivityEvent.objects.get(verb="comment.added", target_id=str(made.pk))
    assert event.detail["mentioned_agent_ids"] == sorted([bot.pk, push_bot.pk])
    # The signed push goes to the agent with a callback URL; the other reads its stream.
    [delivery] = Delivery.objects.filter(event_type="comment.added")
    assert delivery.agent_id == push_bot.pk


def test_an_agent_not_on_the_board_is_not_woken(organization, task, teammate):
    AgentFactory(organization=organization, name="elsewhere-bot", callback_url="https://agent.example.com/x")
    made = comment(task, teammate, "@elsewhere-bot hello")
    event = ActivityEvent.objects.get(verb="comment.added", target_id=str(made.pk))
    assert event.detail["mentioned_agent_ids"] == []
    assert not Delivery.objects.exists()


def test_an_agent_mentioning_a_person_in_a_comment_notifies_them(task, bot, user):
    comment(task, bot, "done, @owner: have a look")
    assert [n.actor_label for n in mentions_of(user)] == [bot.name]


def test_a_note_on_a_move_notifies_the_people_it_mentions(task, teammate, user):
    services.move_task(
        task=task, actor=Actor.for_user(teammate), status="in_progress", note="@owner picking it up"
    )
    drain_log()
    assert len(mentions_of(user)) == 1


def test_the_fan_out_cap_is_the_chats_at_the_boundary(settings, organization, task, user):
    settings.CHAT_MENTION_FANOUT_MAX = 2
    for name in ("ann", "bob", "cy"):
        MembershipFactory(organization=organization, user=UserFactory(username=name), role=Role.VIEWER)
    comment(task, user, "@ann @bob")  # at the cap: fine
    assert Notification.objects.filter(kind=NotificationKind.MENTION).count() == 2
    with pytest.raises(DomainError) as refused:
        comment(task, user, "@ann @bob @cy")
    assert refused.value.code == "too_many_mentions"


def test_chat_and_comments_resolve_the_same_text_to_the_same_people(board, task, teammate, user, viewer, bot):
    text = "@Owner, @viewer. cc @release-bot @nobody email@owner.com"
    message = chat_services.post_message(board=board, actor=Actor.for_user(teammate), body=text)
    made = comment(task, teammate, text)
    chat_event = ActivityEvent.objects.get(verb="chat.mentioned", target_id=str(message.pk))
    comment_event = ActivityEvent.objects.get(verb="comment.added", target_id=str(made.pk))
    assert sorted(chat_event.detail["user_ids"]) == comment_event.detail["mentioned_user_ids"]
    assert sorted(chat_event.detail["agent_ids"]) == comment_event.detail["mentioned_agent_ids"]
    assert comment_event.detail["mentioned_user_ids"] == sorted([user.pk, viewer.pk])
