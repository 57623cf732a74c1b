"""An agent of the `board` with an API client carrying its token (client.agent is the agent)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from tests.agents.factories import agent_with_token, bearer


@pytest.fixture(autouse=True)
def default_price_catalogue(request):
    """The catalogue rows usage/0002 inserts. A transactional test that ran earlier on the same
    worker flushed every table, data-migration rows included; these tests price reports from
    them, so they are put back when missing."""
    if request.node.get_closest_marker("django_db") is None and "db" not in request.fixturenames:
        return
    ModelPrice = apps.get_model("usage", "ModelPrice")
    if not ModelPrice.objects.filter(organization__isnull=True).exists():
        seed = importlib.import_module("usage.migrations.0002_default_prices")
        seed.add_default_prices(apps, None)


@pytest.fixture
def agent_client(organization, board):
    agent, _token, raw = agent_with_token(organization=organization, name="spender", boards=[board])
    client = APIClient()
    client.credentials(**bearer(raw))
    client.agent = agent
    return client
