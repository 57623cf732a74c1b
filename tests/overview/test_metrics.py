"""Every KPI of the overview against a history worked out by hand (tests/overview/conftest.py).

Runs on SQLite and, with DATABASE_URL=postgres://…, on PostgreSQL: the percentile and day
bucketing queries differ between them only in SQL, never in the numbers.
"""

from __future__ import annotations

import dataclasses

import pytest

from activity import following
from activity.models import LogConsumerCursor
from boards.models import TaskStatus
from deliveries.models import Delivery, DeliveryStatus
from overview import metrics
from overview.metrics import Period, Scope
from overview.models import TaskFlow
from overview.rollup import refresh_task_flows
from tests.factories import AgentFactory, BoardFactory
from tests.overview.conftest import HOUR, NOW, clock, moment
from webhooks import services as webhook_services
from webhooks.models import BoardWebhook, WebhookPayload

pytestmark = pytest.mark.django_db


def kpi_values(scope, period) -> dict:
    return {kpi.key: (kpi.value, kpi.previous) for kpi in metrics.kpis(scope, period)}


def test_tasks_done_count_reopened_once_and_leave_out_tasks_reopened_since(fixed_history, scope, period):
    values = kpi_values(scope, period)
    assert values["tasks_done"] == (5, 2)


def test_throughput_is_done_per_day_of_the_period(fixed_history, scope, period):
    assert kpi_values(scope, period)["throughput_per_day"] == (0.71, 0.29)


def test_cycle_time_runs_from_the_first_start_and_skips_tasks_never_started(fixed_history, scope, period):
    values = kpi_values(scope, period)
    # cycle times this period: 6, 12, 48, 96 hours (never_started has none)
    assert values["cycle_median_seconds"] == (12 * HOUR, 12 * HOUR)
    assert values["cycle_p90_seconds"] == (96 * HOUR, 24 * HOUR)


def test_lead_time_runs_from_creation_to_the_done_that_holds(fixed_history, scope, period):
    values = kpi_values(scope, period)
    # lead times this period: 3, 7, 24, 50, 97 hours
    assert values["lead_median_seconds"] == (24 * HOUR, 24 * HOUR)
    assert values["lead_p90_seconds"] == (97 * HOUR, 25 * HOUR)


def test_a_task_done_at_the_periods_first_instant_belongs_to_it(fixed_history, scope, period):
    flows = {flow.task.title: flow for flow in TaskFlow.objects.select_related("task")}
    assert flows["at start"].done_at == period.start
    assert flows["before start"].done_at < period.start
    assert period.previous().start <= flows["before start"].done_at


def test_flow_rows_record_boundary_cases(fixed_history):
    flows = {flow.task.title: flow for flow in TaskFlow.objects.select_related("task")}
    assert flows["reopened"].started_at == moment(4, 2)
    assert flows["reopened"].done_at == moment(8, 2)
    assert flows["moved back"].cycle_seconds == 6 * HOUR
    assert flows["never started"].started_at is None
    assert flows["never started"].cycle_seconds is None
    assert flows["never started"].lead_seconds == 3 * HOUR
    assert flows["reopened open"].done_at is None
    assert flows["reopened open"].status == TaskStatus.IN_PROGRESS
    assert flows["blocked"].status == TaskStatus.BLOCKED
    assert flows["blocked"].status_changed_at == moment(9, 1)


def test_work_in_progress_counts_open_tasks_per_column(fixed_history, scope):
    assert metrics.work_in_progress(scope) == {
        TaskStatus.INBOX: 1,
        TaskStatus.IN_PROGRESS: 1,
        TaskStatus.REVIEW: 0,
        TaskStatus.BLOCKED: 1,
    }


def test_a_board_filter_narrows_every_figure(fixed_history, organization, period, history):
    second = BoardFactory(organization=organization, name="Second", slug="second")
    only_second = Scope(organization_id=organization.pk, board_ids=(second.pk,))
    values = kpi_values(only_second, period)
    assert values["tasks_done"] == (0, 0)
    assert values["cycle_median_seconds"] == (None, None)
    assert metrics.work_in_progress(only_second)[TaskStatus.INBOX] == 0


def test_empty_periods_have_no_percentiles_and_no_success_rate(db, organization, period):
    values = kpi_values(Scope(organization_id=organization.pk), period)
    assert values["tasks_done"] == (0, 0)
    assert values["throughput_per_day"] == (0.0, 0.0)
    assert values["lead_p90_seconds"] == (None, None)
    assert values["delivery_success_rate"] == (None, None)


def test_percentile_uses_the_nearest_rank(fixed_history, organization):
    flows = TaskFlow.objects.filter(done_at__isnull=False, organization=organization)
    # 7 done tasks overall: lead hours 3, 7, 24, 24, 25, 50, 97
    assert metrics.nearest_rank(flows, "lead_seconds", 7, 0.5) == 24 * HOUR
    assert metrics.nearest_rank(flows, "lead_seconds", 7, 0.9) == 97 * HOUR
    assert metrics.nearest_rank(flows, "lead_seconds", 7, 0.0) == 3 * HOUR
    assert metrics.nearest_rank(flows.none(), "lead_seconds", 0, 0.5) is None


@pytest.fixture
def webhook_history(board, organization):
    webhook = BoardWebhook.objects.create(board=board, description="ci")
    for when in (moment(5, 1), moment(10, 14), moment(1)):  # two this period, one the previous
        with clock(when):
            WebhookPayload.objects.create(webhook=webhook, board=board, body=b"{}")
    for when, reason in (
        (moment(6, 3), "invalid_signature"),
        (moment(6, 4), "invalid_signature"),
        (moment(9), "too_large"),
    ):
        with clock(when):
            webhook_services.count_webhook_refusal(webhook=webhook, reason=reason)
    with clock(moment(27, month=2)):
        webhook_services.count_webhook_refusal(webhook=webhook, reason="disabled")
    return webhook


def test_webhooks_received_and_refused_per_period(webhook_history, scope, period):
    values = kpi_values(scope, period)
    assert values["webhooks_received"] == (2, 1)
    assert values["webhooks_refused"] == (3, 1)


def test_refusals_of_one_day_and_reason_share_a_counter(webhook_history):
    assert webhook_history.refusal_counts.get(reason="invalid_signature").count == 2


@pytest.fixture
def delivery_history(board, organization):
    agent = AgentFactory(organization=organization, name="relay")
    outcomes = [
        (moment(5), DeliveryStatus.SUCCEEDED),
        (moment(6), DeliveryStatus.SUCCEEDED),
        (moment(7), DeliveryStatus.SUCCEEDED),
        (moment(8), DeliveryStatus.DEAD),
        (moment(9), DeliveryStatus.PENDING),  # not decided: left out of the rate
        (moment(9), DeliveryStatus.FAILED),  # retrying: left out too
        (moment(1), DeliveryStatus.DEAD),  # previous period
    ]
    for when, status in outcomes:
        with clock(when):
            Delivery.objects.create(
                organization=organization,
                board=board,
                agent=agent,
                target_url="https://example.com/hook",
                event_type="task.created",
                status=status,
            )


def test_delivery_success_rate_is_succeeded_over_decided(delivery_history, scope, period):
    assert kpi_values(scope, period)["delivery_success_rate"] == (0.75, 0.0)


def test_other_organizations_are_never_counted(
    fixed_history, webhook_history, outsider, other_organization, period
):
    values = kpi_values(Scope(organization_id=other_organization.pk), period)
    assert values["tasks_done"] == (1, 0)
    assert values["webhooks_received"] == (0, 0)


def test_throughput_chart_stacks_boards_per_day(fixed_history, scope, period, board):
    chart = metrics.throughput_chart(scope, period, {board.pk: board.name})
    assert chart.x[0] == "2026-03-04" and chart.x[-1] == "2026-03-10"
    assert [series.label for series in chart.series] == ["Launch"]
    # done days: at_start 03-04, moved_back 03-06, plain + never_started 03-07, reopened 03-08
    assert list(chart.series[0].values) == [1, 0, 1, 2, 1, 0, 0]


def test_cumulative_flow_counts_arrived_started_done_by_each_day(fixed_history, scope, period, board):
    (chart,) = metrics.cumulative_flow_charts(scope, period, {board.pk: board.name})
    arrived, started, done = (list(series.values) for series in chart.series)
    # before 03-04: previous, before_start, at_start arrived (3); all three started; 2 done
    assert arrived == [4, 6, 7, 8, 8, 10, 10]
    assert started == [4, 6, 7, 7, 7, 7, 7]
    assert done == [3, 3, 4, 6, 7, 7, 7]


def test_cycle_time_histogram_buckets_done_tasks(fixed_history, scope, period):
    chart = metrics.cycle_time_histogram(scope, period)
    # 6 h, 12 h -> "4-24 h"; 48 h -> "1-3 d"; 96 h -> "3-7 d"
    assert dict(zip(chart.x, chart.series[0].values, strict=True)) == {
        "< 1 h": 0,
        "1-4 h": 0,
        "4-24 h": 2,
        "1-3 d": 1,
        "3-7 d": 1,
        "≥ 7 d": 0,
    }


def test_webhook_volume_chart_splits_stored_and_refused(webhook_history, scope, period):
    chart = metrics.webhook_volume_chart(scope, period)
    stored, refused = chart.series
    assert list(stored.values) == [0, 1, 0, 0, 0, 0, 1]
    assert list(refused.values) == [0, 0, 2, 0, 0, 1, 0]


def test_the_rollup_is_idempotent_when_the_log_is_read_again(fixed_history, scope, period):
    before = kpi_values(scope, period)
    LogConsumerCursor.objects.filter(name="task-flow").update(position=0)
    refresh_task_flows(batches=10)
    assert kpi_values(scope, period) == before


def test_the_rollup_reads_a_long_log_in_batches(fixed_history, scope, period, monkeypatch):
    before = kpi_values(scope, period)
    TaskFlow.objects.all().delete()
    LogConsumerCursor.objects.filter(name="task-flow").update(position=0)
    small_batches = dataclasses.replace(following.consumer_named("task-flow"), batch_size=3)
    monkeypatch.setattr(following, "consumer_named", lambda name: small_batches)
    result = refresh_task_flows(batches=1000)
    assert result.events_read > 3
    assert kpi_values(scope, period) == before


def test_period_ending_today_aligns_to_utc_days():
    period = Period.ending_today(30, now=NOW)
    assert period.end == moment(11)
    assert period.start == moment(9, month=2)
    assert len(period.dates()) == 30
