"""The supervisor against the real gateway: status, refusals shown on the page, the command queue
(provisioning with the reload race, a run that completes), and a gateway restart survived.

The restart test comes last in this module: it replaces the session's gateway (fresh state).
"""

from __future__ import annotations

import pytest

from activity.models import ActivityEvent
from core.actors import Actor
from gateways import services
from gateways.models import CommandState, Gateway, GatewayCommand, GatewayStatus
from tests.conftest import requires_postgres
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
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
    organization = OrganizationFactory()
    user = UserFactory()
    MembershipFactory(user=user, organization=organization, role="admin")
    return user


def _gateway(admin, openclaw_gateway, **kwargs) -> Gateway:
    organization = admin.memberships.first().organization
    return services.create_gateway(
        actor=Actor.for_user(admin),
        organization=organization,
        name=kwargs.pop("name", "local"),
        url=openclaw_gateway.url,
        token=kwargs.pop("token", openclaw_gateway.token),
        **kwargs,
    )


def _status(gateway: Gateway, *wanted: str):
    def check():
        gateway.refresh_from_db()
        return gateway.status in wanted

    return check


def _finished(command: GatewayCommand):
    def check():
        command.refresh_from_db()
        return command.state in (CommandState.SUCCEEDED, CommandState.FAILED)

    return check


def test_it_connects_and_records_version_protocol_and_scopes(admin, openclaw_gateway, gateway_supervisor):
    gateway = _gateway(admin, openclaw_gateway)
    wait_until(_status(gateway, GatewayStatus.CONNECTED), what="the gateway to connect")
    assert gateway.server_version == "2026.9.6"
    assert gateway.protocol == 4
    assert "operator.admin" in gateway.scopes
    assert gateway.latency_ms is not None and gateway.last_seen_at is not None
    assert ActivityEvent.objects.filter(verb="gateway.connected", target_id=str(gateway.pk)).count() == 1


def test_a_bad_token_is_refused_and_the_page_says_why(admin, openclaw_gateway, gateway_supervisor, client):
    gateway = _gateway(admin, openclaw_gateway, token="wrong-token")
    wait_until(_status(gateway, GatewayStatus.REFUSED), what="the refusal")
    assert gateway.last_error_code == "AUTH_TOKEN_MISMATCH"
    client.force_login(admin)
    page = client.get(f"/gateways/{gateway.pk}/").content.decode()
    assert "AUTH_TOKEN_MISMATCH" in page and "gateway token mismatch" in page
    assert "wrong-token" not in page
    assert ActivityEvent.objects.filter(verb="gateway.refused").count() == 1


def test_a_read_only_gateway_refuses_actions_with_the_missing_scope(
    admin, openclaw_gateway, gateway_supervisor, client
):
    gateway = _gateway(admin, openclaw_gateway, read_only=True)
    wait_until(_status(gateway, GatewayStatus.CONNECTED), what="the read-only connection")
    assert gateway.scopes == ["operator.read"]
    command, _ = services.request_command(
        actor=Actor.for_user(admin), gateway=gateway, method="agents.create", params={"name": "not-allowed"}
    )
    wait_until(_finished(command), what="the refused command")
    assert command.state == CommandState.FAILED
    assert command.error_code == "MISSING_SCOPE"
    assert command.error_message == "missing scope: operator.admin"
    client.force_login(admin)
    assert "missing scope: operator.admin" in client.get(f"/gateways/{gateway.pk}/").content.decode()


def test_it_provisions_an_agent_and_messages_it_through_the_reload_race(
    admin, openclaw_gateway, gateway_supervisor
):
    """agents.create, then at once chat.send to the new agent: the gateway says the agent "no
    longer exists in configuration" until its reload; the supervisor waits it out."""
    gateway = _gateway(admin, openclaw_gateway)
    wait_until(_status(gateway, GatewayStatus.CONNECTED), what="the connection")
    actor = Actor.for_user(admin)
    create, _ = services.request_command(
        actor=actor, gateway=gateway, method="agents.create", params={"name": "race-bot"}
    )
    send, _ = services.request_command(
        actor=actor,
        gateway=gateway,
        method="chat.send",
        params={"sessionKey": "agent:race-bot:main", "message": "hello race"},
        idempotency_key="race-1",
    )
    wait_until(_finished(create), timeout=60, what="agents.create")
    assert create.state == CommandState.SUCCEEDED, create.error_message
    assert create.result["agentId"] == "race-bot"
    # Imported after agents.create (the supervisor reads agents.list again).
    wait_until(lambda: gateway.agents.filter(agent_key="race-bot").exists(), what="the import of race-bot")
    wait_until(_finished(send), timeout=60, what="chat.send")
    assert send.state == CommandState.SUCCEEDED, send.error_message
    assert send.result["runId"]
    # A retry with the same key is the same command: no second run.
    again, created = services.request_command(
        actor=actor,
        gateway=gateway,
        method="chat.send",
        params={"sessionKey": "agent:race-bot:main", "message": "hello race"},
        idempotency_key="race-1",
    )
    assert (again.pk, created) == (send.pk, False)
    finished = wait_until(
        lambda: ActivityEvent.objects.filter(verb__in=["gateway.run_finished", "gateway.run_failed"]).first(),
        timeout=90,
        what="the run to end",
    )
    assert finished.verb == "gateway.run_finished", finished.detail
    assert finished.detail["text"] == "ECHO: hello race"
    assert finished.detail["session_key"] == "agent:race-bot:main"


def test_a_linked_agents_run_records_its_usage(admin, openclaw_gateway, gateway_supervisor):
    from tests.factories import AgentFactory
    from usage.models import UsageReport

    gateway = _gateway(admin, openclaw_gateway)
    wait_until(_status(gateway, GatewayStatus.CONNECTED), what="the connection")
    main = wait_until(lambda: gateway.agents.filter(agent_key="main").first(), what="the import of main")
    agent = AgentFactory(organization=gateway.organization, name="studio-main")
    services.link_gateway_agent(actor=Actor.for_user(admin), gateway_agent=main, agent=agent)
    services.request_command(
        actor=Actor.for_user(admin),
        gateway=gateway,
        method="chat.send",
        params={"sessionKey": "agent:main:usage-test", "message": "count me"},
    )
    report = wait_until(lambda: UsageReport.objects.filter(agent=agent).first(), timeout=90, what="the usage")
    assert report.model == "fake/echo-1"
    assert report.input_tokens > 0 and report.output_tokens > 0


def test_an_exec_approval_is_answered_in_the_app_and_resolved_on_the_gateway(
    admin, openclaw_gateway, gateway_supervisor, client
):
    from gateways.models import GatewayApproval

    gateway = _gateway(admin, openclaw_gateway)
    wait_until(_status(gateway, GatewayStatus.CONNECTED), what="the connection")
    services.request_command(
        actor=Actor.for_user(admin),
        gateway=gateway,
        method="chat.send",
        params={"sessionKey": "agent:main:approval-test", "message": "RUN_COMMAND: printf approved-marker"},
    )
    approval = wait_until(
        lambda: GatewayApproval.objects.filter(gateway=gateway).first(),
        timeout=60,
        what="the approval request",
    )
    assert (approval.command, approval.agent_key, approval.state) == (
        "printf approved-marker",
        "main",
        "pending",
    )
    client.force_login(admin)
    page = client.get(f"/gateways/{gateway.pk}/").content.decode()
    assert "printf approved-marker" in page and "Allow once" in page
    client.post(f"/gateways/{gateway.pk}/approvals/{approval.pk}/answer", {"decision": "allow-once"})

    def settled():
        approval.refresh_from_db()
        return approval.state == "approved"

    wait_until(settled, timeout=30, what="exec.approval.resolved")
    finished = wait_until(
        lambda: ActivityEvent.objects.filter(
            verb="gateway.run_finished", detail__session_key="agent:main:approval-test"
        ).first(),
        timeout=60,
        what="the approved run to finish",
    )
    assert finished.detail["text"] == "TOOL RESULT SEEN: approved-marker"


def test_it_survives_a_gateway_restart(admin, openclaw_gateway, gateway_supervisor, settings):
    settings.GATEWAY_RECONNECT_MAX_SECONDS = 2
    gateway = _gateway(admin, openclaw_gateway)
    wait_until(_status(gateway, GatewayStatus.CONNECTED), what="the connection")
    openclaw_gateway.stop()
    wait_until(_status(gateway, GatewayStatus.DISCONNECTED), what="the drop to be recorded")
    # Queued while the gateway is down: runs once it is back.
    command, _ = services.request_command(actor=Actor.for_user(admin), gateway=gateway, method="health")
    openclaw_gateway.start()
    wait_until(_status(gateway, GatewayStatus.CONNECTED), timeout=60, what="the reconnect")
    wait_until(_finished(command), what="the queued command after the restart")
    assert command.state == CommandState.SUCCEEDED
    status_verbs = list(
        ActivityEvent.objects.filter(
            target_id=str(gateway.pk),
            verb__in=["gateway.connected", "gateway.unreachable", "gateway.refused"],
        )
        .order_by("id")
        .values_list("verb", flat=True)
    )
    assert status_verbs == ["gateway.connected", "gateway.unreachable", "gateway.connected"]
    # The restarted gateway starts from fresh state: agents made earlier in the session are gone,
    # and the re-import on reconnect retires them; "main" is back.
    wait_until(
        lambda: not gateway.agents.filter(retired_at__isnull=True).exclude(agent_key="main").exists(),
        what="the re-import after the restart",
    )
    assert gateway.agents.get(agent_key="main").retired_at is None
