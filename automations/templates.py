"""Instantiating templates: a task template into one task, a pipeline template into its tasks
with their dependencies. Called by the engine (schedules, automations) and by
services.instantiate_template (by hand); authorisation is the caller's and boards.services'."""

from __future__ import annotations

from django.db import transaction

from activity.services import record_activity
from automations.engine import create_task, resolve_assignee
from automations.models import Pipeline, PipelineTask, PipelineTemplate, TaskTemplate
from boards.models import Board, Task
from core.actors import Actor
from infra.exceptions import DomainError


def checklist_markdown(items: list[str]) -> str:
    """Tasks have no checklist of their own: the template's becomes a Markdown task list."""
    return "\n".join(f"- [ ] {item}" for item in items)


def task_description(template: TaskTemplate) -> str:
    parts = [template.description.strip(), checklist_markdown(template.checklist)]
    return "\n\n".join(part for part in parts if part)


@transaction.atomic
def instantiate_task_template_as(*, template_id: int, board: Board, actor: Actor) -> Task:
    template = TaskTemplate.objects.filter(pk=template_id, board=board).first()
    if template is None:
        raise DomainError("The task template no longer exists.", code="invalid_template")
    return create_task(
        board=board,
        actor=actor,
        title=template.title,
        description=task_description(template),
        priority=template.priority,
        tag_names=template.tags,
    )


@transaction.atomic
def instantiate_pipeline_template_as(*, template_id: int, board: Board, actor: Actor) -> Pipeline:
    """One task per step, in order; a step's dependencies are the tasks of the steps it names
    (boards' TaskDependency, so a step cannot start before those are done)."""
    template = PipelineTemplate.objects.filter(pk=template_id, board=board).first()
    if template is None:
        raise DomainError("The pipeline template no longer exists.", code="invalid_template")
    pipeline = Pipeline.objects.create(
        board=board, template=template, name=template.name, started_by=actor.label
    )
    tasks: dict[str, Task] = {}
    for position, step in enumerate(template.steps):
        assignee = resolve_assignee(board.organization_id, step.get("assignee") or "")
        if assignee is None:
            raise DomainError(
                f"Step “{step['key']}”: “{step.get('assignee')}” is no longer an agent or member here.",
                code="unknown_assignee",
            )
        task = create_task(
            board=board,
            actor=actor,
            title=step["title"],
            description=step.get("description") or "",
            assignee=assignee,
            depends_on=[tasks[key] for key in step.get("depends_on") or []],
        )
        tasks[step["key"]] = task
        PipelineTask.objects.create(pipeline=pipeline, task=task, key=step["key"], position=position)
    record_activity(
        organization=board.organization_id,
        board=board,
        actor=actor,
        verb="pipeline.started",
        target=pipeline,
        detail={"name": pipeline.name, "steps": len(tasks), "task_ids": [t.pk for t in tasks.values()]},
    )
    return pipeline
