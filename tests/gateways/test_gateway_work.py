"""A board's "send work to gateway agents when assigned": the log consumer that wakes the agent
(never the assigning request), one run per task and assignment however often it is retried, and
the setting on the board settings page and in the API."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from activity import registry
from activity.models import ActivityEvent
from boards import services as board_services
from boards.models import TaskStatus
from core.actors import Actor
from gateways import services
from gateways.assignment import assignment_key, send_assigned_work
from gateways.models import GatewayCommand
from tests.activity.log import drain_log
from tests.factories import AgentFactory, TaskFactory

pytestmark = pytest.mark.django_db

URL = "ws://127.0.0.1:18789"


@pytest.fixture
def gateway(organization, user):
    return services.create_gateway(
        actor=Actor.for_user(user), organization=organization, name="studio", url=URL, token="t0ken"
    )


@pytest.fixture
def builder(gateway, user):
    """A Mission Control agent that runs as `builder` on the gateway."""
    (row,) = services.sync_gateway_agents(gateway_id=gateway.pk, listed={"agents": [{"id": "builder"}]})
    agent = AgentFactory(organization=gateway.organization, name="builder-bot")
    services.link_gateway_agent(actor=Actor.for_user(user), gateway_agent=row, agent=agent)
    return agent


@pytest.fixture
def sending_board(board, user):
    return board_services.update_board(
        board=board, actor=Actor.for_user(user), send_work_to_gateway_agents=True
    )


def _assign(task, agent, user):
    return board_services.assign_task(task=task, actor=Actor.for_user(user), agent=agent)


def _runs():
    return list(GatewayCommand.objects.filter(method="agent"))


def test_assigning_a_task_wakes_the_gateway_agent_after_the_commit_not_in_the_request(
    sending_board, builder, user
):
    task = TaskFactory(board=sending_board, title="Fix the build", description="CI is red")
    _assign(task, builder, user)
    assert _runs() == []  # the assigning request only stored the assignment and its event
    drain_log()  # the worker follows the log
    [command] = _runs()
    event = ActivityEvent.objects.get(verb="task.assigned")
    assert command.idempotency_key == assignment_key(task.pk, event.pk)
    assert command.params == {
        "agentId": "builder",
        "message": f"Work on task #{task.pk}: Fix the build\n\nCI is red",
        "deliver": False,
        "idempotencyKey": command.idempotency_key,
    }
    woken = ActivityEvent.objects.get(verb="gateway.agent_woken")
    assert woken.board_id == sending_board.pk and woken.detail["reason"] == "assigned"
    sentence = registry.describe(woken)
    assert sentence.startswith("Mission Control sent \u2018Fix the build\u2019 to \u2018builder\u2019")
    assert sentence.endswith(", as it was assigned")


def test_a_retried_batch_starts_one_run_not_two(sending_board, builder, user):
    task = TaskFactory(board=sending_board)
    _assign(task, builder, user)
    event = ActivityEvent.objects.get(verb="task.assigned")
    send_assigned_work(event)
    send_assigned_work(event)  # the consumer's batch failed after this event and runs again
    drain_log()
    assert len(_runs()) == 1


def test_a_new_assignment_is_a_new_run(sending_board, builder, user):
    task = TaskFactory(board=sending_board)
    _assign(task, builder, user)
    drain_log()
    _assign(task, None, user)
    _assign(task, builder, user)
    drain_log()
    assert len(_runs()) == 2


def test_nothing_is_sent_when_the_board_does_not_ask(board, builder, user):
    _assign(TaskFactory(board=board), builder, user)
    drain_log()
    assert _runs() == []


def test_nothing_is_sent_for_an_agent_that_is_not_on_a_gateway(sending_board, user):
    _assign(TaskFactory(board=sending_board), AgentFactory(organization=sending_board.organization), user)
    drain_log()
    assert _runs() == []


def test_work_that_went_stale_before_the_consumer_ran_is_dropped(sending_board, builder, user, gateway):
    (other_row,) = [
        row
        for row in services.sync_gateway_agents(
            gateway_id=gateway.pk, listed={"agents": [{"id": "builder"}, {"id": "tester"}]}
        )
        if row.agent_key == "tester"
    ]
    tester = AgentFactory(organization=sending_board.organization, name="tester-bot")
    services.link_gateway_agent(actor=Actor.for_user(user), gateway_agent=other_row, agent=tester)
    task = TaskFactory(board=sending_board)
    _assign(task, builder, user)
    _assign(task, tester, user)  # reassigned before the worker got to the first event
    done = TaskFactory(board=sending_board)
    _assign(done, builder, user)
    type(done).objects.filter(pk=done.pk).update(status=TaskStatus.DONE)  # finished meanwhile
    drain_log()
    [command] = _runs()
    assert command.params["agentId"] == "tester"


def test_a_task_created_for_a_gateway_agent_is_sent(sending_board, builder, user):
    board_services.create_task(
        board=sending_board, actor=Actor.for_user(user), title="New", assignee_agent=builder
    )
    drain_log()
    [command] = _runs()
    assert command.params["message"].startswith("Work on task #")


def test_reassigning_through_an_update_is_sent(sending_board, builder, user):
    task = TaskFactory(board=sending_board)
    board_services.update_task(task=task, actor=Actor.for_user(user), assignee_agent=builder)
    drain_log()
    assert len(_runs()) == 1


# --- the setting -----------------------------------------------------------------------------------


def test_admins_turn_it_on_in_the_board_settings_page(board, user, client):
    client.force_login(user)
    page = client.get(f"/boards/{board.pk}/settings/").content.decode()
    assert "Send work to gateway agents when assigned" in page
    response = client.post(
        f"/boards/{board.pk}/settings/", {"name": board.name, "send_work_to_gateway_agents": "on"}
    )
    assert response.status_code == 302
    board.refresh_from_db()
    assert board.send_work_to_gateway_agents is True
    assert ActivityEvent.objects.get(verb="board.updated").detail["fields"] == ["send_work_to_gateway_agents"]


def test_the_api_reads_and_sets_it_for_admins_only(board, user, teammate):
    admin, operator = APIClient(), APIClient()
    admin.force_authenticate(user)
    operator.force_authenticate(teammate)
    assert admin.get(f"/api/v1/boards/{board.pk}/").json()["send_work_to_gateway_agents"] is False
    refused = operator.patch(
        f"/api/v1/boards/{board.pk}/", {"send_work_to_gateway_agents": True}, format="json"
    )
    assert refused.status_code == 403
    response = admin.patch(
        f"/api/v1/boards/{board.pk}/", {"send_work_to_gateway_agents": True}, format="json"
    )
    assert response.status_code == 200 and response.json()["send_work_to_gateway_agents"] is True
    bad = admin.patch(f"/api/v1/boards/{board.pk}/", {"send_work_to_gateway_agents": "maybe"}, format="json")
    assert bad.status_code == 400 and "error" in bad.json()
