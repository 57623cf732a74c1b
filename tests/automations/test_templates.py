"""Task and pipeline templates: by hand, by a schedule, by an automation; a pipeline's tasks
depend on each other as its steps say, and its progress is its tasks' statuses."""

from __future__ import annotations

import datetime as dt

import pytest

from automations import services
from automations.models import (
    ActionOutcome,
    BoardTemplate,
    Pipeline,
    PipelineTemplate,
    Schedule,
    TaskTemplate,
)
from boards import services as board_services
from boards.models import TaskDependency, TaskStatus
from core.actors import Actor
from infra.exceptions import DomainError, InvalidTransition, PermissionDenied

pytestmark = pytest.mark.backend_independent

STEPS = [
    {"key": "build", "title": "Build", "assignee": "agent:release-bot"},
    {"key": "test", "title": "Test", "depends_on": ["build"]},
    {"key": "docs", "title": "Docs"},
    {"key": "ship", "title": "Ship", "depends_on": ["test", "docs"], "assignee": "user:owner"},
]


@pytest.fixture
def pipeline_template(board, admin, agent):
    return services.create_pipeline_template(board=board, actor=admin, name="Release", steps=STEPS)


def test_a_pipeline_from_a_template_creates_its_tasks_with_their_dependencies(
    pipeline_template, teammate, agent, user
):
    pipeline = services.instantiate_template(template=pipeline_template, actor=Actor.for_user(teammate))
    tasks = {step.key: step.task for step in pipeline.steps.select_related("task")}
    assert [s.key for s in pipeline.steps.all()] == ["build", "test", "docs", "ship"]
    links = set(TaskDependency.objects.values_list("task__title", "depends_on__title"))
    assert links == {("Test", "Build"), ("Ship", "Test"), ("Ship", "Docs")}
    assert tasks["build"].assignee_agent == agent
    assert tasks["ship"].assignee_user == user
    # The board's own rule now holds: Ship cannot start before Test and Docs are done.
    with pytest.raises(InvalidTransition):
        board_services.move_task(
            task=tasks["ship"], actor=Actor.for_user(user), status=TaskStatus.IN_PROGRESS
        )
    assert services.pipeline_progress(pipeline) == {"done": 0, "total": 4, "percent": 0}
    admin = Actor.for_user(user)
    for status in (TaskStatus.IN_PROGRESS, TaskStatus.REVIEW, TaskStatus.DONE):
        board_services.move_task(task=tasks["build"], actor=admin, status=status)
    assert services.pipeline_progress(pipeline) == {"done": 1, "total": 4, "percent": 25}


def test_a_schedule_starts_a_pipeline_on_its_clock(board, admin, pipeline_template):
    schedule = services.create_schedule(
        board=board,
        actor=admin,
        name="Weekly release",
        cron_expression="0 9 * * 1",
        time_zone="UTC",
        actions=[{"action": "create_from_template", "pipeline_template": pipeline_template.pk}],
    )
    slot = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=slot)
    services.fire_schedule(schedule_id=schedule.pk, now=slot)
    pipeline = Pipeline.objects.get()
    assert pipeline.started_by == "schedule “Weekly release”"
    assert pipeline.steps.count() == 4
    assert ActionOutcome.objects.get().detail == {"pipeline_id": pipeline.pk}


def test_a_task_template_carries_its_checklist_into_the_description(board, admin, teammate, viewer):
    template = services.create_task_template(
        board=board,
        actor=admin,
        name="Incident",
        title="Incident review",
        description="What happened?",
        tags=["incident"],
        checklist=["Timeline", "Root cause"],
        priority="high",
    )
    task = services.instantiate_template(template=template, actor=Actor.for_user(teammate))
    assert task.description == "What happened?\n\n- [ ] Timeline\n- [ ] Root cause"
    assert (task.priority, list(task.tags.values_list("name", flat=True))) == ("high", ["incident"])
    with pytest.raises(PermissionDenied):
        services.instantiate_template(template=template, actor=Actor.for_user(viewer))


@pytest.mark.parametrize(
    ("steps", "code"),
    [
        ([], "steps_required"),
        ([{"key": str(n), "title": "t"} for n in range(31)], "too_many_steps"),
        ([{"key": "a", "title": "A", "depends_on": ["b"]}, {"key": "b", "title": "B"}], "invalid_dependency"),
        ([{"key": "a", "title": "A"}, {"key": "a", "title": "again"}], "invalid_step"),
        ([{"key": "a", "title": ""}], "invalid_step"),
        ([{"key": "a", "title": "A", "assignee": "agent:ghost"}], "unknown_assignee"),
    ],
)
def test_bad_pipelines_are_refused(board, admin, steps, code):
    with pytest.raises(DomainError) as error:
        services.create_pipeline_template(board=board, actor=admin, name="P", steps=steps)
    assert error.value.code == code


def test_thirty_steps_and_fifty_checklist_items_are_allowed_one_more_is_not(board, admin):
    services.create_pipeline_template(
        board=board, actor=admin, name="Long", steps=[{"key": str(n), "title": "t"} for n in range(30)]
    )
    services.create_task_template(board=board, actor=admin, name="List", title="t", checklist=["i"] * 50)
    with pytest.raises(DomainError) as error:
        services.create_task_template(
            board=board, actor=admin, name="Longer", title="t", checklist=["i"] * 51
        )
    assert error.value.code == "too_many_items"


@pytest.mark.parametrize(
    ("model", "constraint", "description_limit", "related_name"),
    [
        (TaskTemplate, "tasktemplate_unique_name", 10000, "task_templates"),
        (PipelineTemplate, "pipelinetemplate_unique_name", 2000, "pipeline_templates"),
    ],
)
def test_both_templates_keep_their_own_schema_on_the_shared_base(
    model, constraint, description_limit, related_name
):
    """The abstract base shares name, timestamps, manager and the unique name; the names and
    limits each table had stay (makemigrations --check guards the rest)."""
    assert issubclass(model, BoardTemplate) and not model._meta.abstract
    assert [(c.name, c.fields) for c in model._meta.constraints] == [(constraint, ("board", "name"))]
    assert model._meta.get_field("description").max_length == description_limit
    assert model._meta.get_field("board").remote_field.related_name == related_name
    assert model._meta.ordering == ["name", "id"]
    assert hasattr(model.objects, "visible_to")
