"""Gateways without a gateway: configuration, roles, the command queue, status transitions, API.

(The supervisor and the protocol against the real OpenClaw are in the *_real_gateway modules.)
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from activity.models import ActivityEvent
from core.actors import Actor
from core.encryption import decrypt_secret
from gateways import services
from gateways.models import CommandState, Gateway, GatewayCommand, GatewayStatus
from gateways.protocol import Hello, backoff_delay
from infra.exceptions import Conflict, DomainError, NotFound, PermissionDenied

URL = "ws://127.0.0.1:18789"


@pytest.fixture
def gateway(organization, user) -> Gateway:
    return services.create_gateway(
        actor=Actor.for_user(user), organization=organization, name="studio", url=URL, token="s3cret-token"
    )


def _client(person) -> APIClient:
    client = APIClient()
    client.force_authenticate(person)
    return client


# --- configuration -------------------------------------------------------------------------------


def test_the_token_is_encrypted_at_rest_and_never_returned(gateway, user):
    assert "s3cret-token" not in gateway.token_ciphertext
    assert decrypt_secret(gateway.token_ciphertext) == "s3cret-token"
    body = _client(user).get(f"/api/v1/gateways/{gateway.pk}/").json()
    assert "token" not in body and "s3cret" not in str(body)
    event = ActivityEvent.objects.get(verb="gateway.created")
    assert "s3cret" not in str(event.detail)


def test_only_admins_configure_gateways(organization, teammate, outsider):
    with pytest.raises(PermissionDenied):
        services.create_gateway(
            actor=Actor.for_user(teammate), organization=organization, name="x", url=URL, token="t"
        )
    with pytest.raises(NotFound):
        services.create_gateway(
            actor=Actor.for_user(outsider), organization=organization, name="x", url=URL, token="t"
        )
    assert not Gateway.objects.exists()


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:1", "ws://", "127.0.0.1:18789", "ws://user:pw@host:1", "ws://host:99999", ""],
)
def test_it_rejects_a_url_that_is_not_a_websocket_url(url):
    with pytest.raises(DomainError) as refused:
        services.clean_gateway_url(url)
    assert refused.value.code == "invalid_url"


def test_the_url_limit_is_500_characters():
    at_limit = "ws://h/" + "a" * (services.MAX_URL_LENGTH - len("ws://h/"))
    assert services.clean_gateway_url(at_limit) == at_limit
    with pytest.raises(DomainError):
        services.clean_gateway_url(at_limit + "a")


def test_the_api_gives_a_json_error_for_a_bad_url(organization, user):
    response = _client(user).post(
        "/api/v1/gateways/", {"organization": organization.pk, "name": "x", "url": "http://x", "token": "t"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_url"


def test_the_api_creates_a_gateway_with_a_device_identity(organization, user):
    response = _client(user).post(
        "/api/v1/gateways/",
        {
            "organization": organization.pk,
            "name": "paired",
            "url": URL,
            "token": "t",
            "device_identity": True,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["has_device_identity"] is True and len(body["device_id"]) == 64
    gateway = Gateway.objects.get(pk=body["id"])
    assert services.gateway_device(gateway).device_id == body["device_id"]
    assert "PRIVATE KEY" not in gateway.device_key_ciphertext


def test_two_gateways_of_one_organization_cannot_share_a_name(gateway, organization, user):
    with pytest.raises(Conflict):
        services.create_gateway(
            actor=Actor.for_user(user), organization=organization, name="studio", url=URL, token="t"
        )


def test_a_new_token_is_recorded_as_changed_without_its_value(gateway, user):
    services.update_gateway(actor=Actor.for_user(user), gateway=gateway, token="rotated-token")
    gateway.refresh_from_db()
    assert services.gateway_token(gateway) == "rotated-token"
    event = ActivityEvent.objects.get(verb="gateway.updated")
    assert event.detail["changed"] == ["token"] and "rotated" not in str(event.detail)


def test_an_outsider_cannot_see_a_gateway(gateway, outsider):
    assert _client(outsider).get(f"/api/v1/gateways/{gateway.pk}/").status_code == 404
    assert _client(outsider).get("/api/v1/gateways/").json()["results"] == []


# --- commands ---------------------------------------------------------------------------------


def test_a_viewer_may_read_but_not_act(gateway, viewer):
    command, created = services.request_command(
        actor=Actor.for_user(viewer), gateway=gateway, method="agents.list"
    )
    assert created and command.state == CommandState.PENDING
    with pytest.raises(PermissionDenied):
        services.request_command(
            actor=Actor.for_user(viewer), gateway=gateway, method="chat.send", params={"message": "hi"}
        )


def test_an_operator_acts_but_does_not_configure(gateway, teammate):
    services.request_command(
        actor=Actor.for_user(teammate), gateway=gateway, method="wake", params={"mode": "now"}
    )
    response = _client(teammate).post(
        f"/api/v1/gateways/{gateway.pk}/commands/",
        {"method": "agents.create", "params": {"name": "x"}},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This needs the admin role or higher."


def test_it_refuses_a_method_that_is_not_on_the_list(gateway, user):
    response = _client(user).post(
        f"/api/v1/gateways/{gateway.pk}/commands/", {"method": "config.patch"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_method"


def test_a_retried_request_returns_the_first_command(gateway, teammate):
    client = _client(teammate)
    body = {"method": "chat.send", "params": {"sessionKey": "agent:main:main", "message": "go"}}
    first = client.post(
        f"/api/v1/gateways/{gateway.pk}/commands/", {**body, "idempotency_key": "k-1"}, format="json"
    )
    again = client.post(
        f"/api/v1/gateways/{gateway.pk}/commands/", {**body, "idempotency_key": "k-1"}, format="json"
    )
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["id"] == again.json()["id"]
    assert GatewayCommand.objects.count() == 1
    # The key is the gateway's idempotencyKey too, so a resend by the supervisor is one run.
    assert GatewayCommand.objects.get().params["idempotencyKey"] == "k-1"


def test_one_key_cannot_name_two_methods(gateway, teammate):
    actor = Actor.for_user(teammate)
    services.request_command(actor=actor, gateway=gateway, method="wake", idempotency_key="k")
    with pytest.raises(Conflict):
        services.request_command(actor=actor, gateway=gateway, method="chat.send", idempotency_key="k")


def test_the_idempotency_key_limit_is_100_characters(gateway, teammate):
    actor = Actor.for_user(teammate)
    services.request_command(actor=actor, gateway=gateway, method="wake", idempotency_key="k" * 100)
    with pytest.raises(DomainError) as refused:
        services.request_command(actor=actor, gateway=gateway, method="wake", idempotency_key="k" * 101)
    assert refused.value.code == "invalid_idempotency_key"


def test_the_params_limit_is_64_kib_of_json(gateway, teammate):
    actor = Actor.for_user(teammate)
    overhead = len('{"text": ""}')
    services.request_command(
        actor=actor,
        gateway=gateway,
        method="wake",
        params={"text": "x" * (services.MAX_COMMAND_PARAMS_BYTES - overhead)},
    )
    with pytest.raises(DomainError) as refused:
        services.request_command(
            actor=actor,
            gateway=gateway,
            method="wake",
            params={"text": "x" * (services.MAX_COMMAND_PARAMS_BYTES - overhead + 1)},
        )
    assert refused.value.code == "params_too_large"


def test_a_command_is_claimed_once(gateway, user):
    services.request_command(actor=Actor.for_user(user), gateway=gateway, method="health")
    assert len(services.claim_commands(gateway_id=gateway.pk)) == 1
    assert services.claim_commands(gateway_id=gateway.pk) == []


def test_a_command_waiting_longer_than_its_ttl_fails_with_a_reason(gateway, user):
    command, _ = services.request_command(actor=Actor.for_user(user), gateway=gateway, method="health")
    now = timezone.now()
    assert services.expire_stale_commands(now=now + services.COMMAND_TTL - timedelta(seconds=1)) == 0
    assert services.expire_stale_commands(now=now + services.COMMAND_TTL + timedelta(seconds=1)) == 1
    command.refresh_from_db()
    assert (command.state, command.error_code) == (CommandState.FAILED, "GATEWAY_UNREACHABLE")


# --- status ---------------------------------------------------------------------------------------


def test_status_changes_are_events_once_per_transition(gateway):
    hello = Hello(
        protocol=4,
        server_version="2026.9.6",
        scopes=["operator.read"],
        methods=frozenset(),
        events=frozenset(),
        latency_ms=12,
    )
    services.record_connected(gateway_id=gateway.pk, hello=hello)
    services.record_connected(gateway_id=gateway.pk, hello=hello)
    for _ in range(3):
        services.record_disconnected(
            gateway_id=gateway.pk, code="UNREACHABLE", error="refused", refused=False
        )
    services.record_disconnected(gateway_id=gateway.pk, code="DISCONNECTED", error="closed", refused=False)
    verbs = list(ActivityEvent.objects.order_by("id").values_list("verb", flat=True))
    assert verbs == ["gateway.created", "gateway.connected", "gateway.unreachable"]
    gateway.refresh_from_db()
    assert gateway.status == GatewayStatus.DISCONNECTED and gateway.last_error == "closed"


def test_a_settings_change_is_seen_by_the_supervisor_but_a_status_write_is_not(gateway, user):
    """The supervisor restarts a connection when updated_at moves; its own writes must not."""
    before = Gateway.objects.get(pk=gateway.pk).updated_at
    services.record_disconnected(gateway_id=gateway.pk, code="X", error="y", refused=True)
    assert Gateway.objects.get(pk=gateway.pk).updated_at == before
    services.update_gateway(actor=Actor.for_user(user), gateway=gateway, url="ws://127.0.0.1:18790")
    assert Gateway.objects.get(pk=gateway.pk).updated_at > before


def test_the_backoff_doubles_to_its_ceiling():
    assert 0.375 <= backoff_delay(0) <= 0.5
    assert 0.75 <= backoff_delay(1) <= 1.0
    assert 22.5 <= backoff_delay(20, ceiling=30) <= 30


def test_key_rotation_reencrypts_gateway_tokens_and_device_keys(organization, user, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    gateway = services.create_gateway(
        actor=Actor.for_user(user),
        organization=organization,
        name="p",
        url=URL,
        token="tok",
        device_identity=True,
    )
    device_id = gateway.device_id
    new_key = Fernet.generate_key().decode()
    settings.SECRET_ENCRYPTION_KEYS = [new_key, settings.SECRET_KEY]
    call_command("rotate_secret_encryption")
    settings.SECRET_ENCRYPTION_KEYS = [new_key]  # the old key is gone: only re-encrypted rows read
    gateway.refresh_from_db()
    assert services.gateway_token(gateway) == "tok"
    assert services.gateway_device(gateway).device_id == device_id


# --- agents on a gateway and their usage -----------------------------------------------------------


def test_syncing_imports_new_agents_and_retires_dropped_ones(gateway):
    services.sync_gateway_agents(gateway_id=gateway.pk, listed={"agents": [{"id": "main"}, {"id": "bot"}]})
    services.sync_gateway_agents(gateway_id=gateway.pk, listed={"agents": [{"id": "main"}]})
    rows = {row.agent_key: row for row in gateway.agents.all()}
    assert rows["main"].retired_at is None and rows["bot"].retired_at is not None
    verbs = list(
        ActivityEvent.objects.filter(verb__startswith="gateway.agent_").values_list("verb", flat=True)
    )
    assert sorted(verbs) == ["gateway.agent_imported", "gateway.agent_imported", "gateway.agent_retired"]
    services.sync_gateway_agents(gateway_id=gateway.pk, listed={"agents": [{"id": "main"}, {"id": "bot"}]})
    assert gateway.agents.get(agent_key="bot").retired_at is None


def test_an_agent_of_another_organization_cannot_be_linked(gateway, user, other_organization):
    from tests.factories import AgentFactory

    (row,) = services.sync_gateway_agents(gateway_id=gateway.pk, listed={"agents": [{"id": "main"}]})
    with pytest.raises(NotFound):
        services.link_gateway_agent(
            actor=Actor.for_user(user), gateway_agent=row, agent=AgentFactory(organization=other_organization)
        )


HISTORY = {
    "messages": [
        {"role": "user", "content": "USE_TOOL"},
        {
            "role": "assistant",
            "provider": "fake",
            "model": "echo-1",
            "usage": {"input": 44764, "output": 5, "cacheRead": 0, "cost": {"total": 0}},
            "timestamp": 1796658618601,
            "__openclaw": {"runId": "r1", "id": "m1"},
        },
        {"role": "toolResult", "toolCallId": "c1", "content": [{"type": "text", "text": "x"}]},
        {
            "role": "assistant",
            "provider": "fake",
            "model": "echo-1",
            "usage": {"input": 44800, "output": 7, "cacheRead": 100, "cost": {"total": 0.0012}},
            "timestamp": 1796658619601,
            "__openclaw": {"runId": "r1", "id": "m2"},
        },
        {
            "role": "assistant",
            "usage": {"input": 1, "output": 1},
            "__openclaw": {"runId": "other", "id": "m3"},
        },
    ]
}


def test_a_runs_usage_is_one_report_per_model_call_of_that_run(gateway):
    items = services.run_usage_items(gateway_id=gateway.pk, run_id="r1", history=HISTORY)
    assert [(i.model, i.input_tokens, i.output_tokens, i.cached_tokens) for i in items] == [
        ("fake/echo-1", 44764, 5, 0),
        ("fake/echo-1", 44800, 7, 100),
    ]
    assert items[1].cost is not None and str(items[1].cost) == "0.0012"
    assert len({i.idempotency_key for i in items}) == 2


def test_usage_goes_to_the_linked_agent_once(gateway, user):
    from tests.factories import AgentFactory
    from usage.models import UsageReport

    (row,) = services.sync_gateway_agents(gateway_id=gateway.pk, listed={"agents": [{"id": "main"}]})
    assert (
        services.record_run_usage(gateway_id=gateway.pk, agent_key="main", run_id="r1", history=HISTORY) == 0
    )
    agent = AgentFactory(organization=gateway.organization)
    services.link_gateway_agent(actor=Actor.for_user(user), gateway_agent=row, agent=agent)
    assert (
        services.record_run_usage(gateway_id=gateway.pk, agent_key="main", run_id="r1", history=HISTORY) == 2
    )
    assert (
        services.record_run_usage(gateway_id=gateway.pk, agent_key="main", run_id="r1", history=HISTORY) == 0
    )
    assert UsageReport.objects.filter(agent=agent).count() == 2


# --- Send and Work on this --------------------------------------------------------------------------


@pytest.fixture
def linked(gateway, user, board):
    from tests.factories import AgentFactory

    (row,) = services.sync_gateway_agents(gateway_id=gateway.pk, listed={"agents": [{"id": "builder"}]})
    agent = AgentFactory(organization=gateway.organization, name="builder-bot")
    services.link_gateway_agent(actor=Actor.for_user(user), gateway_agent=row, agent=agent)
    return row, agent


def test_the_agent_page_sends_once_however_often_the_form_is_posted(linked, teammate, client):
    row, agent = linked
    client.force_login(teammate)
    page = client.get(f"/agents/{agent.pk}/").content.decode()
    assert "Message to builder" in page
    key = page.split('name="idempotency_key" value="')[1].split('"')[0]
    url = f"/gateways/{row.gateway_id}/agents/{row.pk}/send"
    first = client.post(url, {"message": "ship it", "idempotency_key": key})
    again = client.post(url, {"message": "ship it", "idempotency_key": key})
    assert first.status_code == again.status_code == 302
    assert first["Location"].endswith("/session/?key=agent:builder:main")
    command = GatewayCommand.objects.get()
    assert command.method == "agent"
    assert command.params == {
        "agentId": "builder",
        "message": "ship it",
        "deliver": False,
        "idempotencyKey": key,
    }


def test_work_on_this_sends_the_task_to_the_assigned_gateway_agent(linked, teammate, client, board):
    from tests.factories import TaskFactory

    row, agent = linked
    task = TaskFactory(board=board, title="Fix the build", description="CI is red", assignee_agent=agent)
    client.force_login(teammate)
    page = client.get(f"/boards/{board.pk}/tasks/{task.pk}/").content.decode()
    assert "Work on this" in page
    key = page.split('name="idempotency_key" value="')[-1].split('"')[0]
    client.post(f"/gateways/{row.gateway_id}/agents/{row.pk}/send", {"task": task.pk, "idempotency_key": key})
    command = GatewayCommand.objects.get()
    assert command.params["message"] == f"Work on task #{task.pk}: Fix the build\n\nCI is red"


def test_a_viewer_cannot_send_and_sees_no_form(linked, viewer, client):
    row, agent = linked
    client.force_login(viewer)
    assert "Message to builder" not in client.get(f"/agents/{agent.pk}/").content.decode()
    response = client.post(
        f"/gateways/{row.gateway_id}/agents/{row.pk}/send", {"message": "x", "idempotency_key": "k"}
    )
    assert response.status_code == 403
    assert not GatewayCommand.objects.exists()


def test_a_retired_gateway_agent_gets_no_run(linked, teammate):
    row, _agent = linked
    services.sync_gateway_agents(gateway_id=row.gateway_id, listed={"agents": []})
    row.refresh_from_db()
    with pytest.raises(DomainError) as refused:
        services.send_to_gateway_agent(
            actor=Actor.for_user(teammate), gateway_agent=row, message="x", idempotency_key="k"
        )
    assert refused.value.code == "agent_retired"


def test_the_message_limit_is_20000_characters(linked, teammate):
    row, _agent = linked
    actor = Actor.for_user(teammate)
    services.send_to_gateway_agent(actor=actor, gateway_agent=row, message="x" * 20_000, idempotency_key="a")
    with pytest.raises(DomainError):
        services.send_to_gateway_agent(
            actor=actor, gateway_agent=row, message="x" * 20_001, idempotency_key="b"
        )


@pytest.mark.parametrize(
    "queue",
    [
        lambda actor, row: services.send_to_gateway_agent(
            actor=actor, gateway_agent=row, message="hi", idempotency_key="k"
        ),
        lambda actor, row: services.wake_gateway_agent(actor=actor, gateway_agent=row, idempotency_key="k"),
        lambda actor, row: services.stop_gateway_session(
            actor=actor, gateway=row.gateway, session_key="agent:builder:main"
        ),
        lambda actor, row: services.reset_gateway_session(
            actor=actor, gateway=row.gateway, session_key="agent:builder:main"
        ),
        lambda actor, row: services.request_command(actor=actor, gateway=row.gateway, method="status"),
    ],
    ids=["send", "wake", "stop", "reset", "request"],
)
def test_each_command_service_checks_the_role_once(linked, teammate, monkeypatch, queue):
    row, _agent = linked
    checks = []
    real = services.authorize
    monkeypatch.setattr(services, "authorize", lambda *a, **kw: checks.append(kw["role"]) or real(*a, **kw))
    _command, created = queue(Actor.for_user(teammate), row)
    assert created and len(checks) == 1


def test_a_viewer_is_refused_before_the_message_is_checked(linked, viewer):
    row, _agent = linked
    with pytest.raises(PermissionDenied):
        services.send_to_gateway_agent(
            actor=Actor.for_user(viewer), gateway_agent=row, message="", idempotency_key="k"
        )


# --- exec approvals -----------------------------------------------------------------------------------

REQUESTED = {
    "id": "appr-1",
    "request": {"command": "printf approved-marker", "agentId": "main", "sessionKey": "agent:main:x"},
    "expiresAtMs": 1796658735216,
}


def test_an_approval_request_is_kept_once_and_announced(gateway):
    first = services.record_approval_requested(gateway_id=gateway.pk, payload=REQUESTED)
    again = services.record_approval_requested(gateway_id=gateway.pk, payload=REQUESTED)
    assert first.pk == again.pk
    assert (first.command, first.agent_key, first.session_key) == (
        "printf approved-marker",
        "main",
        "agent:main:x",
    )
    assert first.expires_at is not None
    assert ActivityEvent.objects.filter(verb="gateway.approval_requested").count() == 1


def test_the_first_answer_wins_and_queues_the_resolve(gateway, teammate, user):
    approval = services.record_approval_requested(gateway_id=gateway.pk, payload=REQUESTED)
    command = services.answer_approval(
        actor=Actor.for_user(teammate), approval=approval, decision="allow-once"
    )
    assert (command.method, command.params) == (
        "exec.approval.resolve",
        {"id": "appr-1", "decision": "allow-once"},
    )
    with pytest.raises(Conflict):
        services.answer_approval(actor=Actor.for_user(user), approval=approval, decision="deny")
    services.record_approval_resolved(
        gateway_id=gateway.pk, payload={"id": "appr-1", "decision": "allow-once"}
    )
    approval.refresh_from_db()
    assert (approval.state, approval.decided_by) == ("approved", teammate)


def test_a_viewer_cannot_answer_and_a_bad_decision_is_refused(gateway, viewer, teammate):
    approval = services.record_approval_requested(gateway_id=gateway.pk, payload=REQUESTED)
    with pytest.raises(PermissionDenied):
        services.answer_approval(actor=Actor.for_user(viewer), approval=approval, decision="deny")
    response = _client(teammate).post(
        f"/api/v1/gateway-approvals/{approval.pk}/answer/", {"decision": "allow-always"}, format="json"
    )
    assert response.status_code == 400 and "error" in response.json()


def test_an_approval_the_gateway_let_expire_is_closed(gateway, teammate):
    approval = services.record_approval_requested(gateway_id=gateway.pk, payload=REQUESTED)
    services.record_approval_resolved(gateway_id=gateway.pk, payload={"id": "appr-1", "decision": "timeout"})
    approval.refresh_from_db()
    assert approval.state == "expired"
    with pytest.raises(Conflict):
        services.answer_approval(actor=Actor.for_user(teammate), approval=approval, decision="deny")
