"""The overview page and its live fragments: scope, what they show, and a query count that does
not grow with the data."""

from __future__ import annotations

import itertools

import pytest
from django.urls import reverse

from boards import services
from boards.models import Approval, TaskStatus
from core.actors import Actor
from deliveries.models import Delivery, DeliveryStatus
from overview.models import TaskFlow
from tests.factories import AgentFactory, BoardFactory, TaskFactory
from tests.overview.conftest import IP, RV, moment
from webhooks.models import BoardWebhook

pytestmark = pytest.mark.django_db
_names = itertools.count()


@pytest.fixture
def client_in(client, user):
    client.force_login(user)
    return client


def grow(board, user, *, tasks: int, agents: int) -> None:
    """More of everything the page shows: tasks through every stage, agents holding work,
    dead deliveries, a failing webhook, a pending approval."""
    actor = Actor.for_user(user)
    for i in range(tasks):
        task = services.create_task(board=board, actor=actor, title=f"grown {i}")
        services.move_task(task=task, actor=actor, status=IP)
        if i % 2:
            services.move_task(task=task, actor=actor, status=RV)
            services.move_task(task=task, actor=actor, status=TaskStatus.DONE)
    for i in range(agents):
        agent = AgentFactory(organization=board.organization, name=f"grown agent {next(_names)}")
        TaskFactory(board=board, assignee_agent=agent, title=f"held {i}")
        Delivery.objects.create(
            organization=board.organization,
            board=board,
            agent=agent,
            target_url="https://example.com/a",
            event_type="task.created",
            status=DeliveryStatus.DEAD,
        )
    BoardWebhook.objects.create(board=board, description=f"hook {tasks}", enabled=False)
    Approval.objects.create(task=TaskFactory(board=board, status=TaskStatus.REVIEW, title=f"approve {tasks}"))


def test_login_lands_on_the_overview(client, user):
    user.set_password("pw-for-the-test-1")
    user.save()
    response = client.post(reverse("login"), {"username": "owner", "password": "pw-for-the-test-1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("overview:overview")


def test_the_overview_shows_kpis_charts_fleet_and_feed(client_in, board, user):
    grow(board, user, tasks=4, agents=2)
    response = client_in.get(reverse("overview:overview"))
    assert response.status_code == 200
    html = response.content.decode()
    for marker in (
        'data-kpi="tasks_done"',
        'data-kpi="delivery_success_rate"',
        "chart-throughput",
        "chart-cycle-time",
        "chart-webhooks",
        f"chart-cfd-{board.pk}",
        "data-agent-tile",
        'id="activity-feed"',
        'data-attention="dead_letters"',
        'data-attention="approvals"',
        'data-attention="failing_webhooks"',
        'data-attention="offline_holders"',
    ):
        assert marker in html, marker
    # the chart data block is JSON, not script (the CSP runs no inline code)
    assert '<script id="chart-throughput" type="application/json">' in html


def test_each_chart_has_a_table_for_screen_readers(client_in, board, user):
    grow(board, user, tasks=2, agents=0)
    html = client_in.get(reverse("overview:overview")).content.decode()
    assert html.count('<figure class="chart"') == html.count("<caption>")
    assert '<div class="chart-plot" aria-hidden="true">' in html


def test_query_count_does_not_grow_with_the_data(
    client_in, board, user, organization, django_assert_max_num_queries
):
    grow(board, user, tasks=2, agents=1)
    client_in.get(reverse("overview:overview"))
    with django_assert_max_num_queries(60) as small:
        client_in.get(reverse("overview:overview"))
    small_count = len(small)
    second = BoardFactory(organization=organization, name="Second", slug="second")
    grow(board, user, tasks=12, agents=5)
    grow(second, user, tasks=6, agents=3)
    client_in.get(reverse("overview:overview"))  # the rollup catches up outside the measure
    with django_assert_max_num_queries(small_count):
        response = client_in.get(reverse("overview:overview"))
    assert response.status_code == 200


def test_fragments_have_a_fixed_query_count_too(client_in, board, user, django_assert_max_num_queries):
    grow(board, user, tasks=10, agents=4)
    client_in.get(reverse("overview:numbers"))
    with django_assert_max_num_queries(36):
        assert client_in.get(reverse("overview:numbers")).status_code == 200
    with django_assert_max_num_queries(26):
        assert client_in.get(reverse("overview:fleet")).status_code == 200


def test_a_board_filter_shows_only_that_board(client_in, board, user, organization):
    second = BoardFactory(organization=organization, name="Second", slug="second")
    grow(second, user, tasks=3, agents=0)
    html = client_in.get(reverse("overview:overview"), {"board": board.pk}).content.decode()
    assert f"chart-cfd-{second.pk}" not in html
    assert f'data-board-only="{board.pk}"' in html


def test_another_organizations_board_is_a_404(client_in, outsider, other_organization):
    foreign = BoardFactory(organization=other_organization, name="Theirs", slug="theirs")
    assert client_in.get(reverse("overview:overview"), {"board": foreign.pk}).status_code == 404
    assert client_in.get(reverse("overview:numbers"), {"board": foreign.pk}).status_code == 404


def test_an_unknown_period_falls_back_to_seven_days(client_in, board):
    html = client_in.get(reverse("overview:overview"), {"days": "13"}).content.decode()
    assert '<option value="7" selected>' in html


def test_the_overview_needs_a_login(client):
    response = client.get(reverse("overview:overview"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_someone_without_an_organization_sees_an_empty_state(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="loner"))
    response = client.get(reverse("overview:overview"))
    assert response.status_code == 200
    assert b"not in an organization" in response.content


def test_a_task_stuck_in_review_past_the_threshold_needs_attention(client_in, board, user, settings):
    from tests.overview.conftest import History

    settings.OVERVIEW_STALE_HOURS = 24
    History(board, Actor.for_user(user)).task("stuck", moment(1), (IP, moment(1, 1)), (RV, moment(1, 2)))
    History(board, Actor.for_user(user)).task("fresh", moment(1))
    html = client_in.get(reverse("overview:fleet")).content.decode()
    assert 'data-attention="stale_tasks"' in html
    assert "stuck" in html
    assert TaskFlow.objects.get(task__title="stuck").status == TaskStatus.REVIEW


def test_offline_holders_read_in_plain_english_and_fresh_times_say_just_now(client_in, board):
    """ "1 open task" / "2 open tasks", "never seen" for an agent with no heartbeat, and a dead
    letter from a moment ago is "just now", not "0 minutes ago"."""
    one = AgentFactory(organization=board.organization, name="one-holder")
    two = AgentFactory(organization=board.organization, name="two-holder")
    TaskFactory(board=board, assignee_agent=one, title="held a")
    TaskFactory(board=board, assignee_agent=two, title="held b")
    TaskFactory(board=board, assignee_agent=two, title="held c")
    Delivery.objects.create(
        organization=board.organization,
        board=board,
        agent=one,
        target_url="https://example.com/a",
        event_type="task.created",
        status=DeliveryStatus.DEAD,
    )
    html = client_in.get(reverse("overview:fleet")).content.decode()
    assert "holds 1 open task; never seen" in html
    assert "holds 2 open tasks; never seen" in html
    assert "(s)" not in html
    assert "dead since" in html and "just now" in html
    assert "0\xa0minutes" not in html and "0 minutes" not in html


def test_count_charts_start_their_y_axis_at_zero(client_in, board, user):
    """The throughput bars carry "y_zero": charts.js then ranges the axis from 0, not from 0.8."""
    from infra.charts import Chart, ChartSeries

    grow(board, user, tasks=2, agents=0)
    html = client_in.get(reverse("overview:overview")).content.decode()
    block = html.split('<script id="chart-throughput" type="application/json">', 1)[1].split("</script>", 1)[
        0
    ]
    assert '"y_zero": true' in block
    assert (
        Chart(id="c", title="t", kind="lines", x=["a"], series=[ChartSeries("s", [1])]).data["y_zero"]
        is False
    )
    assert Chart(id="c", title="t", kind="histogram", x=["a"]).data["y_zero"] is True
    assert Chart(id="c", title="t", kind="lines", x=["a"], y_zero=True).data["y_zero"] is True
