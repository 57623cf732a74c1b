"""Monthly partitions of the activity log and delivery attempts, and retention by whole months."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Q
from django.test import override_settings
from django.utils import timezone

from activity.models import ActivityEvent
from activity.replay import missed_events
from infra import partitions
from ops import retention
from tests.conftest import requires_postgres, requires_sqlite

pytestmark = pytest.mark.django_db

EVENTS = partitions.PartitionedTable("boards_activityevent", "created_at")
NOW = dt.datetime(2026, 12, 15, 12, tzinfo=dt.UTC)


def event_at(board, when: dt.datetime, verb: str = "task.created") -> ActivityEvent:
    event = ActivityEvent.objects.create(
        organization=board.organization, board=board, actor_kind="system", actor_label="system", verb=verb
    )
    # An UPDATE of the partition key moves the row to its month's partition (PostgreSQL 11+).
    ActivityEvent.objects.filter(pk=event.pk).update(created_at=when)
    return event


def partition_of(event: ActivityEvent) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM boards_activityevent WHERE id = %s", [event.pk])
        return cursor.fetchone()[0]


def months(first: dt.date, count: int) -> list[dt.date]:
    return [partitions.add_months(first, offset) for offset in range(count)]


@pytest.fixture
def four_months():
    """Partitions for September to December 2026 exist, as if beat had run all along."""
    with connection.cursor() as cursor:
        for month in months(dt.date(2026, 9, 1), 4):
            partitions.create_month_partition(cursor, EVENTS, month)


@requires_postgres
def test_the_log_is_partitioned_by_month_with_a_default_partition():
    with connection.cursor() as cursor:
        assert partitions.is_partitioned(cursor, "boards_activityevent")
        assert partitions.is_partitioned(cursor, "webhooks_deliveryattempt")
        current = partitions.month_start(timezone.now())
        assert current in partitions.existing_partitions(cursor, "boards_activityevent")


@requires_postgres
def test_rows_land_in_their_months_partition(board, four_months):
    october = event_at(board, dt.datetime(2026, 10, 31, 23, 59, tzinfo=dt.UTC))
    november = event_at(board, dt.datetime(2026, 11, 1, 0, 0, tzinfo=dt.UTC))
    far_future = event_at(board, dt.datetime(2031, 1, 1, tzinfo=dt.UTC))
    assert partition_of(october) == "boards_activityevent_p202610"
    assert partition_of(november) == "boards_activityevent_p202611"
    assert partition_of(far_future) == "boards_activityevent_default"


@requires_postgres
def test_creating_a_month_moves_its_rows_out_of_the_default_partition(board):
    stray = event_at(board, dt.datetime(2030, 5, 2, tzinfo=dt.UTC))
    assert partition_of(stray) == "boards_activityevent_default"
    created = partitions.ensure_partitions(
        EVENTS, months_ahead=0, now=dt.datetime(2030, 5, 20, tzinfo=dt.UTC)
    )
    assert created == ["boards_activityevent_p203005"]
    assert partition_of(stray) == "boards_activityevent_p203005"
    assert (
        partitions.ensure_partitions(EVENTS, months_ahead=0, now=dt.datetime(2030, 5, 20, tzinfo=dt.UTC))
        == []
    )


@requires_postgres
@override_settings(ACTIVITY_RETENTION_DAYS=60, DELIVERY_ATTEMPT_RETENTION_DAYS=0)
def test_retention_drops_exactly_the_months_past_the_cutoff(board, four_months):
    kept_before = ActivityEvent.objects.count()
    september = [event_at(board, dt.datetime(2026, 9, day, tzinfo=dt.UTC)) for day in (1, 15, 30)]
    october = [event_at(board, dt.datetime(2026, 10, day, tzinfo=dt.UTC)) for day in (1, 20)]
    november = event_at(board, dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
    # NOW - 60 days = 2026-10-16: September is wholly older; October still has younger days.
    outcome = retention.apply_retention(now=NOW)
    assert outcome == {"boards_activityevent": 1}
    remaining = set(ActivityEvent.objects.values_list("pk", flat=True))
    assert not remaining & {event.pk for event in september}
    assert {event.pk for event in october} | {november.pk} <= remaining
    assert len(remaining) == kept_before + 3
    with connection.cursor() as cursor:
        assert dt.date(2026, 9, 1) not in partitions.existing_partitions(cursor, "boards_activityevent")


@requires_postgres
@override_settings(REPLAY_MAX_AGE_SECONDS=10 * 365 * 86400, REPLAY_MAX_EVENTS=100)
def test_replay_across_a_partition_boundary_has_no_gap(board, four_months):
    before = [event_at(board, dt.datetime(2026, 10, 31, 23, 59, second, tzinfo=dt.UTC)) for second in (1, 2)]
    after = [event_at(board, dt.datetime(2026, 11, 1, 0, 0, second, tzinfo=dt.UTC)) for second in (1, 2)]
    assert {partition_of(e) for e in before} != {partition_of(e) for e in after}
    with connection.cursor() as cursor:
        # Positions are assigned at commit; inside the test's transaction, now.
        cursor.execute("SET CONSTRAINTS activity_event_position IMMEDIATE")
    for event in before + after:
        event.refresh_from_db(fields=["position"])
    replay = missed_events(scope=Q(board_id=board.pk), after_position=before[0].position - 1)
    assert [event["id"] for event in replay.events] == [e.pk for e in before + after]
    assert not replay.truncated


@requires_sqlite  # the PostgreSQL path drops partitions (tested above)
@override_settings(ACTIVITY_RETENTION_DAYS=30, DELIVERY_ATTEMPT_RETENTION_DAYS=0)
def test_retention_deletes_old_rows_in_the_embedded_default_too(board):
    old = event_at(board, NOW - dt.timedelta(days=31))
    young = event_at(board, NOW - dt.timedelta(days=29))
    assert retention.apply_retention(now=NOW) == {"boards_activityevent": 1}
    assert list(ActivityEvent.objects.filter(pk__in=[old.pk, young.pk]).values_list("pk", flat=True)) == [
        young.pk
    ]


@override_settings(ACTIVITY_RETENTION_DAYS=0, DELIVERY_ATTEMPT_RETENTION_DAYS=0)
def test_a_retention_of_zero_keeps_everything(board):
    event_at(board, NOW - dt.timedelta(days=4000))
    assert retention.apply_retention(now=NOW) == {}
    assert ActivityEvent.objects.count() == 1
