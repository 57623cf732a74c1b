"""Pages of automations, per board: the list (schedules, automations, templates, pipelines,
outcomes), the schedule and automation editors with their previews, and the buttons that act.

Thin: forms read the request, services decide (roles included); a refusal is shown on the form.
Members read and preview, operators run and instantiate, admins configure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from automations import cron, engine, services
from automations.models import (
    ActionOutcome,
    Automation,
    MissedRunPolicy,
    Pipeline,
    PipelineTemplate,
    Schedule,
    TaskTemplate,
    Trigger,
)
from boards.models import Board, TaskStatus
from core.access import membership_for
from core.actors import Actor
from core.models import Role
from infra.exceptions import DomainError

OUTCOMES_SHOWN = 30
COMMON_TIME_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
)


def _board(request: HttpRequest, board_id: int) -> Board:
    return get_object_or_404(Board.objects.visible_to(request.user), pk=board_id)


def _has_role(request: HttpRequest, board: Board, role: str) -> bool:
    membership = membership_for(request.user, board.organization_id)
    return membership is not None and membership.has_role(role)


ACTION_CHOICES = list(engine.Action.LABELS.items())


class ActionFields(forms.Form):
    """One action in plain fields; "More actions (JSON)" replaces them for several."""

    action = forms.ChoiceField(choices=ACTION_CHOICES)
    text = forms.CharField(
        required=False,
        max_length=engine.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Title or message",
        help_text="The task's title, the comment, the chat post or the agent's message. "
        "{task.title}, {task.id}, {date} and {slot} are filled in.",
    )
    assignee = forms.CharField(
        required=False, max_length=200, help_text="agent:<name> or user:<username>; empty: nobody."
    )
    agent = forms.CharField(
        required=False, max_length=200, help_text="The agent to notify or wake (its name)."
    )
    column = forms.ChoiceField(
        choices=[("", "—"), *TaskStatus.choices], required=False, label="Column (move)"
    )
    template = forms.ChoiceField(choices=[("", "—")], required=False, label="Template")
    actions_json = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "mono"}),
        label="More actions (JSON)",
        help_text='Several actions, e.g. [{"action": "post_chat", "body": "…"}, '
        '{"action": "create_task", "title": "…"}].',
    )

    def __init__(self, *args: Any, board: Board, **kwargs: Any) -> None:
        # Prefixed: the trigger's form beside it has a "column" too, and ids must be unique.
        super().__init__(*args, prefix="then", **kwargs)
        choices = [("", "—")]
        choices += [(f"task:{t.pk}", f"Task: {t.name}") for t in TaskTemplate.objects.filter(board=board)]
        choices += [
            (f"pipeline:{t.pk}", f"Pipeline: {t.name}") for t in PipelineTemplate.objects.filter(board=board)
        ]
        self.fields["template"].choices = choices

    def actions(self) -> list[dict[str, Any]]:
        data = self.cleaned_data
        if data.get("actions_json", "").strip():
            try:
                parsed = json.loads(data["actions_json"])
            except ValueError:
                raise DomainError("More actions: that is not JSON.", code="invalid_action") from None
            return parsed if isinstance(parsed, list) else [parsed]
        name = data["action"]
        text = data.get("text", "")
        spec: dict[str, Any] = {"action": name}
        if name in (engine.Action.CREATE_TASK, engine.Action.UPDATE_TASK):
            spec["title"] = text
        elif name in (engine.Action.COMMENT, engine.Action.POST_CHAT):
            spec["body"] = text
        elif name in (engine.Action.NOTIFY_AGENT, engine.Action.WAKE_AGENT):
            spec.update(message=text, agent=data.get("agent", ""))
        if name in (engine.Action.ASSIGN, engine.Action.CREATE_TASK) and data.get("assignee"):
            spec["assignee"] = data["assignee"]
        if name == engine.Action.ASSIGN:
            spec["assignee"] = data.get("assignee", "")
        if name == engine.Action.MOVE:
            spec["status"] = data.get("column", "")
        if name == engine.Action.CREATE_FROM_TEMPLATE:
            kind, _, pk = (data.get("template") or "").partition(":")
            if pk.isdigit():
                spec["pipeline_template" if kind == "pipeline" else "task_template"] = int(pk)
        return [{key: value for key, value in spec.items() if value != "" or key in ("assignee",)}]

    @staticmethod
    def initial_for(actions: list[dict[str, Any]]) -> dict[str, Any]:
        if len(actions) != 1:
            return {
                "action": engine.Action.POST_CHAT,
                "actions_json": json.dumps(actions, ensure_ascii=False),
            }
        spec = actions[0]
        template = ""
        if spec.get("task_template"):
            template = f"task:{spec['task_template']}"
        elif spec.get("pipeline_template"):
            template = f"pipeline:{spec['pipeline_template']}"
        return {
            "action": spec["action"],
            "text": spec.get("title") or spec.get("body") or spec.get("message") or "",
            "assignee": spec.get("assignee", ""),
            "agent": spec.get("agent", ""),
            "column": spec.get("status", ""),
            "template": template,
        }


class ScheduleForm(forms.Form):
    name = forms.CharField(max_length=services.NAME_MAX)
    cron = forms.CharField(
        max_length=cron.MAX_CRON_LENGTH,
        label="When (cron)",
        help_text="minute hour day-of-month month day-of-week, e.g. 0 9 * * 1-5",
        widget=forms.TextInput(attrs={"class": "mono", "autocomplete": "off"}),
    )
    time_zone = forms.CharField(max_length=64, initial="UTC", help_text="e.g. Europe/Paris")
    missed_policy = forms.ChoiceField(
        choices=MissedRunPolicy.choices, label="After downtime", initial=MissedRunPolicy.RUN_ONCE
    )
    enabled = forms.BooleanField(required=False, initial=True)


class AutomationForm(forms.Form):
    name = forms.CharField(max_length=services.NAME_MAX)
    trigger = forms.ChoiceField(choices=Trigger.choices, label="When")
    column = forms.ChoiceField(choices=TaskStatus.choices, required=False, label="Column (enters a column)")
    tag = forms.CharField(required=False, max_length=40, label="Tag (gets a tag)")
    minutes = forms.IntegerField(
        required=False, min_value=1, max_value=43200, label="Minutes (waits for approval)"
    )
    threshold = forms.ChoiceField(
        choices=[("80", "80 %"), ("100", "100 %")], required=False, label="Budget threshold"
    )
    conditions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "mono"}),
        help_text="One per line: task.priority is urgent · task.title contains deploy · "
        "event.threshold at_least 80",
    )
    enabled = forms.BooleanField(required=False, initial=True)

    def trigger_params(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            Trigger.TASK_ENTERS_COLUMN: {"column": data.get("column")},
            Trigger.TASK_LABELLED: {"tag": data.get("tag")},
            Trigger.APPROVAL_WAITING: {"minutes": data.get("minutes")},
            Trigger.BUDGET_CROSSED: {"threshold": int(data.get("threshold") or 80)},
        }.get(data["trigger"], {})

    def condition_list(self) -> list[dict[str, str]]:
        conditions = []
        for line in (self.cleaned_data.get("conditions") or "").splitlines():
            parts = line.strip().split(None, 2)
            if not parts:
                continue
            if len(parts) < 2:
                raise DomainError(
                    f"Condition “{line.strip()[:60]}”: write field, test, value.", code="invalid_condition"
                )
            conditions.append(
                {"field": parts[0], "op": parts[1], "value": parts[2] if len(parts) > 2 else ""}
            )
        return conditions

    @staticmethod
    def initial_for(automation: Automation) -> dict[str, Any]:
        params = automation.trigger_params or {}
        return {
            "name": automation.name,
            "trigger": automation.trigger,
            "column": params.get("column", ""),
            "tag": params.get("tag", ""),
            "minutes": params.get("minutes"),
            "threshold": str(params.get("threshold", 80)),
            "conditions": "\n".join(
                f"{c['field']} {c['op']} {c['value']}" for c in automation.conditions or []
            ),
            "enabled": automation.enabled,
        }


@login_required
def automations_page(request: HttpRequest, board_id: int) -> HttpResponse:
    """Everything that acts on this board on its own: schedules, automations, templates,
    pipelines, and what their actions (and the webhook rules') did."""
    board = _board(request, board_id)
    now = timezone.now()
    schedules = []
    for schedule in Schedule.objects.filter(board=board):
        schedules.append(
            {
                "schedule": schedule,
                "description": cron.describe(schedule.cron),
                "next_run": cron.next_slots(schedule.cron, schedule.time_zone, after=now, count=1)[0]
                if schedule.enabled
                else None,
            }
        )
    pipelines = [
        {"pipeline": pipeline, "progress": services.pipeline_progress(pipeline)}
        for pipeline in Pipeline.objects.filter(board=board).order_by("-id")[:10]
    ]
    return render(
        request,
        "automations/automations.html",
        {
            "board": board,
            "schedules": schedules,
            "automations": Automation.objects.filter(board=board),
            "task_templates": TaskTemplate.objects.filter(board=board),
            "pipeline_templates": PipelineTemplate.objects.filter(board=board),
            "pipelines": pipelines,
            "outcomes": ActionOutcome.objects.filter(board=board)
            .select_related("task")
            .order_by("-id")[:OUTCOMES_SHOWN],
            "can_manage": _has_role(request, board, Role.ADMIN),
            "can_act": _has_role(request, board, Role.OPERATOR),
        },
    )


def _editor(
    request: HttpRequest,
    board: Board,
    *,
    noun: str,
    item: Schedule | Automation | None,
    form_class: type[forms.Form],
    initial: Callable[[Any], dict[str, Any]],
    new_initial: dict[str, Any],
    first_action: str,
    save: Callable[[Any, list[dict[str, Any]]], None],
    runs_order: str,
    template: str,
    context: dict[str, Any],
) -> HttpResponse:
    """The schedule and automation editors' shared shape: the form and its actions (posted, the
    item's, or a new one's defaults), admins-only saving through `save`, errors as a 400 page."""
    if request.method == "POST":
        form = form_class(request.POST)
        action_form = ActionFields(request.POST, board=board)
    elif item is not None:
        form = form_class(initial=initial(item))
        action_form = ActionFields(initial=ActionFields.initial_for(item.actions), board=board)
    else:
        form = form_class(initial=new_initial)
        action_form = ActionFields(initial={"action": first_action}, board=board)
    can_manage = _has_role(request, board, Role.ADMIN)
    error = ""
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("Only organization admins change automations.")
        if form.is_valid() and action_form.is_valid():
            try:
                save(form, action_form.actions())
            except DomainError as exc:
                error = exc.message
            else:
                messages.success(request, "Saved.")
                return redirect("automations:automations", board.pk)
        else:
            error = "Check the fields below."
    return render(
        request,
        template,
        {
            "board": board,
            "form": form,
            "action_form": action_form,
            "error": error,
            "can_manage": can_manage,
            "time_zones": COMMON_TIME_ZONES,
            "item": item,
            "noun": noun,
            "runs": item.runs.order_by(runs_order)[:10] if item else [],
            **context,
        },
        status=400 if error else 200,
    )


@login_required
def schedule_edit(request: HttpRequest, board_id: int, schedule_id: int | None = None) -> HttpResponse:
    board = _board(request, board_id)
    schedule = get_object_or_404(Schedule, pk=schedule_id, board=board) if schedule_id else None
    actor = Actor.for_user(request.user)

    def save(form: ScheduleForm, actions: list[dict[str, Any]]) -> None:
        data = form.cleaned_data
        if schedule is None:
            services.create_schedule(
                board=board,
                actor=actor,
                name=data["name"],
                cron_expression=data["cron"],
                time_zone=data["time_zone"],
                missed_policy=data["missed_policy"],
                enabled=data["enabled"],
                actions=actions,
            )
        else:
            services.update_schedule(schedule=schedule, actor=actor, **data, actions=actions)

    return _editor(
        request,
        board,
        noun="schedule",
        item=schedule,
        form_class=ScheduleForm,
        initial=lambda schedule: {
            "name": schedule.name,
            "cron": schedule.cron,
            "time_zone": schedule.time_zone,
            "missed_policy": schedule.missed_policy,
            "enabled": schedule.enabled,
        },
        # A new schedule starts in the organization's time zone.
        new_initial={"time_zone": board.organization.time_zone},
        first_action=engine.Action.CREATE_TASK,
        save=save,
        runs_order="-slot",
        template="automations/schedule_form.html",
        context={"schedule": schedule},
    )


@login_required
def schedule_preview(request: HttpRequest, board_id: int) -> HttpResponse:
    """The editor's live preview (htmx): the words, the next five runs, last week's count."""
    board = _board(request, board_id)
    try:
        preview = services.schedule_preview(
            board=board,
            cron_expression=request.GET.get("cron", ""),
            time_zone=request.GET.get("time_zone", "UTC"),
        )
    except DomainError as exc:
        return render(request, "automations/partials/schedule_preview.html", {"error": exc.message})
    preview["next_runs"] = [timezone.datetime.fromisoformat(run) for run in preview["next_runs"]]
    return render(request, "automations/partials/schedule_preview.html", {"preview": preview})


@login_required
def automation_edit(request: HttpRequest, board_id: int, automation_id: int | None = None) -> HttpResponse:
    board = _board(request, board_id)
    automation = get_object_or_404(Automation, pk=automation_id, board=board) if automation_id else None
    actor = Actor.for_user(request.user)

    def save(form: AutomationForm, actions: list[dict[str, Any]]) -> None:
        fields = {
            "name": form.cleaned_data["name"],
            "trigger": form.cleaned_data["trigger"],
            "trigger_params": form.trigger_params(),
            "conditions": form.condition_list(),
            "enabled": form.cleaned_data["enabled"],
            "actions": actions,
        }
        if automation is None:
            services.create_automation(board=board, actor=actor, **fields)
        else:
            services.update_automation(automation=automation, actor=actor, **fields)

    return _editor(
        request,
        board,
        noun="automation",
        item=automation,
        form_class=AutomationForm,
        initial=AutomationForm.initial_for,
        new_initial={"trigger": Trigger.TASK_DONE, "enabled": True},
        first_action=engine.Action.POST_CHAT,
        save=save,
        runs_order="-id",
        template="automations/automation_form.html",
        context={"automation": automation},
    )


@login_required
def automation_preview(request: HttpRequest, board_id: int) -> HttpResponse:
    """The dry run (htmx): "would have fired N times last week"; writes nothing."""
    board = _board(request, board_id)
    form = AutomationForm(request.GET)
    form.fields["name"].required = False  # a dry run needs no name
    try:
        if not form.is_valid():
            problems = "; ".join(
                f"{form.fields[name].label or name}: {' '.join(errors)}"
                for name, errors in form.errors.items()
            )
            raise DomainError(f"Check the trigger's fields ({problems}).", code="invalid_trigger")
        preview = services.preview_automation(
            board=board,
            actor=Actor.for_user(request.user),
            trigger=form.cleaned_data["trigger"],
            trigger_params=form.trigger_params(),
            conditions=form.condition_list(),
        )
    except DomainError as exc:
        return render(request, "automations/partials/automation_preview.html", {"error": exc.message})
    return render(request, "automations/partials/automation_preview.html", {"preview": preview})


@login_required
@require_POST
def schedule_run(request: HttpRequest, board_id: int, schedule_id: int) -> HttpResponse:
    board = _board(request, board_id)
    schedule = get_object_or_404(Schedule, pk=schedule_id, board=board)
    if not _has_role(request, board, Role.OPERATOR):
        raise PermissionDenied("Only operators and admins run schedules.")
    try:
        outcomes = services.run_schedule_now(schedule=schedule, actor=Actor.for_user(request.user))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, " ".join(o.message for o in outcomes) or "Nothing to do.")
    return redirect("automations:automations", board.pk)


@login_required
@require_POST
def item_delete(request: HttpRequest, board_id: int, kind: str, **ids: int) -> HttpResponse:
    """Delete a schedule, an automation or a template (the URL names which, by its id's name)."""
    [item_id] = ids.values()
    board = _board(request, board_id)
    if not _has_role(request, board, Role.ADMIN):
        raise PermissionDenied("Only organization admins delete automations.")
    actor = Actor.for_user(request.user)
    model = {
        "schedule": Schedule,
        "automation": Automation,
        "task-template": TaskTemplate,
        "pipeline-template": PipelineTemplate,
    }[kind]
    item = get_object_or_404(model, pk=item_id, board=board)
    if kind == "schedule":
        services.delete_schedule(schedule=item, actor=actor)
    elif kind == "automation":
        services.delete_automation(automation=item, actor=actor)
    else:
        services.delete_template(template=item, actor=actor)
    messages.success(request, f"Deleted “{item.name}”.")
    return redirect("automations:automations", board.pk)


@login_required
@require_POST
def template_use(request: HttpRequest, board_id: int, kind: str, **ids: int) -> HttpResponse:
    [template_id] = ids.values()
    board = _board(request, board_id)
    if not _has_role(request, board, Role.OPERATOR):
        raise PermissionDenied("Only operators and admins create work from templates.")
    model = TaskTemplate if kind == "task" else PipelineTemplate
    template = get_object_or_404(model, pk=template_id, board=board)
    try:
        created = services.instantiate_template(template=template, actor=Actor.for_user(request.user))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        what = f"pipeline “{created.name}”" if isinstance(created, Pipeline) else f"task #{created.pk}"
        messages.success(request, f"Created {what}.")
    return redirect("automations:automations", board.pk)


class TaskTemplateForm(forms.Form):
    name = forms.CharField(max_length=services.NAME_MAX)
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 3}))
    tags = forms.CharField(required=False, max_length=900, help_text="Comma-separated.")
    checklist = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="One item per line."
    )


class PipelineTemplateForm(forms.Form):
    name = forms.CharField(max_length=services.NAME_MAX)
    steps = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "class": "mono"}),
        help_text="One step per line: key | title | depends on (keys, comma-separated) | assignee "
        "(agent:<name> or user:<username>). Steps may depend only on earlier steps.",
    )

    def step_list(self) -> list[dict[str, Any]]:
        steps = []
        for line in self.cleaned_data["steps"].splitlines():
            parts = [part.strip() for part in line.split("|")]
            if not parts[0]:
                continue
            parts += [""] * (4 - len(parts))
            steps.append(
                {
                    "key": parts[0],
                    "title": parts[1],
                    "depends_on": [d.strip() for d in parts[2].split(",") if d.strip()],
                    "assignee": parts[3],
                }
            )
        return steps


@login_required
def template_new(request: HttpRequest, board_id: int, kind: str) -> HttpResponse:
    """A new task or pipeline template (admins)."""
    board = _board(request, board_id)
    can_manage = _has_role(request, board, Role.ADMIN)
    form_class = TaskTemplateForm if kind == "task" else PipelineTemplateForm
    form = form_class(request.POST or None)
    error = ""
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("Only organization admins add templates.")
        if form.is_valid():
            actor = Actor.for_user(request.user)
            data = form.cleaned_data
            try:
                if kind == "task":
                    services.create_task_template(
                        board=board,
                        actor=actor,
                        name=data["name"],
                        title=data["title"],
                        description=data["description"],
                        tags=data["tags"],
                        checklist=data["checklist"],
                    )
                else:
                    services.create_pipeline_template(
                        board=board, actor=actor, name=data["name"], steps=form.step_list()
                    )
            except DomainError as exc:
                error = exc.message
            else:
                messages.success(request, "Template saved.")
                return redirect("automations:automations", board.pk)
        else:
            error = "Check the fields below."
    return render(
        request,
        "automations/template_form.html",
        {"board": board, "form": form, "kind": kind, "error": error, "can_manage": can_manage},
        status=400 if error else 200,
    )
