"""OrganizationScopedQuerySet: the one scoping of every human read (boards, tasks, agents, …)."""

import pytest
from django.contrib.auth.models import AnonymousUser

from agents.models import Agent
from boards.models import Board, Task
from core.models import Organization
from tests.factories import AgentFactory, BoardFactory, TaskFactory

pytestmark = pytest.mark.django_db


def test_it_shows_members_their_organizations_rows_only(organization, other_organization, user, outsider):
    mine, theirs = BoardFactory(organization=organization), BoardFactory(organization=other_organization)
    TaskFactory(board=mine), TaskFactory(board=theirs)
    AgentFactory(organization=organization), AgentFactory(organization=other_organization)

    assert list(Organization.objects.visible_to(user)) == [organization]
    assert list(Board.objects.visible_to(user)) == [mine]
    assert {task.board_id for task in Task.objects.visible_to(user)} == {mine.pk}  # through the board
    assert {agent.organization_id for agent in Agent.objects.visible_to(outsider)} == {other_organization.pk}


def test_it_shows_anonymous_users_nothing(board):
    TaskFactory(board=board)
    for model in (Organization, Board, Task, Agent):
        assert not model.objects.visible_to(AnonymousUser()).exists()
