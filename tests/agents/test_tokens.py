"""Token issue, lookup, rotation with grace, revocation, expiry and suspension."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from activity.models import ActivityEvent
from agents import services
from agents.models import Agent, AgentToken
from core.actors import Actor
from infra.exceptions import Conflict, DomainError, NotFound, PermissionDenied
from tests.agent_tokens import authenticate_agent_token
from tests.agents.factories import agent_with_token
from tests.factories import AgentFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(organization, board):
    agent = AgentFactory(organization=organization, name="builder")
    agent.boards.set([board])
    return agent


@pytest.fixture
def admin_actor(user):
    return Actor.for_user(user)


def test_issued_token_is_shown_once_and_stored_only_as_digest(agent, admin_actor):
    token, raw = services.issue_agent_token(agent=agent, actor=admin_actor, name="ci")
    assert raw.startswith("mca_" + token.public_id + "_")
    secret = raw.split("_", 2)[2]
    assert len(secret) >= 43  # 32 random bytes, url-safe base64
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    stored = AgentToken.objects.filter(pk=token.pk).values()[0]
    assert all(secret not in str(value) for value in stored.values())
    assert authenticate_agent_token(raw) == token
    event = ActivityEvent.objects.get(verb="agent.token_issued")
    assert event.actor_user == admin_actor.user
    assert token.public_id not in str(event.detail) and secret[:8] not in str(event.detail)


def test_it_rejects_a_wrong_secret_for_a_known_public_id(agent, admin_actor):
    _token, raw = services.issue_agent_token(agent=agent, actor=admin_actor)
    forged = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    assert authenticate_agent_token(forged) is None


@pytest.mark.parametrize("raw", ["", "mca_", "Bearer x", "mca_zz_" + "a" * 43, "x" * 500])
def test_it_rejects_malformed_tokens_without_a_query(raw, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert authenticate_agent_token(raw) is None


def test_several_tokens_per_agent_work_independently(agent, admin_actor):
    first, raw1 = services.issue_agent_token(agent=agent, actor=admin_actor, name="one")
    second, raw2 = services.issue_agent_token(agent=agent, actor=admin_actor, name="two")
    services.revoke_agent_token(token=first, actor=admin_actor)
    assert authenticate_agent_token(raw1) is None
    assert authenticate_agent_token(raw2) == second


def test_revocation_is_immediate(agent, admin_actor):
    token, raw = services.issue_agent_token(agent=agent, actor=admin_actor)
    assert authenticate_agent_token(raw) is not None
    services.revoke_agent_token(token=token, actor=admin_actor)
    assert authenticate_agent_token(raw) is None
    assert ActivityEvent.objects.filter(verb="agent.token_revoked").count() == 1


def test_rotation_without_grace_stops_the_old_token_at_once(agent, admin_actor):
    old, old_raw = services.issue_agent_token(agent=agent, actor=admin_actor, name="main")
    new, new_raw = services.rotate_agent_token(token=old, actor=admin_actor)
    assert new.name == "main" and new.pk != old.pk
    assert authenticate_agent_token(old_raw) is None
    assert authenticate_agent_token(new_raw) == new


def test_rotation_with_grace_keeps_the_old_token_until_the_grace_ends(agent, admin_actor):
    old, old_raw = services.issue_agent_token(agent=agent, actor=admin_actor)
    new, new_raw = services.rotate_agent_token(token=old, actor=admin_actor, grace_seconds=300)
    assert authenticate_agent_token(old_raw) == old
    assert authenticate_agent_token(new_raw) == new
    old.refresh_from_db()
    assert timedelta(seconds=295) < old.expires_at - timezone.now() <= timedelta(seconds=300)
    AgentToken.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert authenticate_agent_token(old_raw) is None
    assert authenticate_agent_token(new_raw) == new


@pytest.mark.parametrize("grace", [-1, services.MAX_GRACE_SECONDS + 1])
def test_it_rejects_a_grace_period_out_of_bounds(agent, admin_actor, grace):
    old, _ = services.issue_agent_token(agent=agent, actor=admin_actor)
    with pytest.raises(DomainError):
        services.rotate_agent_token(token=old, actor=admin_actor, grace_seconds=grace)


def test_it_accepts_the_longest_grace_period(agent, admin_actor):
    old, old_raw = services.issue_agent_token(agent=agent, actor=admin_actor)
    services.rotate_agent_token(token=old, actor=admin_actor, grace_seconds=services.MAX_GRACE_SECONDS)
    assert authenticate_agent_token(old_raw) == old


def test_it_refuses_to_rotate_a_revoked_token(agent, admin_actor):
    token, _ = services.issue_agent_token(agent=agent, actor=admin_actor)
    services.revoke_agent_token(token=token, actor=admin_actor)
    with pytest.raises(Conflict):
        services.rotate_agent_token(token=token, actor=admin_actor)


def test_an_expired_token_is_rejected(agent, admin_actor):
    token, raw = services.issue_agent_token(
        agent=agent, actor=admin_actor, expires_at=timezone.now() + timedelta(hours=1)
    )
    assert authenticate_agent_token(raw) == token
    AgentToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    assert authenticate_agent_token(raw) is None


def test_it_rejects_an_expiry_in_the_past(agent, admin_actor):
    with pytest.raises(DomainError):
        services.issue_agent_token(agent=agent, actor=admin_actor, expires_at=timezone.now())


def test_suspending_an_agent_blocks_all_its_tokens_and_resuming_restores_them(agent, admin_actor):
    raws = [services.issue_agent_token(agent=agent, actor=admin_actor, name=f"t{i}")[1] for i in range(3)]
    services.suspend_agent(agent=agent, actor=admin_actor)
    assert [authenticate_agent_token(raw) for raw in raws] == [None, None, None]
    services.resume_agent(agent=agent, actor=admin_actor)
    assert all(authenticate_agent_token(raw) is not None for raw in raws)
    verbs = list(ActivityEvent.objects.order_by("id").values_list("verb", flat=True))
    assert "agent.suspended" in verbs and "agent.resumed" in verbs


def test_the_usable_token_cap_holds_at_its_boundary(agent, admin_actor):
    for i in range(services.MAX_TOKENS_PER_AGENT):
        services.issue_agent_token(agent=agent, actor=admin_actor, name=f"t{i}")
    with pytest.raises(Conflict):
        services.issue_agent_token(agent=agent, actor=admin_actor, name="one-too-many")
    services.revoke_agent_token(token=agent.tokens.first(), actor=admin_actor)
    services.issue_agent_token(agent=agent, actor=admin_actor, name="after-revoke")


def test_only_admins_manage_agents_and_outsiders_get_not_found(agent, teammate, outsider):
    with pytest.raises(PermissionDenied):
        services.issue_agent_token(agent=agent, actor=Actor.for_user(teammate))
    with pytest.raises(NotFound):
        services.suspend_agent(agent=agent, actor=Actor.for_user(outsider))
    with pytest.raises(PermissionDenied):
        services.create_agent(organization=agent.organization, actor=Actor.for_user(teammate), name="x")


def test_create_agent_validates_boards_and_records_the_event(organization, board, admin_actor):
    foreign_board = OrganizationFactory().boards.create(name="Other", slug="other")
    with pytest.raises(NotFound):
        services.create_agent(organization=organization, actor=admin_actor, name="a", boards=[foreign_board])
    agent = services.create_agent(
        organization=organization,
        actor=admin_actor,
        name="scout",
        boards=[board],
        capabilities=["python", "python", " sql "],
        callback_url="https://example.com/hook",
    )
    assert list(agent.boards.all()) == [board]
    assert agent.capabilities == ["python", "sql"]
    assert ActivityEvent.objects.get(verb="agent.created").detail["board_ids"] == [board.pk]
    with pytest.raises(Conflict):
        services.create_agent(organization=organization, actor=admin_actor, name="scout")


def test_update_and_delete_agent(agent, admin_actor):
    services.update_agent(agent=agent, actor=admin_actor, description="new", is_board_lead=True, boards=[])
    agent.refresh_from_db()
    assert agent.description == "new" and agent.is_board_lead and not agent.boards.exists()
    assert ActivityEvent.objects.get(verb="agent.updated").detail["changed"] == [
        "description",
        "is_board_lead",
        "boards",
    ]
    services.delete_agent(agent=agent, actor=admin_actor)
    assert not Agent.objects.filter(pk=agent.pk).exists()
    assert ActivityEvent.objects.filter(verb="agent.deleted").exists()


def test_authentication_is_one_query_whatever_the_number_of_agents(organization):
    """1,000 agents with tokens: authenticating still runs exactly one (indexed) token query."""
    _agent, token, raw = agent_with_token(organization=organization, name="needle")
    agents = Agent.objects.bulk_create(
        Agent(organization=organization, name=f"bulk-{i}") for i in range(1000)
    )
    AgentToken.objects.bulk_create(
        AgentToken(agent=a, name="bulk", public_id=f"{i:016x}", digest="0" * 64) for i, a in enumerate(agents)
    )
    assert AgentToken.objects.count() == 1001
    with CaptureQueriesContext(connection) as queries:
        assert authenticate_agent_token(raw) == token
    assert len(queries.captured_queries) == 1
    sql = queries.captured_queries[0]["sql"]
    assert "public_id" in sql and "agents_agenttoken" in sql


def test_capabilities_are_capped_at_their_boundaries(organization, admin_actor):
    at_limit = [f"c{i}" for i in range(services.MAX_CAPABILITIES)]
    agent = services.create_agent(
        organization=organization, actor=admin_actor, name="a", capabilities=at_limit
    )
    assert len(agent.capabilities) == services.MAX_CAPABILITIES
    with pytest.raises(DomainError):
        services.update_agent(agent=agent, actor=admin_actor, capabilities=[*at_limit, "one-more"])
    longest = "x" * services.MAX_CAPABILITY_LENGTH
    assert services.update_agent(agent=agent, actor=admin_actor, capabilities=[longest]).capabilities == [
        longest
    ]
    with pytest.raises(DomainError):
        services.update_agent(agent=agent, actor=admin_actor, capabilities=[longest + "x"])


def test_claiming_on_an_archived_board_is_refused(agent, board):
    from tests.factories import TaskFactory

    task = TaskFactory(board=board)
    board.archived = True
    board.save()
    with pytest.raises(Conflict):
        services.claim_task(task=task, agent=agent)
