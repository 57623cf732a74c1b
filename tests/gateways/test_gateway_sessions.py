"""The agent page's gateway panel without a gateway: the sessions the supervisor keeps, Stop and
Reset, Wake, and the files page with its conflict error. (Against the real gateway:
test_agent_sessions_real_gateway.py.)"""

from __future__ import annotations

import pytest

from activity import registry
from activity.models import ActivityEvent
from core.actors import Actor
from gateways import services
from gateways.models import CommandState, GatewayCommand, GatewaySession
from gateways.protocol import GatewayError
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway(organization, user):
    return services.create_gateway(
        actor=Actor.for_user(user),
        organization=organization,
        name="studio",
        url="ws://127.0.0.1:1",
        token="t",
    )


@pytest.fixture
def linked(gateway, user):
    (row,) = services.sync_gateway_agents(gateway_id=gateway.pk, listed={"agents": [{"id": "builder"}]})
    agent = AgentFactory(organization=gateway.organization, name="builder-bot")
    services.link_gateway_agent(actor=Actor.for_user(user), gateway_agent=row, agent=agent)
    services.sync_gateway_sessions(
        gateway_id=gateway.pk,
        listed={
            "sessions": [
                {"key": "agent:builder:main", "updatedAt": 1796654399622, "label": "builder main"},
                {"key": "agent:builder:nightly"},
                {"key": "agent:main:main"},
            ]
        },
    )
    return row, agent


def test_the_sessions_the_gateway_lists_are_kept_and_dropped_ones_go(gateway):
    services.sync_gateway_sessions(
        gateway_id=gateway.pk, listed={"sessions": [{"key": "agent:a:main"}, {"key": "agent:b:x"}]}
    )
    services.sync_gateway_sessions(
        gateway_id=gateway.pk, listed={"sessions": [{"key": "agent:b:x", "label": "renamed"}, {"bad": 1}]}
    )
    assert list(GatewaySession.objects.values_list("key", "agent_key", "label")) == [
        ("agent:b:x", "b", "renamed")
    ]
    assert services.sync_gateway_sessions(gateway_id=gateway.pk, listed={"nope": []}) == 0
    assert GatewaySession.objects.count() == 1  # an answer without a list changes nothing


def test_at_most_500_sessions_are_kept(gateway):
    listed = {"sessions": [{"key": f"agent:a:s{n}"} for n in range(501)]}
    assert services.sync_gateway_sessions(gateway_id=gateway.pk, listed=listed) == 500
    assert GatewaySession.objects.count() == 500


def test_the_agent_page_lists_its_sessions_with_stop_and_reset_for_operators(linked, teammate, client):
    row, agent = linked
    client.force_login(teammate)
    page = client.get(f"/agents/{agent.pk}/").content.decode()
    assert f"/gateways/{row.gateway_id}/session/?key=agent%3Abuilder%3Amain" in page
    assert "builder main" in page and "agent:builder:nightly" in page
    assert "agent:main:main" not in page  # another agent's session
    assert page.count("Stop the run of") == 2 and page.count('aria-label="Reset') == 2
    assert "Wake builder" in page and f"/gateways/{row.gateway_id}/agents/{row.pk}/files/" in page
    assert f'name="next" value="/agents/{agent.pk}/"' in page  # Stop and Reset come back here


def test_a_viewer_sees_the_sessions_but_no_buttons_and_cannot_stop(linked, viewer, client):
    row, agent = linked
    client.force_login(viewer)
    page = client.get(f"/agents/{agent.pk}/").content.decode()
    assert "agent:builder:nightly" in page and "Stop the run of" not in page and "Wake builder" not in page
    response = client.post(f"/gateways/{row.gateway_id}/sessions/stop", {"key": "agent:builder:main"})
    assert response.status_code == 403
    assert not GatewayCommand.objects.exists()


def test_stop_and_reset_queue_their_methods_and_say_what_they_did(linked, teammate, client):
    row, agent = linked
    client.force_login(teammate)
    back = f"/agents/{agent.pk}/"
    stop = client.post(
        f"/gateways/{row.gateway_id}/sessions/stop", {"key": "agent:builder:main", "next": back}
    )
    reset = client.post(
        f"/gateways/{row.gateway_id}/sessions/reset", {"key": "agent:builder:main", "next": back}
    )
    assert stop["Location"] == reset["Location"] == back
    commands = {c.method: c.params for c in GatewayCommand.objects.all()}
    assert commands == {
        "chat.abort": {"sessionKey": "agent:builder:main"},
        "sessions.reset": {"key": "agent:builder:main", "reason": "reset"},
    }
    stopped = ActivityEvent.objects.get(verb="gateway.session_stopped")
    assert "stopped the run of the session" in registry.describe(stopped)
    assert "agent:builder:main" in registry.describe(ActivityEvent.objects.get(verb="gateway.session_reset"))
    assert not ActivityEvent.objects.filter(verb="gateway.command_requested").exists()


def test_a_session_key_is_at_most_200_characters_and_next_stays_on_this_site(gateway, teammate, client):
    actor = Actor.for_user(teammate)
    services.stop_gateway_session(actor=actor, gateway=gateway, session_key="k" * 200)
    with pytest.raises(services.DomainError):
        services.stop_gateway_session(actor=actor, gateway=gateway, session_key="k" * 201)
    client.force_login(teammate)
    response = client.post(
        f"/gateways/{gateway.pk}/sessions/reset", {"key": "", "next": "https://evil.example/"}
    )
    assert response["Location"] == f"/gateways/{gateway.pk}/"
    assert GatewayCommand.objects.count() == 1


def test_wake_starts_a_run_with_the_wake_message_once(linked, teammate, client):
    row, agent = linked
    client.force_login(teammate)
    page = client.get(f"/agents/{agent.pk}/").content.decode()
    key = page.split('name="idempotency_key" value="')[1].split('"')[0]
    assert key.startswith("wake-")
    url = f"/gateways/{row.gateway_id}/agents/{row.pk}/send"
    first = client.post(url, {"action": "wake", "idempotency_key": key})
    client.post(url, {"action": "wake", "idempotency_key": key})
    assert first["Location"].endswith("/session/?key=agent:builder:main")
    [command] = GatewayCommand.objects.all()
    assert command.params["message"] == services.WAKE_MESSAGE
    woken = ActivityEvent.objects.get(verb="gateway.agent_woken")
    assert registry.describe(woken).startswith(f"{teammate.username} woke")


# --- files -------------------------------------------------------------------------------------------


def test_the_files_page_is_read_only_for_viewers_and_editable_for_admins(linked, viewer, user, client):
    row, _agent = linked
    url = f"/gateways/{row.gateway_id}/agents/{row.pk}/files/?name=AGENTS.md"
    client.force_login(viewer)
    page = client.get(url).content.decode()
    assert 'data-file="AGENTS.md"' in page and "readonly" in page and 'id="gateway-file-save"' not in page
    client.force_login(user)
    page = client.get(
        f"/gateways/{row.gateway_id}/agents/{row.pk}/files/?name=../../etc/passwd"
    ).content.decode()
    assert 'data-file="SOUL.md"' in page and 'id="gateway-file-save"' in page and "readonly" not in page


def test_a_save_refused_because_the_file_changed_says_so(gateway, user):
    command, _ = services.request_command(
        actor=Actor.for_user(user),
        gateway=gateway,
        method="agents.files.set",
        params={"agentId": "main", "name": "SOUL.md", "content": "new", "expectedHash": "a" * 64},
    )
    refusal = GatewayError(
        "INVALID_REQUEST",
        'agent file "SOUL.md" changed since it was read',
        details={"type": "agent_file_conflict", "name": "SOUL.md", "currentHash": "b" * 64},
    )
    services.finish_command(command=command, error=refusal)
    command.refresh_from_db()
    assert command.state == CommandState.FAILED
    assert command.error_code == "FILE_CHANGED"
    assert command.error_message.startswith("SOUL.md was changed on the gateway since you opened it.")
    assert not ActivityEvent.objects.filter(verb="gateway.agent_file_saved").exists()


def test_a_saved_file_is_recorded_as_saved_by_the_person(gateway, user):
    command, _ = services.request_command(
        actor=Actor.for_user(user),
        gateway=gateway,
        method="agents.files.set",
        params={"agentId": "main", "name": "SOUL.md", "content": "You are careful."},
    )
    services.finish_command(command=command, result={"ok": True, "file": {"name": "SOUL.md"}})
    saved = ActivityEvent.objects.get(verb="gateway.agent_file_saved")
    assert saved.actor_user_id == user.pk
    assert "saved" in registry.describe(saved) and "SOUL.md" in registry.describe(saved)


def test_a_file_is_at_most_the_command_params_limit(gateway, user):
    actor = Actor.for_user(user)
    base = {"agentId": "main", "name": "SOUL.md"}
    services.request_command(
        actor=actor,
        gateway=gateway,
        method="agents.files.set",
        params={**base, "content": "x" * services.MAX_FILE_BYTES},
    )
    with pytest.raises(services.DomainError) as refused:
        services.request_command(
            actor=actor,
            gateway=gateway,
            method="agents.files.set",
            params={**base, "content": "x" * services.MAX_COMMAND_PARAMS_BYTES},
        )
    assert refused.value.code == "params_too_large"


def test_sessions_that_come_or_go_are_an_event_but_a_run_in_one_is_not(gateway):
    from activity.models import ActivityEvent as Event

    services.sync_gateway_sessions(gateway_id=gateway.pk, listed={"sessions": [{"key": "agent:a:main"}]})
    services.sync_gateway_sessions(
        gateway_id=gateway.pk, listed={"sessions": [{"key": "agent:a:main", "updatedAt": 1796654399622}]}
    )
    services.sync_gateway_sessions(gateway_id=gateway.pk, listed={"sessions": [{"key": "agent:b:x"}]})
    events = list(Event.objects.filter(verb="gateway.sessions_changed").order_by("id"))
    assert [(e.detail["added"], e.detail["removed"]) for e in events] == [
        (["agent:a:main"], []),
        (["agent:b:x"], ["agent:a:main"]),
    ]
    assert "new agent:b:x; gone agent:a:main" in registry.describe(events[1])
