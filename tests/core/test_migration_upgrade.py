"""Upgrading from the schema before the core/activity/deliveries/ops split keeps every row.

The moved models kept their tables (state-only migrations), so the test writes rows through the
old models, migrates forward, and reads the same rows through the new ones; content types are
relabelled so admin history and permissions follow the models.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.runs_long]

BEFORE_SPLIT = [
    ("boards", "0002_personal_token"),
    ("agents", "0002_initial"),
    ("webhooks", "0001_initial"),
    ("missioncontrol", "0001_initial"),
    ("core", None),
    ("activity", None),
    ("deliveries", None),
    ("ops", None),
]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    nodes = [node for node in targets if node[1] is not None]
    # The framework apps as they are now (they are not rolled back).
    nodes += [node for node in executor.loader.graph.leaf_nodes() if node[0] in ("auth", "contenttypes")]
    return executor.loader.project_state(nodes).apps


def leaf_nodes():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def test_an_upgrade_keeps_every_moved_row_and_relabels_content_types():
    latest = leaf_nodes()
    old = migrate(BEFORE_SPLIT)
    user = old.get_model("auth", "User").objects.create(username="ann")
    organization = old.get_model("boards", "Organization").objects.create(name="Acme", slug="acme")
    old.get_model("boards", "Membership").objects.create(organization=organization, user=user, role="admin")
    board = old.get_model("boards", "Board").objects.create(organization=organization, name="Ops", slug="ops")
    old.get_model("boards", "ActivityEvent").objects.create(
        organization=organization, board=board, actor_kind="user", actor_label="ann", verb="board.created"
    )
    old.get_model("boards", "PersonalToken").objects.create(
        user=user, name="ci", public_id="a" * 16, digest="d" * 64
    )
    subscription = old.get_model("webhooks", "Subscription").objects.create(
        organization=organization, target_url="https://example.com/hook"
    )
    delivery = old.get_model("webhooks", "Delivery").objects.create(
        organization=organization,
        subscription=subscription,
        target_url="https://example.com/hook",
        event_type="task.created",
        payload={"a": 1},
    )
    old.get_model("webhooks", "DeliveryAttempt").objects.create(delivery=delivery, number=1)
    old.get_model("missioncontrol", "Backup").objects.create(started_at=timezone.now(), engine="sqlite")
    content_type = old.get_model("contenttypes", "ContentType")
    for app_label, model in [
        ("boards", "organization"),
        ("boards", "activityevent"),
        ("webhooks", "delivery"),
        ("missioncontrol", "backup"),
    ]:
        content_type.objects.get_or_create(app_label=app_label, model=model)

    new = migrate(latest)

    assert new.get_model("core", "Organization").objects.get().slug == "acme"
    assert new.get_model("core", "Membership").objects.get().role == "admin"
    assert new.get_model("core", "PersonalToken").objects.get().name == "ci"
    assert new.get_model("activity", "ActivityEvent").objects.get().verb == "board.created"
    assert new.get_model("deliveries", "Subscription").objects.get().target_url == "https://example.com/hook"
    assert new.get_model("deliveries", "Delivery").objects.get().payload == {"a": 1}
    assert new.get_model("deliveries", "DeliveryAttempt").objects.count() == 1
    assert new.get_model("ops", "Backup").objects.get().engine == "sqlite"
    assert new.get_model("boards", "Board").objects.get().organization.slug == "acme"
    labels = set(new.get_model("contenttypes", "ContentType").objects.values_list("app_label", "model"))
    assert {
        ("core", "organization"),
        ("activity", "activityevent"),
        ("deliveries", "delivery"),
        ("ops", "backup"),
    } <= labels
    assert not labels & {("boards", "organization"), ("webhooks", "delivery"), ("missioncontrol", "backup")}
    if connection.vendor == "postgresql":  # the logs were rebuilt as monthly partitions, rows kept
        from infra.partitions import is_partitioned

        with connection.cursor() as cursor:
            assert is_partitioned(cursor, "boards_activityevent")
            assert is_partitioned(cursor, "webhooks_deliveryattempt")
            cursor.execute("SELECT count(*) FROM boards_activityevent_default")
            assert cursor.fetchone()[0] == 0  # this month's partition holds the row
