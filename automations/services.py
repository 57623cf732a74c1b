"""Writes of automations: schedules, event automations, templates; firing them; previews.

Permissions (core/access.py): viewers read, operators act (instantiate a template, run a
schedule now), admins configure (create, change, delete). Agents do none of it: automations act
with the board's authority, like webhook rules, so people set them.

Firing a schedule slot: beat's tick (tasks.fire_due_schedules) takes the due schedules; each
slot fires in one transaction that locks the schedule row, inserts the slot's ScheduleRun (unique
per schedule and slot), runs the actions and moves next_run_at on. A second beat, a restarted
worker or a duplicated message waits on the lock, then finds the slot done.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from activity.causation import caused_by, depth_of
from activity.models import ActivityEvent
from activity.services import record_activity
from automations import cron, engine
from automations.models import (
    ActionOutcome,
    Automation,
    AutomationRun,
    MissedRunPolicy,
    OutcomeStatus,
    Pipeline,
    PipelineTemplate,
    RunStatus,
    Schedule,
    ScheduleRun,
    SourceKind,
    TaskTemplate,
    Trigger,
)
from automations.templates import instantiate_pipeline_template_as, instantiate_task_template_as
from boards.models import Approval, ApprovalStatus, Board, Task, TaskPriority, TaskStatus
from core.access import authorize
from core.actors import Actor
from core.models import Role
from infra.exceptions import DomainError

logger = logging.getLogger(__name__)

MAX_SCHEDULES_PER_BOARD = 50
MAX_AUTOMATIONS_PER_BOARD = 50
MAX_TEMPLATES_PER_BOARD = 100
MAX_CONDITIONS = 10
MAX_PIPELINE_STEPS = 30
MAX_CHECKLIST_ITEMS = 50
NAME_MAX = 100
CONDITION_VALUE_MAX = 200
STEP_KEY_MAX = 40
# Held tasks an "agent went offline" firing acts on, at most (the rest are named in the message).
MAX_HELD_TASKS = 20
# The log consumer's map of which boards have which triggers, per organization (a cache entry
# dropped when an automation changes; the expiry is only a safety net).
TRIGGER_CACHE_SECONDS = 300
PREVIEW_DAYS = 7
PREVIEW_MAX_EVENTS = 5000
CONDITION_OPS = ("is", "is_not", "contains", "at_least")


# --- permissions and common checks --------------------------------------------------------------


def require_admin(actor: Actor, board: Board) -> None:
    authorize(actor, organization=board, role=Role.ADMIN, board=board, allow_agent=False)


def require_operator(actor: Actor, board: Board) -> None:
    authorize(actor, organization=board, role=Role.OPERATOR, board=board, allow_agent=False)


def require_viewer(actor: Actor, board: Board) -> None:
    authorize(actor, organization=board, role=Role.VIEWER, board=board, allow_agent=False)


def _clean_name(name: Any) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise DomainError("Give it a name.", code="name_required")
    if len(name) > NAME_MAX:
        raise DomainError(f"A name is at most {NAME_MAX} characters.", code="too_long")
    return name


def _unique_name(model, board: Board, name: str, exclude_pk: int | None) -> None:
    if model.objects.filter(board=board, name__iexact=name).exclude(pk=exclude_pk).exists():
        raise DomainError(f"This board already has one named “{name}”.", code="duplicate_name")


def _count_limit(model, board: Board, limit: int, what: str) -> None:
    if model.objects.filter(board=board).count() >= limit:
        raise DomainError(f"A board has at most {limit} {what}.", code="too_many")


def _record(
    actor: Actor, board: Board, verb: str, target, detail: dict[str, Any], *, target_type: str = ""
) -> None:
    record_activity(
        organization=board.organization_id,
        board=board,
        actor=actor,
        verb=verb,
        target=target,
        target_type=target_type,
        detail=detail,
    )


# --- schedules ------------------------------------------------------------------------------------


def _next_run(cron_expression: str, time_zone: str, now: dt.datetime) -> dt.datetime:
    return cron.next_slots(cron_expression, time_zone, after=now, count=1)[0].astimezone(dt.UTC)


def _clean_schedule(board: Board, fields: dict[str, Any], exclude_pk: int | None) -> dict[str, Any]:
    unknown = set(fields) - {"name", "cron", "time_zone", "enabled", "missed_policy", "actions"}
    if unknown:
        raise DomainError(f"Unknown schedule fields: {', '.join(sorted(unknown))}.")
    cleaned = dict(fields)
    if "name" in fields:
        cleaned["name"] = _clean_name(fields["name"])
        _unique_name(Schedule, board, cleaned["name"], exclude_pk)
    if "cron" in fields:
        cleaned["cron"] = cron.clean_cron(fields["cron"])
    if "time_zone" in fields:
        cleaned["time_zone"] = cron.clean_time_zone(fields["time_zone"])
    if "missed_policy" in fields and fields["missed_policy"] not in MissedRunPolicy.values:
        raise DomainError("The missed-run policy is run_once or skip.", code="invalid_policy")
    if "enabled" in fields:
        cleaned["enabled"] = bool(fields["enabled"])
    if "actions" in fields:
        cleaned["actions"] = engine.validate_actions(board, fields["actions"], for_schedule=True)
    return cleaned


@transaction.atomic
def create_schedule(
    *,
    board: Board,
    actor: Actor,
    name: str,
    cron_expression: str,
    actions: list[dict[str, Any]],
    time_zone: str | None = None,
    missed_policy: str = MissedRunPolicy.RUN_ONCE,
    enabled: bool = True,
) -> Schedule:
    """A board's schedule; without a time zone, in its organization's (Organization.time_zone)."""
    require_admin(actor, board)
    if time_zone is None:
        time_zone = board.organization.time_zone
    # Locked so two concurrent creates cannot both pass the count.
    Board.objects.select_for_update().filter(pk=board.pk).first()
    _count_limit(Schedule, board, MAX_SCHEDULES_PER_BOARD, "schedules")
    fields = _clean_schedule(
        board,
        {
            "name": name,
            "cron": cron_expression,
            "time_zone": time_zone,
            "missed_policy": missed_policy,
            "enabled": enabled,
            "actions": actions,
        },
        None,
    )
    schedule = Schedule.objects.create(
        board=board,
        created_by=actor.user,
        next_run_at=_next_run(fields["cron"], fields["time_zone"], timezone.now()),
        **fields,
    )
    _record(actor, board, "schedule.created", schedule, {"name": schedule.name, "cron": schedule.cron})
    return schedule


@transaction.atomic
def update_schedule(*, schedule: Schedule, actor: Actor, **changes: Any) -> Schedule:
    schedule = Schedule.objects.select_for_update().select_related("board").get(pk=schedule.pk)
    require_admin(actor, schedule.board)
    if "cron_expression" in changes:
        changes["cron"] = changes.pop("cron_expression")
    fields = _clean_schedule(schedule.board, changes, schedule.pk)
    changed = sorted(name for name, value in fields.items() if getattr(schedule, name) != value)
    for name in changed:
        setattr(schedule, name, fields[name])
    if changed:
        if {"cron", "time_zone", "enabled"} & set(changed):
            # A new clock starts from now: slots of the old expression are not "missed".
            schedule.next_run_at = _next_run(schedule.cron, schedule.time_zone, timezone.now())
            changed_fields = [*changed, "next_run_at"]
        else:
            changed_fields = changed
        schedule.save(update_fields=[*changed_fields, "updated_at"])
        _record(
            actor, schedule.board, "schedule.updated", schedule, {"name": schedule.name, "fields": changed}
        )
    return schedule


@transaction.atomic
def delete_schedule(*, schedule: Schedule, actor: Actor) -> None:
    require_admin(actor, schedule.board)
    _record(
        actor,
        schedule.board,
        "schedule.deleted",
        None,
        {"name": schedule.name, "schedule_id": schedule.pk},
        target_type="schedule",
    )
    schedule.delete()


def schedule_preview(
    *, board: Board, cron_expression: str, time_zone: str, now: dt.datetime | None = None
) -> dict:
    """The words, the next five runs in the time zone, and how often it fired in the last week."""
    now = now or timezone.now()
    expression = cron.clean_cron(cron_expression)
    zone = cron.clean_time_zone(time_zone)
    week_ago = now - dt.timedelta(days=PREVIEW_DAYS)
    return {
        "cron": expression,
        "time_zone": zone,
        "description": cron.describe(expression),
        "next_runs": [slot.isoformat() for slot in cron.next_slots(expression, zone, after=now, count=5)],
        "last_week": cron.slots_between(expression, zone, first=week_ago, last=now),
    }


def fire_schedule(*, schedule_id: int, now: dt.datetime | None = None) -> ScheduleRun | None:
    """Fire the schedule's due slot once (see the module docstring); None if nothing was due or
    the slot had fired already.

    Missed slots (Mission Control down, beat stopped): all the slots from the stored next run up
    to now collapse into the newest one. `run_once` fires it once, saying how many it stands
    for; `skip` fires it only if it is within AUTOMATIONS_MISSED_GRACE_SECONDS of its time,
    and otherwise records it as skipped. Never more than once per slot, never a burst.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # FOR UPDATE: a second beat or a duplicated tick waits here, then reads the moved next_run_at.
        schedule = (
            Schedule.objects.select_for_update()
            .select_related("board")
            .filter(pk=schedule_id, enabled=True, next_run_at__lte=now)
            .first()
        )
        if schedule is None:
            return None
        slot = cron.latest_slot(schedule.cron, schedule.time_zone, at=now)
        slots = max(
            1, cron.slots_between(schedule.cron, schedule.time_zone, first=schedule.next_run_at, last=slot)
        )
        late = (now - slot).total_seconds() > settings.AUTOMATIONS_MISSED_GRACE_SECONDS
        schedule.next_run_at = _next_run(schedule.cron, schedule.time_zone, now)
        schedule.last_run_at = now
        schedule.save(update_fields=["next_run_at", "last_run_at", "updated_at"])
        if schedule.board.archived:
            status, message = RunStatus.SKIPPED, "The board is archived."
        elif late and schedule.missed_policy == MissedRunPolicy.SKIP:
            status = RunStatus.SKIPPED
            message = f"Missed {slots} slot(s) while nothing was running; skipped (the schedule's policy)."
        else:
            status = RunStatus.FIRED
            message = f"Ran once for {slots} missed slots." if slots > 1 else ""
        try:
            with transaction.atomic():
                run = ScheduleRun.objects.create(
                    schedule=schedule, slot=slot, status=status, message=message, missed=slots - 1
                )
        except IntegrityError:
            return None  # this slot fired already (a restarted beat or worker, a second message)
        outcomes: list[ActionOutcome] = []
        if status == RunStatus.FIRED:
            firing = engine.Firing(
                kind=SourceKind.SCHEDULE,
                id=schedule.pk,
                name=schedule.name,
                key=f"slot:{slot.astimezone(dt.UTC).isoformat()}",
                depth=1,
                date=slot.date().isoformat(),
                slot=slot.strftime("%Y-%m-%d %H:%M"),
            )
            with caused_by(kind=SourceKind.SCHEDULE, id=schedule.pk, depth=1):
                outcomes = engine.run_actions(board=schedule.board, actions=schedule.actions, firing=firing)
        _record(
            Actor.system(),
            schedule.board,
            "schedule.fired" if status == RunStatus.FIRED else "schedule.skipped",
            schedule,
            {
                "name": schedule.name,
                "slot": slot.isoformat(),
                "message": message,
                "outcomes": [o.message for o in outcomes][:5],
            },
        )
    return run


def fire_due_schedules(*, now: dt.datetime | None = None) -> list[ScheduleRun]:
    """Beat's tick: every due schedule's slot, each in its own transaction; also the approval
    sweep of "waiting for approval longer than X" automations."""
    now = now or timezone.now()
    runs = []
    due = Schedule.objects.filter(enabled=True, next_run_at__lte=now).order_by("next_run_at")
    for schedule_id in list(due.values_list("pk", flat=True)[:200]):
        try:
            run = fire_schedule(schedule_id=schedule_id, now=now)
        except Exception:
            logger.exception("schedule %s failed to fire; the next tick tries again", schedule_id)
            continue
        if run is not None:
            runs.append(run)
    sweep_waiting_approvals(now=now)
    return runs


@transaction.atomic
def run_schedule_now(*, schedule: Schedule, actor: Actor) -> list[ActionOutcome]:
    """An operator's "Run now": the actions once, outside the clock (no slot is used up)."""
    require_operator(actor, schedule.board)
    firing = engine.Firing(
        kind=SourceKind.SCHEDULE,
        id=schedule.pk,
        name=schedule.name,
        key=f"manual:{timezone.now().isoformat()}",
        depth=1,
        date=timezone.localdate().isoformat(),
    )
    _record(actor, schedule.board, "schedule.run_by_hand", schedule, {"name": schedule.name})
    with caused_by(kind=SourceKind.SCHEDULE, id=schedule.pk, depth=1):
        return engine.run_actions(board=schedule.board, actions=schedule.actions, firing=firing)


# --- event automations ----------------------------------------------------------------------------

# Which activity verbs can fire which triggers (anything else is dropped at once).
TRIGGER_VERBS: dict[str, tuple[str, ...]] = {
    "task.status_changed": (Trigger.TASK_ENTERS_COLUMN, Trigger.TASK_DONE),
    "task.updated": (Trigger.TASK_LABELLED,),
    "task.created": (Trigger.TASK_LABELLED,),
    "agent.presence_changed": (Trigger.AGENT_OFFLINE,),
    "usage.budget_crossed": (Trigger.BUDGET_CROSSED,),
}


def trigger_cache_key(organization_id: int) -> str:
    return f"mc:automations:triggers:{organization_id}"


def forget_triggers(organization_id: int) -> None:
    """After an automation changes, the next event of the organization reads them again: now (a
    drain later in this transaction) and after the commit (a reader that cached the old map
    meanwhile)."""
    cache.delete(trigger_cache_key(organization_id))
    transaction.on_commit(lambda: cache.delete(trigger_cache_key(organization_id)))


def boards_with_trigger(organization_id: int) -> dict[str, set[int]]:
    """{trigger: ids of the boards with an enabled automation on it}: one cache read per event,
    so a board without automations costs the log consumer no query."""
    key = trigger_cache_key(organization_id)
    mapping = cache.get(key)
    if mapping is None:
        mapping = {}
        rows = Automation.objects.filter(
            board__organization_id=organization_id, enabled=True, board__archived=False
        ).values_list("trigger", "board_id")
        for trigger, board_id in rows:
            mapping.setdefault(trigger, set()).add(board_id)
        cache.set(key, mapping, TRIGGER_CACHE_SECONDS)
    return mapping


def _clean_trigger_params(trigger: str, params: Any) -> dict[str, Any]:
    params = params if isinstance(params, dict) else {}
    if trigger == Trigger.TASK_ENTERS_COLUMN:
        if params.get("column") not in TaskStatus.values:
            raise DomainError("Choose the column the task enters.", code="invalid_trigger")
        return {"column": params["column"]}
    if trigger == Trigger.TASK_LABELLED:
        tag = " ".join(str(params.get("tag") or "").split())
        if not tag or len(tag) > 40:
            raise DomainError("Name the tag (1 to 40 characters).", code="invalid_trigger")
        return {"tag": tag}
    if trigger == Trigger.APPROVAL_WAITING:
        minutes = params.get("minutes")
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 60 * 24 * 30:
            raise DomainError(
                "Waiting time: whole minutes from 1 to 43200 (30 days).", code="invalid_trigger"
            )
        return {"minutes": minutes}
    if trigger == Trigger.BUDGET_CROSSED:
        threshold = params.get("threshold", 80)
        if threshold not in (80, 100):
            raise DomainError("Budgets are crossed at 80 % or 100 %.", code="invalid_trigger")
        return {"threshold": threshold}
    return {}


def _clean_conditions(conditions: Any) -> list[dict[str, str]]:
    if conditions in (None, ""):
        return []
    if not isinstance(conditions, list):
        raise DomainError("Conditions are a list.", code="invalid_condition")
    if len(conditions) > MAX_CONDITIONS:
        raise DomainError(f"At most {MAX_CONDITIONS} conditions.", code="too_many_conditions")
    cleaned = []
    for index, condition in enumerate(conditions, start=1):
        if not isinstance(condition, dict):
            raise DomainError(f"Condition {index} is not an object.", code="invalid_condition")
        field = str(condition.get("field") or "")
        if not (field.startswith(("task.", "event.")) and 6 <= len(field) <= 60 and field.count(".") == 1):
            raise DomainError(
                f"Condition {index}: the field is task.<name> or event.<name> (e.g. task.priority).",
                code="invalid_condition",
            )
        if condition.get("op") not in CONDITION_OPS:
            raise DomainError(
                f"Condition {index}: the test is one of {', '.join(CONDITION_OPS)}.", code="invalid_condition"
            )
        value = str(condition.get("value") if condition.get("value") is not None else "")
        if len(value) > CONDITION_VALUE_MAX:
            raise DomainError(
                f"Condition {index}: a value is at most {CONDITION_VALUE_MAX} characters.", code="too_long"
            )
        cleaned.append({"field": field, "op": condition["op"], "value": value})
    return cleaned


def _clean_automation(
    board: Board, fields: dict[str, Any], exclude_pk: int | None, current: Automation | None
) -> dict:
    unknown = set(fields) - {"name", "enabled", "trigger", "trigger_params", "conditions", "actions"}
    if unknown:
        raise DomainError(f"Unknown automation fields: {', '.join(sorted(unknown))}.")
    cleaned = dict(fields)
    if "name" in fields:
        cleaned["name"] = _clean_name(fields["name"])
        _unique_name(Automation, board, cleaned["name"], exclude_pk)
    trigger = fields.get("trigger", current.trigger if current else None)
    if trigger not in Trigger.values:
        raise DomainError(f"Unknown trigger “{str(trigger)[:40]}”.", code="invalid_trigger")
    if "trigger" in fields or "trigger_params" in fields:
        cleaned["trigger_params"] = _clean_trigger_params(
            trigger, fields.get("trigger_params", current.trigger_params if current else {})
        )
    if "conditions" in fields:
        cleaned["conditions"] = _clean_conditions(fields["conditions"])
    if "actions" in fields:
        cleaned["actions"] = engine.validate_actions(board, fields["actions"])
    if "enabled" in fields:
        cleaned["enabled"] = bool(fields["enabled"])
    return cleaned


@transaction.atomic
def create_automation(
    *,
    board: Board,
    actor: Actor,
    name: str,
    trigger: str,
    actions: list[dict[str, Any]],
    trigger_params: dict[str, Any] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    enabled: bool = True,
) -> Automation:
    require_admin(actor, board)
    Board.objects.select_for_update().filter(pk=board.pk).first()
    _count_limit(Automation, board, MAX_AUTOMATIONS_PER_BOARD, "automations")
    fields = _clean_automation(
        board,
        {
            "name": name,
            "trigger": trigger,
            "trigger_params": trigger_params or {},
            "conditions": conditions or [],
            "actions": actions,
            "enabled": enabled,
        },
        None,
        None,
    )
    automation = Automation.objects.create(board=board, created_by=actor.user, **fields)
    forget_triggers(board.organization_id)
    _record(actor, board, "automation.created", automation, {"name": automation.name, "trigger": trigger})
    return automation


@transaction.atomic
def update_automation(*, automation: Automation, actor: Actor, **changes: Any) -> Automation:
    automation = Automation.objects.select_for_update().select_related("board").get(pk=automation.pk)
    require_admin(actor, automation.board)
    fields = _clean_automation(automation.board, changes, automation.pk, automation)
    changed = sorted(name for name, value in fields.items() if getattr(automation, name) != value)
    for name in changed:
        setattr(automation, name, fields[name])
    if changed:
        automation.save(update_fields=[*changed, "updated_at"])
        forget_triggers(automation.board.organization_id)
        _record(
            actor,
            automation.board,
            "automation.updated",
            automation,
            {"name": automation.name, "fields": changed},
        )
    return automation


@transaction.atomic
def delete_automation(*, automation: Automation, actor: Actor) -> None:
    require_admin(actor, automation.board)
    forget_triggers(automation.board.organization_id)
    _record(
        actor,
        automation.board,
        "automation.deleted",
        None,
        {"name": automation.name, "automation_id": automation.pk},
        target_type="automation",
    )
    automation.delete()


def _event_task(event: ActivityEvent) -> Task | None:
    if event.target_type != "task" or not event.target_id.isdigit():
        return None
    return Task.objects.select_related("board").filter(pk=int(event.target_id)).first()


def trigger_matches(automation: Automation, event: ActivityEvent, task: Task | None) -> bool:
    """Does `event` fire `automation`'s trigger (before conditions)?"""
    params = automation.trigger_params or {}
    detail = event.detail or {}
    trigger = automation.trigger
    if trigger in (Trigger.TASK_ENTERS_COLUMN, Trigger.TASK_DONE, Trigger.TASK_LABELLED) and (
        task is None or task.board_id != automation.board_id
    ):
        return False
    if trigger == Trigger.TASK_ENTERS_COLUMN:
        return event.verb == "task.status_changed" and detail.get("to") == params.get("column")
    if trigger == Trigger.TASK_DONE:
        return event.verb == "task.status_changed" and detail.get("to") == TaskStatus.DONE
    if trigger == Trigger.TASK_LABELLED:
        if event.verb == "task.updated" and "tags" not in (detail.get("fields") or []):
            return False
        if event.verb not in ("task.updated", "task.created"):
            return False
        wanted = str(params.get("tag", "")).lower()
        return any(name.lower() == wanted for name in task.tags.values_list("name", flat=True))
    if trigger == Trigger.AGENT_OFFLINE:
        return event.verb == "agent.presence_changed" and detail.get("presence") == "offline"
    if trigger == Trigger.BUDGET_CROSSED:
        return (
            event.verb == "usage.budget_crossed"
            and detail.get("threshold") == params.get("threshold", 80)
            and event.board_id in (None, automation.board_id)
        )
    return False


def _field_value(field: str, event: ActivityEvent, task: Task | None) -> Any:
    scope, _, name = field.partition(".")
    if scope == "task":
        if task is None:
            return None
        if name == "tags":
            return [t.lower() for t in task.tags.values_list("name", flat=True)]
        if name == "assignee":
            return (task.assignee_agent.name if task.assignee_agent else None) or (
                task.assignee_user.get_username() if task.assignee_user else ""
            )
        value = (
            getattr(task, name, None)
            if name in ("title", "status", "priority", "description", "external_id")
            else None
        )
        return value
    if name == "actor":
        return event.actor_label
    if name == "actor_kind":
        return event.actor_kind
    if name == "verb":
        return event.verb
    return (event.detail or {}).get(name)


def conditions_hold(conditions: list[dict[str, str]], event: ActivityEvent, task: Task | None) -> bool:
    """Every condition on the event's (or its task's) fields holds; text tests ignore case."""
    for condition in conditions:
        value = _field_value(condition["field"], event, task)
        wanted = condition["value"].lower()
        op = condition["op"]
        if isinstance(value, list):
            present = wanted in value
            ok = present if op in ("is", "contains") else not present if op == "is_not" else False
        elif op == "at_least":
            try:
                ok = value is not None and float(value) >= float(wanted)
            except (TypeError, ValueError):
                ok = False
        else:
            text = "" if value is None else str(value).lower()
            ok = text == wanted if op == "is" else text != wanted if op == "is_not" else wanted in text
        if not ok:
            return False
    return True


def _stop(automation: Automation, run: AutomationRun, message: str, *, announce: bool) -> AutomationRun:
    run.status = RunStatus.STOPPED
    run.message = message
    run.save(update_fields=["status", "message"])
    engine.record_outcome(
        board=automation.board_id,
        firing=engine.Firing(SourceKind.AUTOMATION, automation.pk, automation.name, run.key, run.depth),
        action="",
        result=engine.Result(OutcomeStatus.STOPPED, message),
    )
    if announce:
        # On the board's feed: a person should see that a chain was cut, and why.
        _record(
            Actor.system(),
            automation.board,
            "automation.stopped",
            automation,
            {"name": automation.name, "message": message},
        )
    return run


def fire_automation(
    *, automation: Automation, key: str, event: ActivityEvent | None, tasks: list[Task | None], depth: int
) -> AutomationRun | None:
    """One firing, once per key: the loop guard first (depth, then rate), then the actions for
    each subject task (one savepoint per action). None if this key fired already."""
    try:
        with transaction.atomic():
            run = AutomationRun.objects.create(
                automation=automation,
                key=key[:80],
                event_id=event.pk if event is not None else None,
                depth=depth,
                status=RunStatus.FIRED,
            )
    except IntegrityError:
        return None
    if depth >= settings.AUTOMATIONS_MAX_DEPTH:
        return _stop(
            automation,
            run,
            f"Stopped by the loop guard: this event comes from a chain of {depth} automation firings "
            f"(the limit is AUTOMATIONS_MAX_DEPTH={settings.AUTOMATIONS_MAX_DEPTH}).",
            announce=True,
        )
    window = timezone.now() - dt.timedelta(seconds=60)
    recent = AutomationRun.objects.filter(
        automation=automation, created_at__gte=window, status=RunStatus.FIRED
    ).exclude(pk=run.pk)
    if recent.count() >= settings.AUTOMATIONS_MAX_RUNS_PER_MINUTE:
        already_stopped = AutomationRun.objects.filter(
            automation=automation, created_at__gte=window, status=RunStatus.STOPPED
        ).exists()
        return _stop(
            automation,
            run,
            f"Stopped by the loop guard: it fired {settings.AUTOMATIONS_MAX_RUNS_PER_MINUTE} times in "
            "the last minute (AUTOMATIONS_MAX_RUNS_PER_MINUTE).",
            announce=not already_stopped,
        )
    firing = engine.Firing(
        kind=SourceKind.AUTOMATION,
        id=automation.pk,
        name=automation.name,
        key=key,
        depth=depth + 1,
        date=timezone.localdate().isoformat(),
    )
    outcomes: list[ActionOutcome] = []
    with caused_by(kind=SourceKind.AUTOMATION, id=automation.pk, depth=depth + 1):
        for task in tasks:
            outcomes += engine.run_actions(
                board=automation.board, actions=automation.actions, firing=firing, task=task
            )
        _record(
            Actor.system(),
            automation.board,
            "automation.fired",
            automation,
            {"name": automation.name, "outcomes": [o.message for o in outcomes][:5]},
        )
    return run


def automations_for_event(event: ActivityEvent) -> list[AutomationRun]:
    """The log consumer's work for one event (automations.triggers)."""
    triggers = TRIGGER_VERBS.get(event.verb)
    if not triggers:
        return []
    mapping = boards_with_trigger(event.organization_id)
    boards = set().union(*(mapping.get(trigger, set()) for trigger in triggers))
    if not boards or (event.board_id is not None and event.board_id not in boards):
        return []
    candidates = Automation.objects.filter(
        board__organization_id=event.organization_id,
        board__archived=False,
        enabled=True,
        trigger__in=triggers,
    ).select_related("board")
    if event.board_id is not None:
        candidates = candidates.filter(board_id=event.board_id)
    candidates = list(candidates)
    if not candidates:
        return []
    task = _event_task(event)
    depth = depth_of(event.detail)
    runs = []
    for automation in candidates:
        if not trigger_matches(automation, event, task):
            continue
        if not conditions_hold(automation.conditions or [], event, task):
            continue
        subjects: list[Task | None] = [task]
        if automation.trigger == Trigger.AGENT_OFFLINE:
            subjects = list(
                Task.objects.filter(
                    board=automation.board, assignee_agent_id=(event.detail or {}).get("agent_id")
                )
                .exclude(status=TaskStatus.DONE)
                .order_by("pk")[:MAX_HELD_TASKS]
            )
            if not subjects:
                continue  # offline holding nothing: not this trigger
        elif automation.trigger == Trigger.BUDGET_CROSSED:
            subjects = [None]
        run = fire_automation(
            automation=automation, key=f"event:{event.pk}", event=event, tasks=subjects, depth=depth
        )
        if run is not None:
            runs.append(run)
    return runs


def sweep_waiting_approvals(*, now: dt.datetime | None = None) -> list[AutomationRun]:
    """ "Waiting for approval longer than X": each pending approval fires each such automation
    of its board once (the run's key is the approval)."""
    now = now or timezone.now()
    runs = []
    automations = Automation.objects.filter(
        enabled=True, trigger=Trigger.APPROVAL_WAITING, board__archived=False
    ).select_related("board")
    for automation in automations:
        minutes = (automation.trigger_params or {}).get("minutes", 60)
        waiting = (
            Approval.objects.filter(
                task__board=automation.board,
                status=ApprovalStatus.PENDING,
                created_at__lte=now - dt.timedelta(minutes=minutes),
            )
            .exclude(pk__in=_fired_approval_ids(automation))
            .select_related("task__board")
            .order_by("pk")[:MAX_HELD_TASKS]
        )
        for approval in waiting:
            event = ActivityEvent.objects.filter(
                verb="approval.requested", target_id=str(approval.pk)
            ).first()
            if event is not None and not conditions_hold(automation.conditions or [], event, approval.task):
                continue
            with transaction.atomic():
                run = fire_automation(
                    automation=automation,
                    key=f"approval:{approval.pk}",
                    event=event,
                    tasks=[approval.task],
                    depth=0,
                )
            if run is not None:
                runs.append(run)
    return runs


def _fired_approval_ids(automation: Automation) -> list[int]:
    keys = AutomationRun.objects.filter(automation=automation, key__startswith="approval:").values_list(
        "key", flat=True
    )
    return [int(key.split(":", 1)[1]) for key in keys]


def preview_automation(
    *,
    board: Board,
    actor: Actor,
    trigger: str,
    trigger_params: Any = None,
    conditions: Any = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The dry run: how often this trigger and these conditions would have fired over the last
    week of the board's activity log (nothing is written). Task fields are read as they are now."""
    require_viewer(actor, board)
    now = now or timezone.now()
    probe = Automation(
        board=board,
        trigger=trigger,
        trigger_params=_clean_trigger_params(trigger, trigger_params) if trigger in Trigger.values else {},
        conditions=_clean_conditions(conditions),
    )
    if trigger not in Trigger.values:
        raise DomainError(f"Unknown trigger “{str(trigger)[:40]}”.", code="invalid_trigger")
    since = now - dt.timedelta(days=PREVIEW_DAYS)
    if trigger == Trigger.APPROVAL_WAITING:
        minutes = probe.trigger_params["minutes"]
        approvals = Approval.objects.filter(
            task__board=board, created_at__gte=since - dt.timedelta(minutes=minutes)
        )
        examples = []
        count = 0
        for approval in approvals.select_related("task"):
            end = approval.decided_at or now
            if end - approval.created_at >= dt.timedelta(minutes=minutes):
                count += 1
                examples.append(f"Approval #{approval.pk} for “{approval.task.title}”")
        return {"fired": count, "days": PREVIEW_DAYS, "examples": examples[:5], "scanned": approvals.count()}
    verbs = [verb for verb, triggers in TRIGGER_VERBS.items() if trigger in triggers]
    events = ActivityEvent.objects.filter(
        organization_id=board.organization_id, verb__in=verbs, created_at__gte=since, created_at__lte=now
    ).order_by("-id")
    if trigger not in (Trigger.AGENT_OFFLINE, Trigger.BUDGET_CROSSED):
        events = events.filter(board=board)
    count = 0
    examples = []
    scanned = 0
    for event in events[:PREVIEW_MAX_EVENTS]:
        scanned += 1
        task = _event_task(event)
        if trigger_matches(probe, event, task) and conditions_hold(probe.conditions, event, task):
            count += 1
            if len(examples) < 5:
                examples.append(
                    f"{event.created_at:%a %H:%M}: {event.verb} {task.title if task else ''}".strip()
                )
    return {"fired": count, "days": PREVIEW_DAYS, "examples": examples, "scanned": scanned}


# --- templates ------------------------------------------------------------------------------------


def _clean_tags(tags: Any) -> list[str]:
    if tags in (None, ""):
        return []
    if isinstance(tags, str):
        tags = [t for t in tags.split(",")]
    if not isinstance(tags, list) or len(tags) > 20:
        raise DomainError("Tags are a list of at most 20 names.", code="invalid_tags")
    cleaned = [" ".join(str(t).split()) for t in tags]
    if any(not t or len(t) > 40 for t in cleaned):
        raise DomainError("A tag is 1 to 40 characters.", code="invalid_tags")
    return cleaned


def _clean_checklist(items: Any) -> list[str]:
    if items in (None, ""):
        return []
    if isinstance(items, str):
        items = [line for line in items.splitlines() if line.strip()]
    if not isinstance(items, list) or len(items) > MAX_CHECKLIST_ITEMS:
        raise DomainError(f"A checklist has at most {MAX_CHECKLIST_ITEMS} items.", code="too_many_items")
    cleaned = [" ".join(str(item).split()) for item in items]
    if any(not item or len(item) > 200 for item in cleaned):
        raise DomainError("A checklist item is 1 to 200 characters.", code="too_long")
    return cleaned


def _clean_task_template(board: Board, fields: dict[str, Any], exclude_pk: int | None) -> dict[str, Any]:
    unknown = set(fields) - {"name", "title", "description", "priority", "tags", "checklist"}
    if unknown:
        raise DomainError(f"Unknown template fields: {', '.join(sorted(unknown))}.")
    cleaned = dict(fields)
    if "name" in fields:
        cleaned["name"] = _clean_name(fields["name"])
        _unique_name(TaskTemplate, board, cleaned["name"], exclude_pk)
    if "title" in fields:
        title = " ".join(str(fields["title"] or "").split())
        if not title or len(title) > 200:
            raise DomainError("A task title is 1 to 200 characters.", code="invalid_title")
        cleaned["title"] = title
    if "description" in fields and len(str(fields["description"] or "")) > 10000:
        raise DomainError("A description is at most 10000 characters.", code="too_long")
    if "priority" in fields and fields["priority"] not in TaskPriority.values:
        raise DomainError("Unknown priority.", code="invalid_priority")
    if "tags" in fields:
        cleaned["tags"] = _clean_tags(fields["tags"])
    if "checklist" in fields:
        cleaned["checklist"] = _clean_checklist(fields["checklist"])
    return cleaned


@transaction.atomic
def create_task_template(*, board: Board, actor: Actor, name: str, title: str, **fields: Any) -> TaskTemplate:
    require_admin(actor, board)
    Board.objects.select_for_update().filter(pk=board.pk).first()
    _count_limit(TaskTemplate, board, MAX_TEMPLATES_PER_BOARD, "task templates")
    cleaned = _clean_task_template(board, {"name": name, "title": title, **fields}, None)
    template = TaskTemplate.objects.create(board=board, **cleaned)
    _record(actor, board, "template.saved", template, {"name": template.name, "kind": "task"})
    return template


@transaction.atomic
def update_task_template(*, template: TaskTemplate, actor: Actor, **changes: Any) -> TaskTemplate:
    template = TaskTemplate.objects.select_for_update().select_related("board").get(pk=template.pk)
    require_admin(actor, template.board)
    cleaned = _clean_task_template(template.board, changes, template.pk)
    for name, value in cleaned.items():
        setattr(template, name, value)
    template.save()
    _record(actor, template.board, "template.saved", template, {"name": template.name, "kind": "task"})
    return template


def _clean_steps(organization_id: int, steps: Any) -> list[dict[str, Any]]:
    if not isinstance(steps, list) or not steps:
        raise DomainError("A pipeline has at least one step.", code="steps_required")
    if len(steps) > MAX_PIPELINE_STEPS:
        raise DomainError(f"A pipeline has at most {MAX_PIPELINE_STEPS} steps.", code="too_many_steps")
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, step in enumerate(steps, start=1):
        if not isinstance(step, dict):
            raise DomainError(f"Step {index} is not an object.", code="invalid_step")
        key = str(step.get("key") or index).strip()
        title = " ".join(str(step.get("title") or "").split())
        if not key or len(key) > STEP_KEY_MAX or key in seen:
            raise DomainError(
                f"Step {index}: a key of 1 to {STEP_KEY_MAX} characters, unique.", code="invalid_step"
            )
        if not title or len(title) > 200:
            raise DomainError(f"Step {index}: a title of 1 to 200 characters.", code="invalid_step")
        depends_on = step.get("depends_on") or []
        if not isinstance(depends_on, list) or any(str(d) not in seen for d in depends_on):
            # Only earlier steps: the order is the plan, and no cycle can be written.
            raise DomainError(
                f"Step {index}: it may depend only on earlier steps.", code="invalid_dependency"
            )
        assignee = str(step.get("assignee") or "").strip()
        if assignee and engine.resolve_assignee(organization_id, assignee) is None:
            raise DomainError(
                f"Step {index}: “{assignee[:100]}” is not agent:<name> or user:<username> here.",
                code="unknown_assignee",
            )
        description = str(step.get("description") or "")
        if len(description) > 5000:
            raise DomainError(f"Step {index}: a description is at most 5000 characters.", code="too_long")
        seen.add(key)
        cleaned.append(
            {
                "key": key,
                "title": title,
                "description": description,
                "depends_on": [str(d) for d in depends_on],
                "assignee": assignee,
            }
        )
    return cleaned


@transaction.atomic
def create_pipeline_template(
    *, board: Board, actor: Actor, name: str, steps: list[dict[str, Any]], description: str = ""
) -> PipelineTemplate:
    require_admin(actor, board)
    Board.objects.select_for_update().filter(pk=board.pk).first()
    _count_limit(PipelineTemplate, board, MAX_TEMPLATES_PER_BOARD, "pipeline templates")
    name = _clean_name(name)
    _unique_name(PipelineTemplate, board, name, None)
    if len(description or "") > 2000:
        raise DomainError("A description is at most 2000 characters.", code="too_long")
    template = PipelineTemplate.objects.create(
        board=board,
        name=name,
        description=description or "",
        steps=_clean_steps(board.organization_id, steps),
    )
    _record(actor, board, "template.saved", template, {"name": template.name, "kind": "pipeline"})
    return template


@transaction.atomic
def update_pipeline_template(*, template: PipelineTemplate, actor: Actor, **changes: Any) -> PipelineTemplate:
    template = PipelineTemplate.objects.select_for_update().select_related("board").get(pk=template.pk)
    require_admin(actor, template.board)
    unknown = set(changes) - {"name", "description", "steps"}
    if unknown:
        raise DomainError(f"Unknown template fields: {', '.join(sorted(unknown))}.")
    if "name" in changes:
        template.name = _clean_name(changes["name"])
        _unique_name(PipelineTemplate, template.board, template.name, template.pk)
    if "description" in changes:
        if len(changes["description"] or "") > 2000:
            raise DomainError("A description is at most 2000 characters.", code="too_long")
        template.description = changes["description"] or ""
    if "steps" in changes:
        template.steps = _clean_steps(template.board.organization_id, changes["steps"])
    template.save()
    _record(actor, template.board, "template.saved", template, {"name": template.name, "kind": "pipeline"})
    return template


@transaction.atomic
def delete_template(*, template: TaskTemplate | PipelineTemplate, actor: Actor) -> None:
    require_admin(actor, template.board)
    kind = "task" if isinstance(template, TaskTemplate) else "pipeline"
    _record(
        actor,
        template.board,
        "template.deleted",
        None,
        {"name": template.name, "kind": kind, "template_id": template.pk},
        target_type=template._meta.model_name,
    )
    template.delete()


@transaction.atomic
def instantiate_template(*, template: TaskTemplate | PipelineTemplate, actor: Actor) -> Task | Pipeline:
    """By hand (an operator): the template's task, or the pipeline's tasks with dependencies.
    The outcome is recorded like a schedule's or an automation's."""
    board = template.board
    require_operator(actor, board)
    firing = engine.Firing(kind=SourceKind.MANUAL, id=template.pk, name=template.name, key="manual")
    if isinstance(template, TaskTemplate):
        task = instantiate_task_template_as(template_id=template.pk, board=board, actor=actor)
        engine.record_outcome(
            board=board,
            firing=firing,
            action=engine.Action.CREATE_FROM_TEMPLATE,
            result=engine.Result(
                OutcomeStatus.APPLIED, f"Created task #{task.pk} “{task.title}” from a template.", task
            ),
        )
        return task
    pipeline = instantiate_pipeline_template_as(template_id=template.pk, board=board, actor=actor)
    engine.record_outcome(
        board=board,
        firing=firing,
        action=engine.Action.CREATE_FROM_TEMPLATE,
        result=engine.Result(
            OutcomeStatus.APPLIED,
            f"Started pipeline #{pipeline.pk} “{pipeline.name}”.",
            None,
            {"pipeline_id": pipeline.pk},
        ),
    )
    return pipeline


def pipeline_progress(pipeline: Pipeline) -> dict[str, Any]:
    """Done steps of all, for the board's pipeline strip."""
    statuses = list(pipeline.steps.values_list("task__status", flat=True))
    done = sum(1 for status in statuses if status == TaskStatus.DONE)
    return {
        "done": done,
        "total": len(statuses),
        "percent": round(100 * done / len(statuses)) if statuses else 0,
    }
