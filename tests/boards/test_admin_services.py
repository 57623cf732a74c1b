"""Django admin writes tasks, boards, tags, groups and memberships only through the services.

Every ModelAdmin registered for those models that can add or change is walked: an add and a
change through the admin form must record the service's event, and a change the service refuses
(a bad transition, a duplicate name, the last admin) must leave the row as it was.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
from django.contrib import admin

from activity.models import ActivityEvent
from boards.models import Approval, Board, BoardGroup, Comment, Tag, Task, TaskDependency, TaskStatus
from core.models import Membership, Role
from tests.factories import TagFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


def form_data(client, url: str, **overrides) -> dict:
    """The admin form's current values as a browser would post them, with some changed."""
    response = client.get(url)
    assert response.status_code == 200, url
    form = response.context["adminform"].form
    data: dict = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [str(v) for v in value]
        elif isinstance(value, datetime.date):
            data[name] = value.isoformat()
        elif value is not None:
            data[name] = str(value)
    for name, value in overrides.items():
        if value is False:
            data.pop(name, None)
        elif value is True:
            data[name] = "on"
        else:
            data[name] = value
    return data


def post_form(client, url: str, **overrides):
    return client.post(url, form_data(client, url, **overrides), follow=True)


def events(verb: str) -> int:
    return ActivityEvent.objects.filter(verb=verb).count()


def error_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"] if m.level_tag == "error"]


# --- one scenario per model: add, change, a refusal --------------------------------------------


def walk_task(client, board, organization) -> None:
    tag = TagFactory(organization=organization, name="infra")
    response = post_form(
        client, "/admin/boards/task/add/", board=str(board.pk), title="Made in admin", tags=[str(tag.pk)]
    )
    task = Task.objects.get(title="Made in admin")
    assert events("task.created") == 1, response.content[:500]
    assert list(task.tags.all()) == [tag]

    url = f"/admin/boards/task/{task.pk}/change/"
    post_form(client, url, title="Renamed in admin", priority="high")
    task.refresh_from_db()
    assert (task.title, task.priority) == ("Renamed in admin", "high")
    assert ActivityEvent.objects.get(verb="task.updated").detail["fields"] == ["title", "priority"]

    post_form(client, url, status=TaskStatus.IN_PROGRESS)
    assert Task.objects.get(pk=task.pk).status == TaskStatus.IN_PROGRESS
    assert events("task.status_changed") == 1

    # In progress straight to done skips review: the service refuses and nothing is saved.
    response = post_form(client, url, status=TaskStatus.DONE, title="Not saved")
    task.refresh_from_db()
    assert (task.status, task.title) == (TaskStatus.IN_PROGRESS, "Renamed in admin")
    assert any("cannot move from in progress to done" in m for m in error_messages(response))
    assert events("task.status_changed") == 1

    # A new task cannot start in done either.
    response = post_form(
        client, "/admin/boards/task/add/", board=str(board.pk), title="Done at birth", status="done"
    )
    assert not Task.objects.filter(title="Done at birth").exists()
    assert error_messages(response)

    client.post(f"/admin/boards/task/{task.pk}/delete/", {"post": "yes"})
    assert not Task.objects.filter(pk=task.pk).exists()
    assert events("task.deleted") == 1


def walk_board(client, board, organization) -> None:
    post_form(
        client, "/admin/boards/board/add/", organization=str(organization.pk), name="Admin board", slug=""
    )
    made = Board.objects.get(name="Admin board")
    assert ActivityEvent.objects.filter(verb="board.created", target_id=str(made.pk)).exists()

    url = f"/admin/boards/board/{board.pk}/change/"
    post_form(client, url, name="Relaunch", require_approval_for_done=True)
    board.refresh_from_db()
    assert (board.name, board.require_approval_for_done) == ("Relaunch", True)
    assert sorted(ActivityEvent.objects.get(verb="board.updated").detail["fields"]) == [
        "name",
        "require_approval_for_done",
    ]

    response = post_form(client, url, name="   ")
    board.refresh_from_db()
    assert board.name == "Relaunch"
    assert response.status_code == 200


def walk_tag(client, board, organization) -> None:
    post_form(
        client, "/admin/boards/tag/add/", organization=str(organization.pk), name="ops", color="#112233"
    )
    tag = Tag.objects.get(name="ops")
    assert events("tag.created") == 1
    TagFactory(organization=organization, name="taken")

    url = f"/admin/boards/tag/{tag.pk}/change/"
    post_form(client, url, color="#445566")
    assert events("tag.updated") == 1
    response = post_form(client, url, name="taken")
    tag.refresh_from_db()
    assert tag.name == "ops"
    assert any("already exists" in m for m in error_messages(response))

    client.post(f"/admin/boards/tag/{tag.pk}/delete/", {"post": "yes"})
    assert events("tag.deleted") == 1


def walk_boardgroup(client, board, organization) -> None:
    post_form(client, "/admin/boards/boardgroup/add/", organization=str(organization.pk), name="Platform")
    group = BoardGroup.objects.get(name="Platform")
    assert events("board_group.created") == 1
    BoardGroup.objects.create(organization=organization, name="Taken", position=9)

    url = f"/admin/boards/boardgroup/{group.pk}/change/"
    post_form(client, url, name="Platform team")
    assert events("board_group.renamed") == 1
    response = post_form(client, url, name="taken")
    group.refresh_from_db()
    assert group.name == "Platform team"
    assert any("already a group" in m for m in error_messages(response))

    client.post(f"/admin/boards/boardgroup/{group.pk}/delete/", {"post": "yes"})
    assert events("board_group.deleted") == 1


def walk_membership(client, board, organization) -> None:
    newcomer = UserFactory(username="newcomer")
    post_form(
        client,
        "/admin/core/membership/add/",
        organization=str(organization.pk),
        user=str(newcomer.pk),
        role="viewer",
    )
    membership = Membership.objects.get(user=newcomer)
    assert events("member.added") == 1

    post_form(client, f"/admin/core/membership/{membership.pk}/change/", role=Role.OPERATOR)
    assert Membership.objects.get(pk=membership.pk).role == Role.OPERATOR
    assert events("member.role_changed") == 1

    # The organization's only admin cannot be demoted.
    only_admin = Membership.objects.get(organization=organization, role=Role.ADMIN)
    response = post_form(client, f"/admin/core/membership/{only_admin.pk}/change/", role=Role.VIEWER)
    assert Membership.objects.get(pk=only_admin.pk).role == Role.ADMIN
    assert any("last admin" in m for m in error_messages(response))


WALKS: dict[type, Callable] = {
    Task: walk_task,
    Board: walk_board,
    Tag: walk_tag,
    BoardGroup: walk_boardgroup,
    Membership: walk_membership,
}
# Read-only in admin: each has its own workflow (comments, approvals, dependencies on the board).
READ_ONLY = {Comment, Approval, TaskDependency}


def writable_admins(request) -> list[tuple[type, admin.ModelAdmin]]:
    return [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label == "boards" or model is Membership
        if model_admin.has_add_permission(request) or model_admin.has_change_permission(request)
    ]


def test_every_writable_admin_for_these_models_is_walked(rf, admin_user):
    request = rf.get("/admin/")
    request.user = admin_user
    writable = {model for model, _ in writable_admins(request)}
    assert writable == set(WALKS), "a new writable admin needs a walk through its service"
    for model in READ_ONLY:
        model_admin = admin.site._registry[model]
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)


@pytest.mark.parametrize("model", list(WALKS), ids=lambda model: model.__name__)
def test_admin_saves_go_through_the_services(admin_client, board, organization, user, model):
    WALKS[model](admin_client, board, organization)


def test_an_admin_move_to_done_on_an_approval_gated_board_requests_approval(admin_client, board):
    board.require_approval_for_done = True
    board.save(update_fields=["require_approval_for_done"])
    task = TaskFactory(board=board, status=TaskStatus.REVIEW)
    response = post_form(admin_client, f"/admin/boards/task/{task.pk}/change/", status=TaskStatus.DONE)
    assert Task.objects.get(pk=task.pk).status == TaskStatus.REVIEW
    assert Approval.objects.filter(task=task).count() == 1
    assert any("approval" in str(m) for m in response.context["messages"])


def test_an_inline_membership_change_that_the_service_refuses_saves_nothing(admin_client, organization, user):
    membership = Membership.objects.get(user=user)
    url = f"/admin/core/organization/{organization.pk}/change/"
    response = admin_client.get(url)
    formset = response.context["inline_admin_formsets"][0].formset
    data = form_data(admin_client, url, name="Renamed org")
    data.update({key: str(value) for key, value in formset.management_form.initial.items()})
    prefix = formset.prefix
    data.update({f"{prefix}-{key}": value for key, value in formset.management_form.initial.items()})
    for index, form in enumerate(formset.forms):
        for name in form.fields:
            value = form[name].value()
            if value is not None and value is not False:
                data[f"{prefix}-{index}-{name}"] = str(value)
        if form.instance.pk == membership.pk:
            data[f"{prefix}-{index}-role"] = Role.VIEWER
    response = admin_client.post(url, data, follow=True)
    organization.refresh_from_db()
    assert organization.name == "Acme"  # the whole form rolled back with the refused demotion
    assert Membership.objects.get(pk=membership.pk).role == Role.ADMIN
    assert any("last admin" in m for m in error_messages(response))
