"""A standup's figures, read from the activity log and the usage reports (no write here).

For one local day of the organization's time zone, [midnight, next midnight):
- done: tasks that reached done during the day and are still done at its end;
- in progress: tasks in progress or in review at the end of the day;
- blocked: tasks blocked at the end of the day;
- waiting for approval: approvals requested and not decided by the end of the day;
- spend: the agents' usage reports that occurred during the day (cost as recorded).

A task's state at the end of the day is the fold of its `task.created`, `task.status_changed` and
`task.deleted` events up to then (in id order: one task's events are serialised by its row lock),
so the figures of a past day do not change when the board does, and they match the log exactly.
Each item is credited to whoever made the move it is about (the actor of the event); a task that
finished through an approval is credited to whoever asked for the approval, not the approver.

The fold reads only the events of the tasks and approvals that can count (open now, or moved
since the day began; `_relevant_events`): one query, linear in the open work and in what happened
since, not in the board's history.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.conf import settings
from django.db.models import CharField, Count, Q, QuerySet, Sum
from django.db.models.functions import Cast

from activity.models import ActivityEvent
from boards.models import Approval, ApprovalStatus, Task, TaskStatus
from infra.charts import Chart, ChartSeries
from usage.models import MICROS_PER_DOLLAR, UsageReport

# At most this many items per section are listed (counts stay exact): a chat message, an email
# and a webhook payload stay readable and bounded on a board with thousands of open tasks.
MAX_ITEMS = 50
SECTIONS = ("done", "in_progress", "blocked", "waiting")
STATUS_VERBS = ("task.created", "task.status_changed", "task.deleted")
APPROVAL_VERBS = ("approval.requested", "approval.decided")
CHART_ID = "standup-chart"
# Two or three people on a page-wide chart put their bars at its far edges: a slot each, no wider.
CHART_SLOT_PX = 96
# The statuses a task can be counted in at the end of a day without having moved on it.
HELD_STATUSES = (TaskStatus.IN_PROGRESS, TaskStatus.REVIEW, TaskStatus.BLOCKED)


@dataclass(frozen=True)
class Scope:
    """Whose standup: an organization's (board None) or one board's, in a time zone."""

    organization_id: int
    board_id: int | None
    time_zone: str


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_time_zone(name: str) -> bool:
    return name in _time_zone_names()


_ZONES: set[str] = set()


def _time_zone_names() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


def day_bounds(day: date, time_zone: str) -> tuple[datetime, datetime]:
    """The local day as an aware [start, end): 23 or 25 hours long on a daylight-saving change."""
    tz = zone(time_zone)
    return (
        datetime.combine(day, time.min, tzinfo=tz),
        datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz),
    )


def local_today(now: datetime, time_zone: str) -> date:
    return now.astimezone(zone(time_zone)).date()


def _who(event: dict[str, Any]) -> dict[str, str]:
    kind = event["actor_kind"]
    if kind == "user" and event["actor_user_id"]:
        key = f"user:{event['actor_user_id']}"
    elif kind == "agent" and event["actor_agent_id"]:
        key = f"agent:{event['actor_agent_id']}"
    else:
        key = f"{kind}:{event['actor_label']}"
    return {"key": key, "label": event["actor_label"], "kind": kind}


def compute(scope: Scope, day: date) -> dict[str, Any]:
    """The figures of `scope` for the local `day` (a JSON-ready dict; see the module docstring)."""
    start, end = day_bounds(day, scope.time_zone)
    events = _relevant_events(scope, start, end)
    tasks: dict[str, dict[str, Any]] = {}
    approvals: dict[str, dict[str, Any]] = {}
    requester_of: dict[str, dict[str, str]] = {}
    for event in (
        events.order_by("id")
        .values(
            "id",
            "verb",
            "board_id",
            "target_id",
            "detail",
            "created_at",
            "actor_kind",
            "actor_label",
            "actor_user_id",
            "actor_agent_id",
        )
        .iterator(chunk_size=2000)
    ):
        detail = event["detail"] or {}
        who = _who(event)
        verb = event["verb"]
        if verb in APPROVAL_VERBS:
            approval_id = str(detail.get("approval_id") or event["target_id"])
            if verb == "approval.requested":
                requester_of[approval_id] = who
                approvals[approval_id] = {
                    "approval_id": int(approval_id) if approval_id.isdigit() else approval_id,
                    "task_id": detail.get("task_id"),
                    "title": detail.get("title", ""),
                    "board_id": event["board_id"],
                    "by": who,
                    "since": event["created_at"],
                }
            else:
                approvals.pop(approval_id, None)
            continue
        task_id = str(detail.get("task_id") or event["target_id"])
        if verb == "task.deleted":
            tasks.pop(task_id, None)
            continue
        state = tasks.setdefault(task_id, {"task_id": detail.get("task_id") or event["target_id"]})
        state["title"] = detail.get("title", state.get("title", ""))
        state["board_id"] = event["board_id"]
        status = detail.get("status") if verb == "task.created" else detail.get("to")
        if not status or status == state.get("status"):
            continue
        if status == "done" and detail.get("approval_id"):
            who = requester_of.get(str(detail["approval_id"]), who)
        state.update(
            status=status, by=who, since=event["created_at"], moved_today=event["created_at"] >= start
        )
    sections: dict[str, list[dict[str, Any]]] = {name: [] for name in SECTIONS}
    for state in tasks.values():
        if "status" not in state:
            continue
        item = {key: state[key] for key in ("task_id", "title", "board_id", "by", "since")}
        status = state["status"]
        if status == "done" and state["moved_today"]:
            sections["done"].append(item)
        elif status in ("in_progress", "review"):
            sections["in_progress"].append({**item, "status": status})
        elif status == "blocked":
            sections["blocked"].append(item)
    sections["waiting"] = list(approvals.values())
    spend = _spend(scope, start, end)
    figures: dict[str, Any] = {
        "date": day.isoformat(),
        "time_zone": scope.time_zone,
        "board_id": scope.board_id,
        "organization_id": scope.organization_id,
        "counts": {name: len(items) for name, items in sections.items()},
        "spend": spend,
        "people": _people(sections, spend),
    }
    for name, items in sections.items():
        items.sort(key=lambda item: (item["since"], str(item["task_id"])))
        figures[name] = [{**item, "since": item["since"].isoformat()} for item in items[:MAX_ITEMS]]
    return figures


def _relevant_events(scope: Scope, start: datetime, end: datetime) -> QuerySet[ActivityEvent]:
    """The status and approval events up to `end` of the tasks and approvals that can count.

    A task with no status event since `start` had, at the end of the day, the status it has now;
    it counts only if that is in progress, review or blocked. Any other task either changed since
    `start` (its events are read) or contributes nothing (done before the day, inbox, deleted).
    The same holds for approvals and "pending". So the fold reads the open work and what moved
    since the day began, not the board's whole history.
    """
    scoped = ActivityEvent.objects.filter(organization_id=scope.organization_id)
    held = Task.objects.filter(board__organization_id=scope.organization_id, status__in=HELD_STATUSES)
    pending = Approval.objects.filter(
        task__board__organization_id=scope.organization_id, status=ApprovalStatus.PENDING
    )
    if scope.board_id is not None:
        scoped = scoped.filter(board_id=scope.board_id)
        held = held.filter(board_id=scope.board_id)
        pending = pending.filter(task__board_id=scope.board_id)
    touched = scoped.filter(created_at__gte=start)
    as_key = Cast("pk", CharField())
    tasks = Q(verb__in=STATUS_VERBS) & (
        Q(target_id__in=touched.filter(verb__in=STATUS_VERBS).values("target_id"))
        | Q(target_id__in=held.annotate(key=as_key).values("key"))
    )
    approvals = Q(verb__in=APPROVAL_VERBS) & (
        Q(target_id__in=touched.filter(verb__in=APPROVAL_VERBS).values("target_id"))
        | Q(target_id__in=pending.annotate(key=as_key).values("key"))
    )
    return scoped.filter(tasks | approvals, created_at__lt=end)


def _spend(scope: Scope, start: datetime, end: datetime) -> dict[str, Any]:
    reports = UsageReport.objects.filter(
        organization_id=scope.organization_id, occurred_at__gte=start, occurred_at__lt=end
    )
    if scope.board_id is not None:
        reports = reports.filter(board_id=scope.board_id)
    rows = (
        reports.values("agent_id", "agent__name")
        .annotate(micros=Sum("cost_micros"), unpriced=Count("id", filter=Q(cost_micros__isnull=True)))
        .order_by("agent_id")
    )
    by_agent = [
        {"agent_id": row["agent_id"], "name": row["agent__name"], "micros": row["micros"] or 0}
        for row in rows
    ]
    by_agent.sort(key=lambda row: (-row["micros"], row["name"]))
    return {
        "total_micros": sum(row["micros"] for row in by_agent),
        "unpriced_reports": sum(row["unpriced"] for row in rows),
        "by_agent": by_agent,
    }


def _people(sections: dict[str, list[dict[str, Any]]], spend: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per person or agent: how many of each section are theirs, and an agent's spend."""
    rows: dict[str, dict[str, Any]] = {}
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SECTIONS, 0))
    for name, items in sections.items():
        for item in items:
            who = item["by"]
            rows.setdefault(who["key"], dict(who))
            counts[who["key"]][name] += 1
    for row in spend["by_agent"]:
        key = f"agent:{row['agent_id']}"
        rows.setdefault(key, {"key": key, "label": row["name"], "kind": "agent"})
    micros = {f"agent:{row['agent_id']}": row["micros"] for row in spend["by_agent"]}
    people = [{**row, **counts[key], "spend_micros": micros.get(key, 0)} for key, row in rows.items()]
    people.sort(key=lambda row: (-row["done"], row["label"].lower(), row["key"]))
    return people


def is_quiet(figures: dict[str, Any]) -> bool:
    """Nothing moved, nothing open, nothing spent: recorded but not sent."""
    return not any(figures["counts"].values()) and not figures["spend"]["by_agent"]


def dollars(micros: int) -> str:
    return f"${micros / MICROS_PER_DOLLAR:,.2f}"


# --- sentences -------------------------------------------------------------------------------


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _titles(items: list[dict[str, Any]], count: int, *, status: bool = False) -> str:
    shown = []
    for item in items[:10]:
        note = " (in review)" if status and item.get("status") == "review" else ""
        shown.append(f"\u2018{item['title']}\u2019{note} ({item['by']['label']})")
    more = count - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def sentences(figures: dict[str, Any]) -> list[str]:
    """The figures as plain sentences, the same on the page, in chat, in mail and in the API."""
    counts = figures["counts"]
    lines = []
    done = counts["done"]
    lines.append(
        f"{_plural(done, 'task was', 'tasks were')} finished: {_titles(figures['done'], done)}."
        if done
        else "No task was finished."
    )
    busy = counts["in_progress"]
    if busy:
        lines.append(
            f"{_plural(busy, 'task is', 'tasks are')} in progress: "
            f"{_titles(figures['in_progress'], busy, status=True)}."
        )
    else:
        lines.append("Nothing is in progress.")
    blocked = counts["blocked"]
    if blocked:
        lines.append(
            f"{_plural(blocked, 'task is', 'tasks are')} blocked: {_titles(figures['blocked'], blocked)}."
        )
    waiting = counts["waiting"]
    if waiting:
        lines.append(
            f"{_plural(waiting, 'task is', 'tasks are')} waiting for approval: "
            f"{_titles(figures['waiting'], waiting)}."
        )
    spend = figures["spend"]
    if spend["by_agent"]:
        parts = ", ".join(f"{row['name']} {dollars(row['micros'])}" for row in spend["by_agent"][:10])
        unpriced = spend["unpriced_reports"]
        lines.append(
            f"Agents spent {dollars(spend['total_micros'])}: {parts}."
            + (f" {_plural(unpriced, 'report has', 'reports have')} no price." if unpriced else "")
        )
    else:
        lines.append("No agent reported usage.")
    return lines


def person_sentence(row: dict[str, Any]) -> str:
    """One person's or agent's line: "release-bot finished 2, has 1 in progress and spent $1.20"."""
    parts = []
    if row["done"]:
        parts.append(f"finished {row['done']}")
    if row["in_progress"]:
        parts.append(f"has {row['in_progress']} in progress")
    if row["blocked"]:
        parts.append(f"has {row['blocked']} blocked")
    if row["waiting"]:
        parts.append(f"waits for {_plural(row['waiting'], 'approval', 'approvals')}")
    if row["spend_micros"]:
        parts.append(f"spent {dollars(row['spend_micros'])}")
    if not parts:
        return f"{row['label']}: nothing to report."
    said = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{row['label']} {said}."


def chart(figures: dict[str, Any]) -> Chart:
    """Work per person and agent, stacked by section (a small bar chart; a table for screen readers)."""
    people = figures["people"][:12]
    labels = {"done": "Done", "in_progress": "In progress", "blocked": "Blocked", "waiting": "Waiting"}
    return Chart(
        id=CHART_ID,
        title="Tasks per person and agent",
        kind="bars",
        stacked=True,
        x=[row["label"] for row in people],
        series=[ChartSeries(label, [row[name] for row in people]) for name, label in labels.items()],
        x_label="Who",
        y_label="Tasks",
        slot_px=CHART_SLOT_PX,
    )


def default_time_zone() -> str:
    return settings.STANDUP_TIME_ZONE
