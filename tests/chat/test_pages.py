"""Chat pages: the panel, history for scrolling back, one message, writes from the page,
autocomplete; scoping, query counts, and inert markup in messages and names."""

from __future__ import annotations

import pytest

from chat import services
from chat.models import ChatMessage
from core.actors import Actor
from tests.factories import AgentFactory, TaskFactory

pytestmark = pytest.mark.django_db

XSS = '<script>alert(1)</script><img src=x onerror="alert(2)"> [link](javascript:alert(3))'


def say(board, user, body, **kwargs):
    return services.post_message(board=board, actor=Actor.for_user(user), body=body, **kwargs)


def test_the_board_page_holds_a_chat_placeholder(board, viewer, client):
    client.force_login(viewer)
    html = client.get(f"/boards/{board.pk}/").content.decode()
    assert f'data-chat-panel="/boards/{board.pk}/chat/"' in html


def test_the_panel_shows_messages_memory_and_composer_in_bounded_queries(
    board, teammate, client, django_assert_max_num_queries
):
    for n in range(40):
        message = say(board, teammate, f"note {n} for @owner")
    services.set_pinned(message=message, actor=Actor.for_user(teammate), pinned=True)
    client.force_login(teammate)
    with django_assert_max_num_queries(12):
        response = client.get(f"/boards/{board.pk}/chat/")
    html = response.content.decode()
    assert "note 39" in html and "note 9" not in html  # the newest page only
    assert 'class="chat-history-sentinel"' in html and "Board memory" in html
    assert 'class="chat-composer"' in html
    assert f'<a class="mention" href="/boards/{board.pk}/?assignee=user:' in html


def test_history_scrolls_back_to_the_first_message(board, teammate, client):
    messages = [say(board, teammate, f"note {n}") for n in range(35)]
    client.force_login(teammate)
    html = client.get(f"/boards/{board.pk}/chat/history/", {"before": messages[5].pk}).content.decode()
    assert "note 0" in html and "note 4" in html and "note 5" not in html
    assert "chat-history-sentinel" not in html
    assert client.get(f"/boards/{board.pk}/chat/history/", {"before": "x"}).status_code == 400


def test_a_viewer_reads_but_gets_no_composer_and_cannot_post(board, viewer, client):
    client.force_login(viewer)
    html = client.get(f"/boards/{board.pk}/chat/").content.decode()
    assert "chat-composer" not in html and "operators and admins post" in html
    client.post(f"/boards/{board.pk}/chat/", {"body": "hello"})
    assert not ChatMessage.objects.exists()


def test_an_outsider_sees_nothing(board, teammate, outsider, client):
    message = say(board, teammate, "private")
    client.force_login(outsider)
    for path in ("", "history/?before=99", "pinned/", "mentionable/?q=o", f"{message.pk}/"):
        assert client.get(f"/boards/{board.pk}/chat/{path}").status_code == 404, path
    assert client.post(f"/boards/{board.pk}/chat/", {"body": "hi"}).status_code == 404
    assert client.post(f"/boards/{board.pk}/chat/{message.pk}/delete/").status_code == 404


def test_posting_from_the_page_returns_the_message_fragment(board, teammate, client):
    client.force_login(teammate)
    response = client.post(f"/boards/{board.pk}/chat/", {"body": "hello **team**"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 201
    assert "<strong>team</strong>" in response.content.decode()


def test_a_page_post_over_the_rate_answers_429_with_retry_after(board, teammate, client, settings):
    settings.CHAT_POST_RATE = "1/60s"
    client.force_login(teammate)
    client.post(f"/boards/{board.pk}/chat/", {"body": "one"}, HTTP_HX_REQUEST="true")
    response = client.post(f"/boards/{board.pk}/chat/", {"body": "two"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "rate_limited"


def test_without_javascript_a_post_redirects_to_the_message(board, teammate, client):
    client.force_login(teammate)
    response = client.post(f"/boards/{board.pk}/chat/", {"body": "hello"})
    message = ChatMessage.objects.get()
    assert response["Location"] == f"/boards/{board.pk}/#chat-message-{message.pk}"


def test_edit_delete_and_pin_from_the_page(board, teammate, user, client):
    message = say(board, teammate, "draft")
    client.force_login(teammate)
    client.post(f"/boards/{board.pk}/chat/{message.pk}/edit/", {"body": "final"}, HTTP_HX_REQUEST="true")
    client.post(f"/boards/{board.pk}/chat/{message.pk}/pin/", {"pinned": "1"})
    message.refresh_from_db()
    assert message.body == "final" and message.pinned_at is not None
    client.force_login(user)  # an admin removes someone else's message
    html = client.post(f"/boards/{board.pk}/chat/{message.pk}/delete/", HTTP_HX_REQUEST="true")
    assert "Message deleted." in html.content.decode()


def test_only_the_author_or_an_admin_sees_edit_controls(board, teammate, viewer, client):
    message = say(board, teammate, "mine")
    client.force_login(viewer)
    assert "chat-edit" not in client.get(f"/boards/{board.pk}/chat/{message.pk}/").content.decode()
    client.force_login(teammate)
    assert "chat-edit" in client.get(f"/boards/{board.pk}/chat/{message.pk}/").content.decode()


def test_a_task_thread_uses_the_same_panel(board, teammate, client):
    task = TaskFactory(board=board)
    say(board, teammate, "thread note", task=task)
    say(board, teammate, "board note")
    client.force_login(teammate)
    assert (
        f'data-chat-panel="/boards/{board.pk}/chat/?task={task.pk}"'
        in client.get(f"/boards/{board.pk}/tasks/{task.pk}/").content.decode()
    )
    html = client.get(f"/boards/{board.pk}/chat/", {"task": task.pk}).content.decode()
    assert "thread note" in html and "board note" not in html
    client.post(f"/boards/{board.pk}/chat/", {"body": "reply", "task": task.pk})
    assert ChatMessage.objects.get(body="reply").task == task


def test_autocomplete_offers_people_agents_and_here_by_prefix(organization, board, teammate, client):
    bot = AgentFactory(organization=organization, name="release-bot")
    bot.boards.set([board])
    AgentFactory(organization=organization, name="not-on-board")
    spaced = AgentFactory(organization=organization, name="Has Spaces")
    spaced.boards.set([board])
    client.force_login(teammate)

    def names(prefix: str) -> list[str]:
        response = client.get(f"/boards/{board.pk}/chat/mentionable/", {"q": prefix})
        return [result["name"] for result in response.json()["results"]]

    assert names("rel") == ["release-bot"]
    assert names("no") == []
    assert names("h") == ["here"]  # "Has Spaces" cannot be typed as a mention
    assert "teammate" in names("")


def test_markup_in_a_message_and_an_agent_name_is_inert(organization, board, client, teammate):
    evil = AgentFactory(organization=organization, name='<img src=x onerror="alert(4)">')
    evil.boards.set([board])
    services.post_message(board=board, actor=Actor.for_agent(evil), body=XSS)
    client.force_login(teammate)
    html = client.get(f"/boards/{board.pk}/chat/").content.decode()
    assert "<script>alert" not in html and "onerror=" not in html.replace("onerror=&quot;", "")
    assert "javascript:" not in html
    assert "&lt;img src=x onerror=&quot;alert(4)&quot;&gt;" in html
