"""Against the real gateway: a board that sends work when a task is assigned (the log consumer
queues one run, the gateway runs it), the agent page's sessions kept by the supervisor, Stop and
Reset on a real session, and the agent's SOUL.md saved with optimistic concurrency."""

from __future__ import annotations

import uuid

import pytest

from activity.models import ActivityEvent
from boards import services as board_services
from core.actors import Actor
from gateways import services
from gateways.models import (
    CommandState,
    Gateway,
    GatewayApproval,
    GatewayCommand,
    GatewaySession,
    GatewayStatus,
)
from tests.activity.log import drain_log
from tests.conftest import requires_postgres
from tests.factories import (
    AgentFactory,
    BoardFactory,
    MembershipFactory,
    OrganizationFactory,
    TaskFactory,
    UserFactory,
)
from tests.gateways.conftest import wait_until

# The real gateway costs a minute or two of CI: it runs in the production-mode run only.
pytestmark = [
    requires_postgres,
    pytest.mark.xdist_group("serial"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.runs_long,
]


@pytest.fixture
def admin(transactional_db):
    user = UserFactory()
    MembershipFactory(user=user, organization=OrganizationFactory(), role="admin")
    return user


def _connected_gateway(admin, openclaw_gateway) -> Gateway:
    gateway = services.create_gateway(
        actor=Actor.for_user(admin),
        organization=admin.memberships.first().organization,
        name=f"studio-{uuid.uuid4().hex[:6]}",
        url=openclaw_gateway.url,
        token=openclaw_gateway.token,
    )

    def connected():
        gateway.refresh_from_db()
        return gateway.status == GatewayStatus.CONNECTED

    wait_until(connected, what="the supervisor to connect")
    return gateway


def _main_linked(admin, gateway):
    main = wait_until(lambda: gateway.agents.filter(agent_key="main").first(), what="the import of main")
    agent = AgentFactory(organization=gateway.organization, name=f"main-{gateway.pk}")
    services.link_gateway_agent(actor=Actor.for_user(admin), gateway_agent=main, agent=agent)
    return main, agent


def _finished(command: GatewayCommand, timeout: float = 60.0) -> GatewayCommand:
    def check():
        command.refresh_from_db()
        return command.state in (CommandState.SUCCEEDED, CommandState.FAILED)

    wait_until(check, timeout=timeout, what=f"{command.method} to finish")
    return command


def _run(admin, gateway, method: str, params: dict) -> GatewayCommand:
    command, _ = services.request_command(
        actor=Actor.for_user(admin), gateway=gateway, method=method, params=params
    )
    return _finished(command)


def test_an_assigned_task_runs_once_and_its_session_shows_on_the_agent_page(
    admin, openclaw_gateway, gateway_supervisor, client
):
    gateway = _connected_gateway(admin, openclaw_gateway)
    _main, agent = _main_linked(admin, gateway)
    board = BoardFactory(organization=gateway.organization, send_work_to_gateway_agents=True)
    task = TaskFactory(board=board, title="Check the release notes")
    board_services.assign_task(task=task, actor=Actor.for_user(admin), agent=agent)
    drain_log()  # the worker follows the log
    drain_log()  # a second pass (a retried batch would be one) starts nothing new
    [command] = GatewayCommand.objects.filter(gateway=gateway, method="agent")
    assert _finished(command).state == CommandState.SUCCEEDED, command.error_message
    finished = wait_until(
        lambda: ActivityEvent.objects.filter(
            verb__in=["gateway.run_finished", "gateway.run_failed"],
            target_id=str(gateway.pk),
            detail__run_id=command.result["runId"],
        ).first(),
        timeout=90,
        what="the run to end",
    )
    assert finished.detail["text"] == f"ECHO: Work on task #{task.pk}: Check the release notes"
    # The supervisor read sessions.list after sessions.changed: the page shows it, no socket.
    wait_until(
        lambda: GatewaySession.objects.filter(gateway=gateway, key="agent:main:main").exists(),
        what="the session to be listed",
    )
    client.force_login(admin)
    page = client.get(f"/agents/{agent.pk}/").content.decode()
    assert "agent:main:main" in page and "Stop the run of agent:main:main" in page


def test_stop_ends_a_waiting_run_and_reset_empties_the_session(
    admin, openclaw_gateway, gateway_supervisor, client
):
    gateway = _connected_gateway(admin, openclaw_gateway)
    session = f"agent:main:stop-{uuid.uuid4().hex[:6]}"
    # The command needs an exec approval (the test gateway asks for every exec): the run waits.
    services.request_command(
        actor=Actor.for_user(admin),
        gateway=gateway,
        method="chat.send",
        params={"sessionKey": session, "message": "RUN_COMMAND: printf never-run"},
    )
    wait_until(
        lambda: GatewayApproval.objects.filter(gateway=gateway, session_key=session).exists(),
        timeout=60,
        what="the run to wait for its approval",
    )
    client.force_login(admin)
    client.post(f"/gateways/{gateway.pk}/sessions/stop", {"key": session})
    stop = _finished(GatewayCommand.objects.get(gateway=gateway, method="chat.abort"))
    assert stop.state == CommandState.SUCCEEDED, stop.error_message
    assert stop.result["aborted"] is True and stop.result["runIds"]
    assert ActivityEvent.objects.filter(verb="gateway.session_stopped", detail__session_key=session).exists()

    before = _run(admin, gateway, "chat.history", {"sessionKey": session})
    assert "user" in [m["role"] for m in before.result["messages"]], "stopping keeps the conversation"
    client.post(f"/gateways/{gateway.pk}/sessions/reset", {"key": session})
    reset = _finished(GatewayCommand.objects.get(gateway=gateway, method="sessions.reset"))
    assert reset.state == CommandState.SUCCEEDED, reset.error_message
    after = _run(admin, gateway, "chat.history", {"sessionKey": session})
    # Only the gateway's own "Reset" marker is left: the conversation is gone.
    assert [m["role"] for m in after.result["messages"]] == ["system"]


def test_soul_md_is_saved_and_a_change_made_meanwhile_is_refused(admin, openclaw_gateway, gateway_supervisor):
    gateway = _connected_gateway(admin, openclaw_gateway)
    listed = _run(admin, gateway, "agents.files.list", {"agentId": "main"})
    assert {"SOUL.md", "AGENTS.md"} <= {f["name"] for f in listed.result["files"]}
    opened = _run(admin, gateway, "agents.files.get", {"agentId": "main", "name": "SOUL.md"})
    if "hash" not in opened.result["file"]:
        # A gateway that has not run the agent yet (the restart test leaves a fresh one) lists
        # SOUL.md as missing, without a hash: write it once so there is a version to open.
        seeded = _run(
            admin, gateway, "agents.files.set", {"agentId": "main", "name": "SOUL.md", "content": "New.\n"}
        )
        assert seeded.state == CommandState.SUCCEEDED, seeded.error_message
        opened = _run(admin, gateway, "agents.files.get", {"agentId": "main", "name": "SOUL.md"})
    opened_hash = opened.result["file"]["hash"]
    saved = _run(
        admin,
        gateway,
        "agents.files.set",
        {"agentId": "main", "name": "SOUL.md", "content": "You are careful.\n", "expectedHash": opened_hash},
    )
    assert saved.state == CommandState.SUCCEEDED, saved.error_message
    assert (
        ActivityEvent.objects.filter(verb="gateway.agent_file_saved").latest("id").detail["file"] == "SOUL.md"
    )
    # A second editor opened the file before that save: their save is refused, nothing is lost.
    stale = _run(
        admin,
        gateway,
        "agents.files.set",
        {"agentId": "main", "name": "SOUL.md", "content": "Overwrite!\n", "expectedHash": opened_hash},
    )
    assert (stale.state, stale.error_code) == (CommandState.FAILED, "FILE_CHANGED")
    assert "SOUL.md was changed on the gateway since you opened it" in stale.error_message
    now = _run(admin, gateway, "agents.files.get", {"agentId": "main", "name": "SOUL.md"})
    assert now.result["file"]["content"] == "You are careful.\n"
