"""Notifications: who is notified of what (status changes, approvals, the notify() hook), mutes,
mark read, the page, and the live unread count on /ws/notifications/."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from boards import services as board_services
from boards.models import TaskStatus
from core.actors import Actor
from core.models import Role
from notifications import services
from notifications.models import BoardMute, Notification, NotificationKind, TaskWatch
from tests.activity.log import drain_log
from tests.factories import MembershipFactory, TaskFactory, UserFactory
from tests.realtime.streams import browser_socket, receive

pytestmark = pytest.mark.django_db


def move(task, who, status):
    """Move, then follow the log as the worker would (notifications are a log consumer)."""
    moved = board_services.move_task(task=task, actor=Actor.for_user(who), status=status)
    drain_log()
    return moved


def test_the_creator_and_watchers_hear_of_a_status_change_but_not_the_mover(board, user, teammate, viewer):
    task = TaskFactory(board=board, created_by_user=user)
    TaskWatch.objects.create(user=viewer, task=task)
    move(task, teammate, TaskStatus.IN_PROGRESS)
    notes = Notification.objects.filter(kind=NotificationKind.TASK_STATUS)
    assert sorted(n.recipient.username for n in notes) == ["owner", "viewer"]
    assert "to in progress" in notes.first().title
    move(task, user, TaskStatus.INBOX)
    assert Notification.objects.filter(recipient=user).count() == 1  # not told of their own move


def test_an_approval_waits_for_the_deciders_among_the_followers_else_the_admins(board, user, teammate):
    board.require_approval_for_done = True
    board.save()
    task = TaskFactory(board=board, created_by_user=teammate, status=TaskStatus.REVIEW)
    move(task, teammate, TaskStatus.DONE)
    [note] = Notification.objects.filter(kind=NotificationKind.APPROVAL)
    assert note.recipient == user  # the requester is the only follower: the admins decide
    assert note.url == f"/boards/{board.pk}/tasks/{task.pk}/"


def test_notify_skips_non_members_duplicates_and_muted_boards(board, user, teammate, outsider):
    BoardMute.objects.create(user=teammate, board=board)
    with transaction.atomic():
        rows = services.notify(
            recipients=[user, user.pk, teammate, outsider],
            kind=NotificationKind.ALERT,
            title="CPU above 90%",
            organization=board.organization,
            board=board,
            url="/ops/",
        )
    assert [row.recipient_id for row in rows] == [user.pk]


def test_notify_without_a_board_ignores_board_mutes(board, organization, user):
    BoardMute.objects.create(user=user, board=board)
    with transaction.atomic():
        rows = services.notify(
            recipients=[user], kind=NotificationKind.ALERT, title="Backup stale", organization=organization
        )
    assert len(rows) == 1


def test_notify_rejects_an_unknown_kind(organization, user):
    with pytest.raises(ValueError):
        services.notify(recipients=[user], kind="gossip", title="x", organization=organization)


def test_mark_read_and_mark_all_read(board, user, client):
    with transaction.atomic():
        first, *_ = services.notify(
            recipients=[user], kind="alert", title="a", organization=board.organization
        )
        services.notify(recipients=[user], kind="alert", title="b", organization=board.organization)
    client.force_login(user)
    response = client.post(f"/notifications/{first.pk}/read/")
    assert response.status_code == 302
    assert services.unread_count(user) == 1
    client.post("/notifications/read-all/")
    assert services.unread_count(user) == 0


def test_someone_elses_notification_is_a_404(board, user, teammate, client):
    with transaction.atomic():
        [note] = services.notify(recipients=[user], kind="alert", title="a", organization=board.organization)
    client.force_login(teammate)
    assert client.post(f"/notifications/{note.pk}/read/").status_code == 404
    note.refresh_from_db()
    assert note.read_at is None


def test_open_follows_only_local_links(board, user, client):
    with transaction.atomic():
        [local] = services.notify(
            recipients=[user], kind="alert", title="a", organization=board.organization, url="/boards/"
        )
        [foreign] = services.notify(
            recipients=[user],
            kind="alert",
            title="b",
            organization=board.organization,
            url="https://evil.example/",
        )
    client.force_login(user)
    assert client.post(f"/notifications/{local.pk}/read/", {"follow": "1"})["Location"] == "/boards/"
    assert client.post(f"/notifications/{foreign.pk}/read/", {"follow": "1"})["Location"] == "/notifications/"


def test_the_page_lists_a_persons_notifications_in_bounded_queries(
    board, user, client, django_assert_max_num_queries
):
    with transaction.atomic():
        for n in range(30):
            services.notify(
                recipients=[user],
                kind="alert",
                title=f"<b>alert {n}</b>",
                organization=board.organization,
                board=board,
            )
    client.force_login(user)
    with django_assert_max_num_queries(10):
        response = client.get("/notifications/")
    html = response.content.decode()
    assert "&lt;b&gt;alert 29&lt;/b&gt;" in html and "<b>alert" not in html


def test_a_member_mutes_and_unmutes_a_board_from_the_board_page(board, viewer, client):
    client.force_login(viewer)
    client.post(f"/boards/{board.pk}/mute/", {"muted": "1"})
    assert BoardMute.objects.filter(user=viewer, board=board).exists()
    assert "Unmute notifications" in client.get(f"/boards/{board.pk}/").content.decode()
    client.post(f"/boards/{board.pk}/mute/", {"muted": "0"})
    assert not BoardMute.objects.filter(user=viewer, board=board).exists()


def test_an_outsider_cannot_mute_or_watch(board, outsider, client):
    task = TaskFactory(board=board)
    client.force_login(outsider)
    assert client.post(f"/boards/{board.pk}/mute/", {"muted": "1"}).status_code == 404
    assert client.post(f"/boards/{board.pk}/tasks/{task.pk}/watch/", {"watched": "1"}).status_code == 404
    assert not BoardMute.objects.exists() and not TaskWatch.objects.exists()


def test_a_viewer_watches_a_task(board, viewer, client):
    task = TaskFactory(board=board)
    client.force_login(viewer)
    client.post(f"/boards/{board.pk}/tasks/{task.pk}/watch/", {"watched": "1"})
    assert TaskWatch.objects.filter(user=viewer, task=task).exists()


@pytest.mark.django_db(transaction=True)
async def test_the_unread_count_is_live_on_the_notification_socket(board, user):
    communicator = await browser_socket(user, "/ws/notifications/")
    connected, _ = await communicator.connect()
    assert connected
    assert await receive(communicator) == {"type": "notifications", "unread": 0}

    def notify_twice():
        with transaction.atomic():
            services.notify(recipients=[user], kind="alert", title="a", organization=board.organization_id)
        with transaction.atomic():
            services.notify(recipients=[user], kind="alert", title="b", organization=board.organization_id)

    await database_sync_to_async(notify_twice)()
    assert (await receive(communicator))["unread"] == 1
    assert (await receive(communicator))["unread"] == 2
    await database_sync_to_async(lambda: services.mark_all_read(user=user))()
    assert (await receive(communicator))["unread"] == 0
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_notification_socket_refuses_anonymous(db):
    communicator = await browser_socket(None, "/ws/notifications/")
    connected, code = await communicator.connect()
    assert not connected and code == 4401


@pytest.mark.django_db(transaction=True)
async def test_another_persons_count_never_reaches_my_socket(board, user, teammate):
    communicator = await browser_socket(teammate, "/ws/notifications/")
    await communicator.connect()
    await receive(communicator)

    def notify_owner():
        with transaction.atomic():
            services.notify(recipients=[user], kind="alert", title="a", organization=board.organization_id)

    await database_sync_to_async(notify_owner)()
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


def test_a_new_member_role_does_not_matter_for_notifications(organization, board):
    person = UserFactory(username="newcomer")
    MembershipFactory(organization=organization, user=person, role=Role.VIEWER)
    with transaction.atomic():
        assert (
            len(services.notify(recipients=[person], kind="alert", title="x", organization=organization)) == 1
        )
