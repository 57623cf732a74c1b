"""Fixtures of the automation tests: an admin's actor, an agent on the board, a task."""

from __future__ import annotations

import pytest

from boards import services as board_services
from core.actors import Actor
from tests.factories import AgentFactory


@pytest.fixture
def admin(user) -> Actor:
    return Actor.for_user(user)


@pytest.fixture
def agent(organization, board):
    bot = AgentFactory(organization=organization, name="release-bot")
    bot.boards.add(board)
    return bot


@pytest.fixture
def task(board, admin):
    return board_services.create_task(board=board, actor=admin, title="Ship the release")
