"""/api/v1/notifications/ (issue 31): your own notifications, read and marked by a script."""

from __future__ import annotations

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from core.services import create_personal_token
from notifications.models import NotificationKind
from notifications.services import notify

pytestmark = pytest.mark.django_db


def _script(user) -> APIClient:
    _token, raw = create_personal_token(user=user, name="script")
    return APIClient(HTTP_AUTHORIZATION=f"Token {raw}")


def _notify(user, organization, title: str):
    with transaction.atomic():
        return notify(
            recipients=[user], kind=NotificationKind.MENTION, title=title, organization=organization
        )[0]


def test_it_lists_only_your_notifications_and_filters_the_unread(user, teammate, organization):
    mine = _notify(user, organization, "for the owner")
    theirs = _notify(teammate, organization, "for the teammate")
    client = _script(user)
    body = client.get("/api/v1/notifications/").json()
    assert [row["title"] for row in body["results"]] == ["for the owner"]
    assert client.get(f"/api/v1/notifications/{theirs.pk}/").status_code == 404
    assert client.post(f"/api/v1/notifications/{theirs.pk}/read/").status_code == 404
    read = client.post(f"/api/v1/notifications/{mine.pk}/read/")
    assert read.status_code == 200 and read.json()["read"] is True
    assert client.get("/api/v1/notifications/?unread=true").json()["count"] == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_it_counts_and_marks_all_read(user, organization):
    for n in range(3):
        _notify(user, organization, f"n{n}")
    client = _script(user)
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 3}
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 3}
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 0}


def test_a_member_mutes_a_board_and_watches_a_task(viewer, outsider, board):
    from notifications.models import BoardMute, TaskWatch
    from tests.factories import TaskFactory

    task = TaskFactory(board=board)
    client = _script(viewer)
    assert client.post(f"/api/v1/boards/{board.pk}/mute", {"muted": True}, format="json").json() == {
        "board": board.pk,
        "muted": True,
    }
    assert BoardMute.objects.filter(user=viewer, board=board).exists()
    assert (
        client.post(f"/api/v1/tasks/{task.pk}/watch/", {"watched": True}, format="json").json()["watched"]
        is True
    )
    assert TaskWatch.objects.filter(user=viewer, task=task).exists()
    client.post(f"/api/v1/boards/{board.pk}/mute", {"muted": False}, format="json")
    assert not BoardMute.objects.filter(user=viewer).exists()
    missing = client.post(f"/api/v1/boards/{board.pk}/mute", {}, format="json")
    assert missing.status_code == 400 and "muted" in missing.json()["error"]["fields"]
    stranger = _script(outsider)
    assert stranger.post(f"/api/v1/boards/{board.pk}/mute", {"muted": True}, format="json").status_code == 404
    assert (
        stranger.post(f"/api/v1/tasks/{task.pk}/watch", {"watched": True}, format="json").status_code == 404
    )
