"""Chat writes: post, edit, delete, pin; who may; limits at their boundaries; mentions that notify
each person once and wake each agent once."""

from __future__ import annotations

import pytest

from activity.models import ActivityEvent
from chat import services
from chat.models import ChatMention, ChatMessage
from core.actors import Actor
from core.models import Role
from deliveries.models import Delivery
from infra.exceptions import Conflict, DomainError, NotFound, PermissionDenied, RateLimited
from notifications.models import BoardMute, Notification
from tests.activity.log import drain_log
from tests.factories import AgentFactory, BoardFactory, MembershipFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


def post(board, who, body, **kwargs):
    actor = Actor.for_agent(who) if hasattr(who, "callback_url") else Actor.for_user(who)
    return services.post_message(board=board, actor=actor, body=body, **kwargs)


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


def test_an_operator_posts_and_the_post_is_recorded(board, teammate, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = post(board, teammate, "  Deploying **now**  ")
    assert message.body == "Deploying **now**" and message.author_label == "teammate"
    event = ActivityEvent.objects.get(verb="chat.message_posted")
    assert event.detail["message_id"] == message.pk and event.actor_user == teammate


def test_it_rejects_a_post_by_a_viewer(board, viewer):
    with pytest.raises(PermissionDenied):
        post(board, viewer, "hello")
    assert not ChatMessage.objects.exists()


def test_it_hides_the_board_from_an_outsider(board, outsider):
    with pytest.raises(NotFound):
        post(board, outsider, "hello")


def test_an_agent_posts_only_on_its_boards(organization, board, bot):
    assert post(board, bot, "on it").author_agent == bot
    elsewhere = BoardFactory(organization=organization, name="Other", slug="other")
    with pytest.raises(NotFound):
        post(elsewhere, bot, "sneaking in")


def test_it_rejects_an_empty_message(board, teammate):
    with pytest.raises(DomainError) as error:
        post(board, teammate, "   ")
    assert error.value.code == "body_required"


def test_the_size_limit_is_inclusive(board, teammate, settings):
    settings.CHAT_MESSAGE_MAX_CHARS = 10
    assert post(board, teammate, "x" * 10)
    with pytest.raises(DomainError) as error:
        post(board, teammate, "x" * 11)
    assert error.value.code == "body_too_long"


def test_it_rate_limits_posts_per_author_with_a_retry_after(board, teammate, user, settings):
    settings.CHAT_POST_RATE = "2/60s"
    post(board, teammate, "one")
    post(board, teammate, "two")
    with pytest.raises(RateLimited) as error:
        post(board, teammate, "three")
    assert error.value.retry_after >= 1 and error.value.status_code == 429
    assert post(board, user, "someone else may still post")
    assert ChatMessage.objects.filter(author_user=teammate).count() == 2


def test_it_rejects_a_post_on_an_archived_board(board, teammate):
    board.archived = True
    board.save()
    with pytest.raises(Conflict):
        post(board, teammate, "hello")


def test_it_rejects_a_thread_task_of_another_board(organization, board, teammate):
    other_task = TaskFactory(board=BoardFactory(organization=organization, name="B", slug="b"))
    with pytest.raises(NotFound):
        post(board, teammate, "hello", task=other_task)


# --- edit, delete, pin -------------------------------------------------------------------------


def test_the_author_edits_and_the_previous_text_is_recorded(board, teammate):
    message = post(board, teammate, "first draft")
    services.edit_message(message=message, actor=Actor.for_user(teammate), body="second draft")
    message.refresh_from_db()
    assert message.body == "second draft" and message.edited_at is not None
    event = ActivityEvent.objects.get(verb="chat.message_edited")
    assert event.detail["previous_excerpt"] == "first draft"


def test_another_operator_cannot_edit_or_delete(organization, board, teammate):
    other = UserFactory(username="other-operator")
    MembershipFactory(organization=organization, user=other, role=Role.OPERATOR)
    message = post(board, teammate, "mine")
    with pytest.raises(PermissionDenied):
        services.edit_message(message=message, actor=Actor.for_user(other), body="yours now")
    with pytest.raises(PermissionDenied):
        services.delete_message(message=message, actor=Actor.for_user(other))
    message.refresh_from_db()
    assert message.body == "mine" and message.deleted_at is None


def test_an_admin_deletes_anyones_message_and_the_text_is_kept_in_the_audit(board, teammate, user):
    message = post(board, teammate, "oops, a secret")
    services.delete_message(message=message, actor=Actor.for_user(user))
    message.refresh_from_db()
    assert message.body == "" and message.deleted_at is not None
    event = ActivityEvent.objects.get(verb="chat.message_deleted")
    assert event.actor_user == user and event.detail["excerpt"] == "oops, a secret"


def test_an_agent_edits_only_its_own_messages(board, bot, teammate):
    own = post(board, bot, "status: green")
    services.edit_message(message=own, actor=Actor.for_agent(bot), body="status: amber")
    theirs = post(board, teammate, "hello")
    with pytest.raises(PermissionDenied):
        services.edit_message(message=theirs, actor=Actor.for_agent(bot), body="hijacked")


def test_a_deleted_message_cannot_be_edited(board, teammate):
    message = post(board, teammate, "gone soon")
    services.delete_message(message=message, actor=Actor.for_user(teammate))
    with pytest.raises(Conflict):
        services.edit_message(message=message, actor=Actor.for_user(teammate), body="back")


def test_operators_pin_to_the_board_memory_and_agents_cannot(board, teammate, bot):
    message = post(board, teammate, "Deploys need a green CI run")
    services.set_pinned(message=message, actor=Actor.for_user(teammate), pinned=True)
    message.refresh_from_db()
    assert message.pinned_at is not None
    assert ActivityEvent.objects.filter(verb="chat.message_pinned").count() == 1
    with pytest.raises(PermissionDenied):
        services.set_pinned(message=message, actor=Actor.for_agent(bot), pinned=False)


# --- mentions ----------------------------------------------------------------------------------


def test_a_mention_notifies_each_person_exactly_once(
    board, user, teammate, viewer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = post(board, teammate, "@owner @OWNER and @viewer, please look. @owner.")
    assert Notification.objects.filter(recipient=user).count() == 1
    assert Notification.objects.filter(recipient=viewer).count() == 1
    assert not Notification.objects.filter(recipient=teammate).exists()
    assert set(ChatMention.objects.filter(message=message).values_list("user__username", flat=True)) == {
        "owner",
        "viewer",
    }


def test_it_never_notifies_the_author_or_a_stranger(board, teammate, outsider):
    post(board, teammate, "@teammate talking to myself, and @outsider is not here")
    assert not Notification.objects.exists()
    assert not ChatMention.objects.filter(user=outsider).exists()


def test_a_mention_wakes_each_agent_once_and_pushes_to_push_mode_agents(board, teammate, bot, push_bot):
    post(board, teammate, "@release-bot and @push-bot: @release-bot again")
    [event] = ActivityEvent.objects.filter(verb="chat.mentioned")
    assert event.detail["agent_ids"] == sorted([bot.pk, push_bot.pk])
    # One signed delivery, to the agent that has a callback URL; the pull-mode agent reads its stream.
    drain_log()  # deliveries' fan-out follows the log, as the worker would
    [delivery] = Delivery.objects.filter(event_type="chat.mentioned")
    assert delivery.agent_id == push_bot.pk


def test_an_agent_not_on_the_board_is_not_mentioned(organization, board, teammate):
    AgentFactory(organization=organization, name="elsewhere-bot")
    post(board, teammate, "@elsewhere-bot hello")
    assert (
        not ChatMention.objects.exists() and not ActivityEvent.objects.filter(verb="chat.mentioned").exists()
    )


def test_here_notifies_everyone_on_the_board_but_the_author(board, user, teammate, viewer, bot):
    post(board, teammate, "@here release at 5")
    assert sorted(Notification.objects.values_list("recipient__username", flat=True)) == ["owner", "viewer"]
    assert set(Notification.objects.values_list("kind", flat=True)) == {"here"}
    assert ActivityEvent.objects.get(verb="chat.mentioned").detail["agent_ids"] == [bot.pk]


def test_here_plus_a_name_still_notifies_that_person_once(board, user, teammate):
    post(board, teammate, "@board and especially @owner")
    assert Notification.objects.filter(recipient=user).count() == 1


def test_here_is_rate_limited_per_author_and_board(board, teammate, settings):
    settings.CHAT_HERE_RATE = "1/600s"
    post(board, teammate, "@here first")
    with pytest.raises(RateLimited):
        post(board, teammate, "@here second")
    assert post(board, teammate, "a normal message still goes through")


def test_the_fan_out_cap_is_inclusive(organization, board, teammate, settings):
    for n in range(3):
        MembershipFactory(
            organization=organization, user=UserFactory(username=f"person{n}"), role=Role.VIEWER
        )
    settings.CHAT_MENTION_FANOUT_MAX = 3
    post(board, teammate, "@person0 @person1 @person2")
    assert Notification.objects.count() == 3
    settings.CHAT_MENTION_FANOUT_MAX = 2
    with pytest.raises(DomainError) as error:
        post(board, teammate, "@person0 @person1 @person2")
    assert error.value.code == "too_many_mentions"
    assert Notification.objects.count() == 3


def test_a_muted_board_notifies_nothing(board, user, teammate):
    BoardMute.objects.create(user=user, board=board)
    post(board, teammate, "@owner and @here")
    assert not Notification.objects.filter(recipient=user).exists()


def test_an_edit_notifies_only_people_it_newly_mentions(board, user, teammate, viewer):
    message = post(board, teammate, "@owner look")
    services.edit_message(message=message, actor=Actor.for_user(teammate), body="@owner look, @viewer too")
    assert Notification.objects.filter(recipient=user).count() == 1
    assert Notification.objects.filter(recipient=viewer).count() == 1


# --- the push: the event carries the message ------------------------------------------------------


def test_the_posted_event_carries_what_a_client_needs_to_show_the_message(client, board, teammate, bot):
    message = post(board, teammate, "Ship it, @release-bot <script>x</script>")
    wire = ActivityEvent.objects.get(verb="chat.message_posted").detail["message"]
    assert wire["id"] == message.pk and wire["author_label"] == "teammate"
    assert wire["author_user_id"] == teammate.pk and wire["author_agent_id"] is None
    assert wire["body"] == message.body and not wire["edited"] and not wire["pinned"]
    # The same sanitised HTML, mention link included, as the fragment a client used to fetch.
    client.force_login(teammate)
    fragment = client.get(f"/boards/{board.pk}/chat/{message.pk}/").content.decode()
    assert wire["body_html"] in fragment
    assert 'class="mention"' in wire["body_html"] and "<script>" not in wire["body_html"]


def test_the_edited_event_carries_the_new_text(board, teammate):
    message = post(board, teammate, "first")
    services.edit_message(message=message, actor=Actor.for_user(teammate), body="second **draft**")
    wire = ActivityEvent.objects.get(verb="chat.message_edited").detail["message"]
    assert wire["edited"] and wire["body"] == "second **draft**"
    assert "<strong>draft</strong>" in wire["body_html"]
