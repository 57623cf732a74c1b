"""update_and_record: the "set fields, save, record the event" step of the update services."""

import pytest

from activity.models import ActivityEvent
from activity.services import update_and_record
from core.actors import Actor

pytestmark = pytest.mark.django_db


def _update(board, user, **options):
    return update_and_record(
        board,
        actor=Actor.for_user(user),
        verb="board.updated",
        organization=board.organization_id,
        board=board,
        **options,
    )


def test_it_saves_and_records_only_what_changed(board, user):
    before = board.updated_at
    changed = _update(board, user, changes={"name": "Renamed", "description": board.description})

    assert changed == ["name"]
    board.refresh_from_db()
    assert board.name == "Renamed"
    assert board.updated_at > before  # auto_now is saved with the changed fields
    event = ActivityEvent.objects.get(verb="board.updated")
    assert event.detail == {"fields": ["name"]}


def test_it_records_nothing_when_nothing_changed(board, user):
    assert _update(board, user, changes={"name": board.name}) == []
    assert not ActivityEvent.objects.filter(verb="board.updated").exists()


def test_it_records_an_unchanged_update_when_asked_with_the_callers_detail(board, user):
    _update(
        board,
        user,
        changes={"name": board.name},
        record_unchanged=True,
        detail=lambda changed: {"asked": ["name"], "changed": changed, "name": board.name},
    )
    event = ActivityEvent.objects.get(verb="board.updated")
    assert event.detail == {"asked": ["name"], "changed": [], "name": board.name}
