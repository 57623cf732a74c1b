"""Alert test helpers: rules made through the service, events recorded at chosen moments."""

from __future__ import annotations

from datetime import datetime
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from activity.models import ActivityEvent
from activity.services import record_activity
from alerts import services
from core.actors import Actor
from tests.deliveries.conftest import fast_delivery_settings, receiver  # noqa: F401  (fixtures used here)


@pytest.fixture
def make_rule(user, organization):
    def make(condition: str, params: dict | None = None, **kwargs):
        kwargs.setdefault("name", f"{condition} rule")
        return services.create_rule(
            actor=Actor.for_user(user),
            organization=organization,
            condition=condition,
            params=params or {},
            **kwargs,
        )

    return make


def event_at(
    moment: datetime,
    *,
    organization,
    verb: str,
    board=None,
    detail=None,
    target_type="",
    target_id="",
    actor=None,
) -> ActivityEvent:
    """An activity event as a service records it, dated `moment` (created_at is auto_now_add)."""
    with mock.patch("django.utils.timezone.now", return_value=moment), transaction.atomic():
        return record_activity(
            organization=organization,
            board=board,
            actor=actor or Actor.system(),
            verb=verb,
            target_type=target_type,
            target_id=target_id,
            detail=detail or {},
        )


def evaluate(rule, now: datetime | None = None):
    with transaction.atomic():
        return services.evaluate_rule(rule_id=rule.pk, now=now or timezone.now())
