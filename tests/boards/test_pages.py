"""Pages: scoping, role-dependent controls, inline errors, the live-update contract, query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from activity.models import ActivityEvent
from boards import services
from boards.models import Approval, Board, Task, TaskDependency
from core.actors import Actor
from core.models import Role
from tests.factories import AgentFactory, BoardFactory, MembershipFactory, TagFactory, TaskFactory


@pytest.fixture
def owner_client(client, user):
    client.force_login(user)
    return client


def as_user(client, user):
    client.force_login(user)
    return client


def test_the_board_list_shows_counts_per_status_and_a_create_link(owner_client, board):
    TaskFactory(board=board, status="review")
    TaskFactory(board=board, status="review")
    html = owner_client.get("/").content.decode()
    assert "Launch" in html and "New board" in html
    assert "<dt>Review</dt><dd>2</dd>" in html


def test_a_new_user_sees_an_empty_state_telling_what_to_do(owner_client, organization):
    html = owner_client.get("/").content.decode()
    assert "No boards yet" in html and "Create your first board" in html


def test_a_user_without_organization_is_told_so(client, django_user_model):
    loner = django_user_model.objects.create_user("loner", password="x" * 20)
    html = as_user(client, loner).get("/").content.decode()
    assert "not in an organization" in html


def test_the_board_list_only_shows_the_current_organization(client, user, board, other_organization):
    MembershipFactory(organization=other_organization, user=user, role=Role.VIEWER)
    BoardFactory(organization=other_organization, name="Globex board")
    as_user(client, user)
    html = client.get("/").content.decode()
    assert "Launch" in html and "Globex board" not in html
    response = client.post("/organizations/switch/", {"organization": other_organization.pk})
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert "Globex board" in html and "Launch" not in html and "New board" not in html


def test_switching_to_a_foreign_organization_is_refused(client, user, board, other_organization):
    as_user(client, user)
    client.post("/organizations/switch/", {"organization": other_organization.pk})
    assert "Launch" in client.get("/").content.decode()


def test_an_outsider_gets_404_on_every_board_page(client, outsider, board):
    task = TaskFactory(board=board)
    services.add_comment(task=task, actor=Actor.system(), body="hi")
    event = ActivityEvent.objects.latest("id")
    as_user(client, outsider)
    for url in (
        f"/boards/{board.pk}/",
        f"/boards/{board.pk}/tasks/{task.pk}/",
        f"/boards/{board.pk}/tasks/{task.pk}/card/",
        f"/boards/{board.pk}/activity/",
        f"/boards/{board.pk}/activity/{event.pk}/item/",
        f"/boards/{board.pk}/settings/",
    ):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(f"/boards/{board.pk}/tasks/{task.pk}/move/", {"status": "in_progress"}).status_code == 404
    )
    assert (
        client.post(f"/boards/{board.pk}/tasks/new/", {"title": "x", "priority": "medium"}).status_code == 404
    )


def test_anonymous_visitors_are_sent_to_log_in(client, board):
    response = client.get(f"/boards/{board.pk}/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_an_admin_creates_a_board_from_the_form(owner_client, organization):
    response = owner_client.post("/boards/new/", {"name": "Ops", "require_approval_for_done": "on"})
    board = Board.objects.get(name="Ops")
    assert response.status_code == 302 and response["Location"] == f"/boards/{board.pk}/"
    assert board.require_approval_for_done and board.organization == organization


def test_the_board_form_shows_errors_inline(owner_client):
    response = owner_client.post("/boards/new/", {"name": ""})
    assert response.status_code == 400
    assert 'class="field-error" role="alert"' in response.content.decode()


def test_an_operator_cannot_create_a_board_from_the_form(client, teammate, organization):
    as_user(client, teammate)
    assert "Only an admin" in client.get("/boards/new/").content.decode()
    assert client.post("/boards/new/", {"name": "Ops"}).status_code == 403
    assert not Board.objects.filter(name="Ops").exists()


def test_the_board_page_follows_the_live_update_contract(owner_client, board):
    task = TaskFactory(board=board, status="review")
    html = owner_client.get(f"/boards/{board.pk}/").content.decode()
    assert f'data-board-id="{board.pk}"' in html and f'data-live-url="/ws/boards/{board.pk}/"' in html
    for status in ("inbox", "in_progress", "review", "done", "blocked"):
        assert f'data-column="{status}"' in html
    assert f'<article id="task-{task.pk}" class="card task-card' in html
    assert f'data-task-id="{task.pk}" data-status="review"' in html
    assert '<span id="live-status" class="live-status" data-state="connecting"' in html
    assert "/static/js/live.js" in html and '<ol id="activity-feed"' in html
    assert "<script>" not in html and " style=" not in html


def test_a_viewer_sees_the_board_without_edit_controls(client, viewer, board):
    task = TaskFactory(board=board)
    as_user(client, viewer)
    html = client.get(f"/boards/{board.pk}/").content.decode()
    assert task.title in html
    assert "move-form" not in html and 'draggable="true"' not in html and "Add a task" not in html
    detail = client.get(f"/boards/{board.pk}/tasks/{task.pk}/").content.decode()
    assert (
        "comment-body" not in detail
        and "Add dependency" not in detail
        and '<h2 id="edit-title"' not in detail
    )
    assert (
        client.post(f"/boards/{board.pk}/tasks/{task.pk}/move/", {"status": "in_progress"}).status_code == 302
    )
    task.refresh_from_db()
    assert task.status == "inbox"


def test_filters_in_the_url_narrow_the_cards(owner_client, board, organization):
    agent = AgentFactory(organization=organization, name="bot")
    tag = TagFactory(organization=organization, name="infra")
    hit = TaskFactory(board=board, title="Rotate keys", assignee_agent=agent)
    hit.tags.add(tag)
    TaskFactory(board=board, title="Rotate logs")
    TaskFactory(board=board, title="Unrelated", assignee_agent=agent)
    html = owner_client.get(
        f"/boards/{board.pk}/?q=rotate&assignee=agent:{agent.pk}&tag=infra"
    ).content.decode()
    assert "Rotate keys" in html and "Rotate logs" not in html and "Unrelated" not in html
    html = owner_client.get(f"/boards/{board.pk}/?assignee=none").content.decode()
    assert "Rotate logs" in html and "Rotate keys" not in html
    html = owner_client.get(f"/boards/{board.pk}/?q=nothing-matches").content.decode()
    assert "No task matches these filters" in html


def test_adding_a_task_and_its_errors_inline(owner_client, board):
    response = owner_client.post(f"/boards/{board.pk}/tasks/new/", {"title": "", "priority": "medium"})
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    response = owner_client.post(
        f"/boards/{board.pk}/tasks/new/",
        {"title": "First", "priority": "high", "tags": "a, b", "assignee": ""},
    )
    assert response.status_code == 302
    task = Task.objects.get(title="First")
    assert sorted(t.name for t in task.tags.all()) == ["a", "b"] and task.priority == "high"


def test_a_move_through_htmx_returns_the_columns_with_an_inline_error(owner_client, board):
    task = TaskFactory(board=board)
    response = owner_client.post(
        f"/boards/{board.pk}/tasks/{task.pk}/move/", {"status": "done"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'id="board-columns"' in html
    assert 'role="alert"' in html and "cannot move from inbox to done" in html
    response = owner_client.post(
        f"/boards/{board.pk}/tasks/{task.pk}/move/",
        {"status": "in_progress", "position": "0"},
        HTTP_HX_REQUEST="true",
    )
    task.refresh_from_db()
    assert task.status == "in_progress" and 'role="alert"' not in response.content.decode()


def test_a_plain_form_move_redirects_back_to_the_board(owner_client, board):
    task = TaskFactory(board=board)
    response = owner_client.post(f"/boards/{board.pk}/tasks/{task.pk}/move/", {"status": "in_progress"})
    assert response.status_code == 302 and response["Location"] == f"/boards/{board.pk}/"


def test_the_task_page_edits_the_task_its_dependencies_and_approvals_and_shows_one_conversation(
    owner_client, board, user
):
    board.require_approval_for_done = True
    board.save()
    other = TaskFactory(board=board, title="Prereq", status="done")
    task = TaskFactory(
        board=board, title="Main", status="review", description="Hello **world** <script>x</script>"
    )
    url = f"/boards/{board.pk}/tasks/{task.pk}/"
    html = owner_client.get(url).content.decode()
    assert "<strong>world</strong>" in html and "<script>x" not in html
    response = owner_client.post(url, {"title": "Main v2", "priority": "urgent", "tags": "", "assignee": ""})
    assert response.status_code == 302
    response = owner_client.post(url, {"title": "", "priority": "urgent"})
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    # One conversation: the thread, no separate comments list or form; a comment shows in it.
    html = owner_client.get(url).content.decode()
    assert 'id="task-thread"' in html and ">Conversation</h2>" in html
    assert "comment-body" not in html and 'id="comments"' not in html
    assert owner_client.post(url + "comments/", {"body": "Looks _good_"}).status_code == 404
    services.add_comment(task=task, actor=Actor.for_user(user), body="Looks _good_")
    thread = owner_client.get(f"/boards/{board.pk}/chat/?task={task.pk}").content.decode()
    assert "<em>good</em>" in thread
    owner_client.post(url + "dependencies/", {"depends_on": other.pk})
    assert TaskDependency.objects.filter(task=task, depends_on=other).exists()
    response = owner_client.post(
        f"/boards/{board.pk}/tasks/{other.pk}/dependencies/", {"depends_on": task.pk}
    )
    assert response.status_code == 400 and "cycle" in response.content.decode()
    owner_client.post(f"/boards/{board.pk}/tasks/{task.pk}/move/", {"status": "done", "next": "task"})
    approval = Approval.objects.get(task=task, status="pending")
    html = owner_client.get(url).content.decode()
    assert "Approve" in html and "Pending" in html
    owner_client.post(f"/boards/{board.pk}/approvals/{approval.pk}/decide/", {"approve": "1"})
    task.refresh_from_db()
    assert task.status == "done"
    html = owner_client.get(url).content.decode()
    assert "approved" in html and "\u2018Main v2\u2019</a> after approval" in html


def test_the_card_and_feed_item_partials(owner_client, board, user):
    task = services.create_task(board=board, actor=Actor.for_user(user), title="Card me")
    event = ActivityEvent.objects.get(verb="task.created")
    card = owner_client.get(f"/boards/{board.pk}/tasks/{task.pk}/card/").content.decode()
    assert card.startswith(f'<article id="task-{task.pk}"')
    item = owner_client.get(f"/boards/{board.pk}/activity/{event.pk}/item/").content.decode()
    assert item.startswith(f'<li id="event-{event.pk}"')
    assert "created <a href=" in item and "\u2018Card me\u2019" in item
    task.delete()
    assert owner_client.get(f"/boards/{board.pk}/tasks/{task.pk}/card/").status_code == 404


def test_the_activity_feeds_are_filterable_and_paginated(owner_client, board, user, organization):
    actor = Actor.for_user(user)
    for i in range(55):
        services.create_task(board=board, actor=actor, title=f"T{i}")
    services.create_board(organization=organization, actor=actor, name="Second")
    html = owner_client.get("/activity/").content.decode()
    assert "Page 1 of 2" in html and "created the board <a href=" in html and "\u2018Second\u2019" in html
    html = owner_client.get("/activity/?verb=board.").content.decode()
    assert "created the board" in html and "\u2018T1\u2019" not in html
    html = owner_client.get(f"/activity/?board={board.pk}&page=2").content.decode()
    assert "Page 2 of 2" in html
    html = owner_client.get(f"/boards/{board.pk}/activity/?actor=agent").content.decode()
    assert "Nothing here yet" in html


def test_the_admin_changes_settings_and_archives(owner_client, board):
    response = owner_client.post(f"/boards/{board.pk}/settings/", {"name": "Renamed"})
    assert response.status_code == 302
    owner_client.post(f"/boards/{board.pk}/archive/")
    board.refresh_from_db()
    assert board.name == "Renamed" and board.archived
    assert f'href="/boards/{board.pk}/"' not in owner_client.get("/").content.decode()


def _board_queries(client, board) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/boards/{board.pk}/")
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_a_board_renders_in_the_same_number_of_queries_at_10_and_1000_tasks(
    owner_client, board, organization
):
    agent = AgentFactory(organization=organization)
    tag = TagFactory(organization=organization)

    def add(n, offset):
        tasks = Task.objects.bulk_create(
            Task(
                board=board,
                title=f"T{offset + i}",
                position=offset + i,
                status=("inbox", "review", "done")[i % 3],
                assignee_agent=agent if i % 2 else None,
            )
            for i in range(n)
        )
        Task.tags.through.objects.bulk_create(Task.tags.through(task_id=t.pk, tag_id=tag.pk) for t in tasks)
        TaskDependency.objects.bulk_create(
            TaskDependency(task=tasks[i], depends_on=tasks[i - 1]) for i in range(1, n, 5)
        )

    add(10, 0)
    small = _board_queries(owner_client, board)
    add(990, 10)
    assert Task.objects.filter(board=board).count() == 1000
    large = _board_queries(owner_client, board)
    assert small == large, (small, large)


def test_the_organization_feed_takes_live_items_only_unfiltered(owner_client, board, user, outsider, client):
    task = services.create_task(board=board, actor=Actor.for_user(user), title="Live one")
    event = ActivityEvent.objects.get(verb="task.created")
    html = owner_client.get("/activity/").content.decode()
    assert 'id="activity-feed" data-item-url="/activity/{id}/item/"' in html
    assert 'id="activity-feed"' not in owner_client.get("/activity/?verb=task.").content.decode()
    item = owner_client.get(f"/activity/{event.pk}/item/").content.decode()
    assert item.startswith(f'<li id="event-{event.pk}"') and "Launch" in item and task.title in item
    client.force_login(outsider)
    assert client.get(f"/activity/{event.pk}/item/").status_code == 404


def test_a_long_column_shows_its_first_cards_and_a_show_all_link(owner_client, board):
    from boards.views import COLUMN_CARD_LIMIT

    Task.objects.bulk_create(
        Task(board=board, title=f"Bulk {i:03}", position=i) for i in range(COLUMN_CARD_LIMIT + 3)
    )
    html = owner_client.get(f"/boards/{board.pk}/").content.decode()
    assert html.count('class="card task-card') == COLUMN_CARD_LIMIT
    assert f"Bulk {COLUMN_CARD_LIMIT - 1:03}" in html and f"Bulk {COLUMN_CARD_LIMIT:03}" not in html
    assert f'<span class="count">{COLUMN_CARD_LIMIT + 3}</span>' in html and "Show 3 more" in html
    html = owner_client.get(f"/boards/{board.pk}/?all=1").content.decode()
    assert html.count('class="card task-card') == COLUMN_CARD_LIMIT + 3 and "Show 3 more" not in html


def test_huge_ids_in_page_inputs_are_ignored_not_a_500(owner_client, board):
    task = TaskFactory(board=board)
    huge = "9" * 23
    assert owner_client.get(f"/boards/{board.pk}/?assignee=agent:{huge}").status_code == 200
    assert owner_client.get(f"/activity/?board={huge}").status_code == 200
    url = f"/boards/{board.pk}/tasks/{task.pk}/"
    assert owner_client.post(url + "dependencies/", {"depends_on": huge}).status_code == 400
    response = owner_client.post(url + "move/", {"status": "in_progress", "position": "9" * 5000})
    assert response.status_code == 302


def test_mentions_link_agents_and_highlight_members_but_not_inside_code():
    from boards.markdown import render_markdown

    html = render_markdown(
        "@release-bot and @maria, see `@release-bot` and @nobody.", {"release-bot": "/agents/3/", "maria": ""}
    )
    assert '<a class="mention" href="/agents/3/">@release-bot</a>' in html
    assert '<span class="mention">@maria</span>,' in html
    assert "<code>@release-bot</code>" in html and "@nobody." in html


def test_mentions_cannot_inject_markup():
    from boards.markdown import render_markdown

    html = render_markdown('@x"><script>', {'x"><script>': "/agents/1/"})
    assert "<script>" not in html


def test_checklists_render_as_disabled_checkboxes_and_stay_sanitised():
    from boards.markdown import render_markdown

    html = str(render_markdown("- [x] done\n- [ ] todo\n- `[x]` in code"))
    assert '<li class="task-list-item"><input type="checkbox" disabled checked> done</li>' in html
    assert '<li class="task-list-item"><input type="checkbox" disabled> todo</li>' in html
    assert "<li><code>[x]</code> in code</li>" in html
    hostile = str(
        render_markdown(
            "- [x] <script>alert(1)</script>\n- [ ] <img src=x onerror=alert(1)>\n"
            '- [ ] <input type="checkbox" onclick="alert(1)"> [evil](javascript:alert(1))'
        )
    )
    assert "<script" not in hostile and "onerror" not in hostile and "onclick" not in hostile
    assert "javascript:" not in hostile
    assert hostile.count("<input") == 3  # only the boxes the renderer put there


def test_the_task_page_shows_a_description_checklist(owner_client, board):
    task = TaskFactory(board=board, title="Ship it", description="- [x] tests pass\n- [ ] changelog")
    page = owner_client.get(f"/boards/{board.pk}/tasks/{task.pk}/").content.decode()
    assert '<input type="checkbox" disabled checked> tests pass' in page
    assert '<input type="checkbox" disabled> changelog' in page


def test_the_task_page_links_a_synced_task_to_its_source_like_the_card(owner_client, board):
    synced = TaskFactory(
        board=board,
        title="Crash on login",
        external_id="octo-org/octo-repo#1347",
        external_url="https://github.com/octo-org/octo-repo/issues/1347",
    )
    plain = TaskFactory(board=board, title="Local work")
    page = owner_client.get(f"/boards/{board.pk}/tasks/{synced.pk}/").content.decode()
    link = '<a class="source-link" href="https://github.com/octo-org/octo-repo/issues/1347" rel="noopener'
    assert link in page and "Source: octo-org/octo-repo#1347</a>" in page
    assert link in owner_client.get(f"/boards/{board.pk}/").content.decode()  # the card's, same partial
    assert "source-link" not in owner_client.get(f"/boards/{board.pk}/tasks/{plain.pk}/").content.decode()
