"""The catalogue of alert conditions: what each one watches, its parameters, how it is evaluated
now (`evaluate`) and how often it would have fired in the past (`episodes`, for the preview).

A condition is evaluated for one rule at a time and returns every subject that breaches *now*
(an agent, a task, a webhook …); the engine (alerts.services.evaluate_rule) opens, keeps and
resolves incidents from that list. `trigger_verbs` are the activity events after which a rule is
evaluated at once; every rule is also evaluated by the beat sweep, which is what notices time
passing (an agent that stays silent, a window that slides past a burst).

Another app adds a condition with `register_condition()` in its AppConfig.ready(). Conditions
about the apps below alerts (agents, boards, webhooks, usage) live here: alerts may read them,
they may not import alerts.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import CharField, Count, Max, OuterRef, Q, Subquery
from django.db.models.functions import Cast, Coalesce

from activity import registry
from activity.models import ActivityEvent
from agents.models import Agent, AgentStatus
from boards.models import Approval, ApprovalStatus, Board, Task, TaskStatus
from deliveries.models import Subscription
from gateways.models import Gateway, GatewayStatus
from infra.exceptions import DomainError
from usage import selectors as usage_selectors
from usage.models import Budget, BudgetCrossing
from webhooks import refusals
from webhooks.models import BoardWebhook, WebhookPayload

if TYPE_CHECKING:
    from alerts.models import AlertRule

# Events the alert rules themselves record: never counted or used as triggers (no feedback loop).
OWN_VERB_PREFIX = "alert."
# A preview reads at most this many past events per rule; beyond, it says "at least".
PREVIEW_MAX_EVENTS = 200_000
EVENT_TYPE_RE = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_.]*$")


@dataclass(frozen=True)
class Breach:
    """A subject breaching a rule now."""

    subject_key: str
    subject_label: str
    summary: str
    board_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    kind: str  # "int", "bool", "choice", "choices", "object", "event_types"
    default: Any = None
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[tuple[Any, str], ...] = ()
    model: str = ""  # for "object": agent, subscription or webhook of the rule's organization
    required: bool = True
    help: str = ""


class Condition:
    key = ""
    label = ""
    description = ""
    params: tuple[Param, ...] = ()
    trigger_verbs: frozenset[str] = frozenset()
    # False: listed so rules can be planned, but cannot be created or evaluated yet.
    active = True
    inactive_reason = ""
    # Whether the preview's history reaches back the full 7 days (refusal counters do not).
    history_note = ""

    def triggers(self, params: dict[str, Any]) -> frozenset[str]:
        return self.trigger_verbs

    def evaluate(self, rule: AlertRule, now: datetime) -> list[Breach]:
        raise NotImplementedError

    def episodes(self, rule: AlertRule, since: datetime, until: datetime) -> list[tuple[str, datetime]]:
        """(subject_key, moment it started breaching) for each breach that began in [since, until]."""
        raise NotImplementedError


CATALOGUE: dict[str, Condition] = {}


def register_condition(condition: Condition) -> None:
    """Add a condition, or replace one of the same key (how the usage app activates its own)."""
    CATALOGUE[condition.key] = condition


def get_condition(key: str) -> Condition:
    try:
        return CATALOGUE[key]
    except KeyError:
        raise DomainError(f"Unknown condition {key!r}.", code="unknown_condition") from None


# --- parameters ----------------------------------------------------------------------------


def _object_queryset(model: str, organization_id: int):
    if model == "agent":
        return Agent.objects.filter(organization_id=organization_id)
    if model == "subscription":
        return Subscription.objects.filter(organization_id=organization_id)
    if model == "webhook":
        return BoardWebhook.objects.filter(board__organization_id=organization_id)
    if model == "budget":
        return Budget.objects.filter(organization_id=organization_id)
    if model == "gateway":
        return Gateway.objects.filter(organization_id=organization_id)
    raise ValueError(model)


def _clean_int(param: Param, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise DomainError(f"{param.label} must be a whole number.", code="invalid_params")
    try:
        number = int(value)
    except ValueError:
        raise DomainError(f"{param.label} must be a whole number.", code="invalid_params") from None
    if param.minimum is not None and number < param.minimum:
        raise DomainError(f"{param.label} must be at least {param.minimum}.", code="invalid_params")
    if param.maximum is not None and number > param.maximum:
        raise DomainError(f"{param.label} must be at most {param.maximum}.", code="invalid_params")
    return number


def _clean_bool(param: Param, value: Any, organization_id: int) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("1", "true", "on", 1):
        return True
    if value in ("0", "false", "", 0, None):
        return False
    raise DomainError(f"{param.label} must be true or false.", code="invalid_params")


def _allowed_choices(param: Param) -> list[Any]:
    return [choice for choice, _ in param.choices]


def _as_choice(item: Any) -> Any:
    # A form posts numbers as text.
    return int(item) if isinstance(item, str) and item.isdigit() else item


def _clean_choice(param: Param, value: Any, organization_id: int) -> Any:
    allowed = _allowed_choices(param)
    if _as_choice(value) in allowed:
        value = _as_choice(value)
    if value not in allowed:
        raise DomainError(
            f"{param.label} must be one of {', '.join(map(str, allowed))}.", code="invalid_params"
        )
    return value


def _clean_choices(param: Param, value: Any, organization_id: int) -> list[Any]:
    allowed = _allowed_choices(param)
    cleaned = []
    for item in value if isinstance(value, list) else [value]:
        item = _as_choice(item)
        if item not in allowed:
            raise DomainError(
                f"{param.label}: {item!r} is not one of {', '.join(map(str, allowed))}.",
                code="invalid_params",
            )
        cleaned.append(item)
    if not cleaned:
        raise DomainError(f"{param.label}: choose at least one.", code="invalid_params")
    return sorted(set(cleaned))


def _split_event_types(param: Param, value: Any) -> list[Any]:
    """A list, or text separated by commas; 1 to 20 entries."""
    values = value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]
    values = [v for v in values if v]
    if not values:
        raise DomainError(f"{param.label}: choose at least one event type.", code="invalid_params")
    if len(values) > 20:
        raise DomainError(f"{param.label}: at most 20 event types.", code="invalid_params")
    return values


def _check_event_type_shape(param: Param, verb: Any) -> None:
    """A dotted event type, and not an alert's own (a rule must not trigger itself in a loop)."""
    if not isinstance(verb, str) or not EVENT_TYPE_RE.match(verb) or len(verb) > 64:
        raise DomainError(
            f"{param.label}: {verb!r} is not an event type such as task.created.", code="invalid_params"
        )
    if verb.startswith(OWN_VERB_PREFIX):
        raise DomainError(f"{param.label}: alert events cannot trigger alert rules.", code="invalid_params")


def _clean_event_types(param: Param, value: Any, organization_id: int) -> list[str]:
    values = _split_event_types(param, value)
    for verb in values:
        _check_event_type_shape(param, verb)
    known = known_event_types()
    unknown = [verb for verb in values if verb not in known]
    if unknown:
        raise DomainError(f"{param.label}: unknown event type {unknown[0]!r}.", code="invalid_params")
    return sorted(set(values))


def _clean_object(param: Param, value: Any, organization_id: int) -> int:
    """The id of a row of the rule's organization (another organization's reads as no such row)."""
    number = _clean_int(Param(param.name, param.label, "int", minimum=1), value)
    if not _object_queryset(param.model, organization_id).filter(pk=number).exists():
        raise DomainError(
            f"{param.label}: no such {param.model} in this organization.", code="invalid_params"
        )
    return number


def _clean_int_param(param: Param, value: Any, organization_id: int) -> int:
    return _clean_int(param, value)


# One cleaner per parameter kind; each raises DomainError (400) naming the parameter.
PARAM_CLEANERS: dict[str, Callable[[Param, Any, int], Any]] = {
    "int": _clean_int_param,
    "bool": _clean_bool,
    "choice": _clean_choice,
    "choices": _clean_choices,
    "event_types": _clean_event_types,
    "object": _clean_object,
}


def _clean_param(param: Param, value: Any, organization_id: int) -> Any:
    try:
        clean = PARAM_CLEANERS[param.kind]
    except KeyError:
        raise ValueError(param.kind) from None
    return clean(param, value, organization_id)


def validate_params(
    condition: Condition, raw: dict[str, Any] | None, *, organization_id: int
) -> dict[str, Any]:
    """The rule's parameters, complete and typed; DomainError (400) naming the first bad one."""
    if not condition.active:
        raise DomainError(
            f"{condition.label} is not available yet: {condition.inactive_reason}", code="condition_inactive"
        )
    raw = dict(raw or {})
    unknown = set(raw) - {param.name for param in condition.params}
    if unknown:
        raise DomainError(
            f"Unknown parameters for {condition.key}: {', '.join(sorted(unknown))}.", code="invalid_params"
        )
    cleaned: dict[str, Any] = {}
    for param in condition.params:
        value = raw.get(param.name)
        if value is None or value == "":
            if param.kind == "bool":
                value = param.default if param.default is not None else False
            elif param.default is not None:
                value = param.default
            elif param.required:
                raise DomainError(f"{param.label} is required.", code="invalid_params")
            else:
                cleaned[param.name] = None
                continue
        cleaned[param.name] = _clean_param(param, value, organization_id)
    return cleaned


def known_event_types() -> set[str]:
    """Every registered event type (activity.registry): the names a rule may count."""
    return {event_type.name for event_type in registry.event_types()}


# --- shared reading helpers ------------------------------------------------------------------


def _events(rule: AlertRule, verbs: Iterable[str], since: datetime, until: datetime | None = None):
    events = ActivityEvent.objects.filter(
        organization_id=rule.organization_id, verb__in=list(verbs), created_at__gte=since
    )
    if until is not None:
        events = events.filter(created_at__lte=until)
    if rule.board_id:
        events = events.filter(board_id=rule.board_id)
    return events.order_by("created_at", "id")


def threshold_crossings(times: list[datetime], threshold: int, window: timedelta) -> list[datetime]:
    """Moments a sliding count of `times` within `window` reached `threshold` from below."""
    crossings: list[datetime] = []
    breaching = False
    low = 0
    for index, moment in enumerate(times):
        # Before this event arrives, did the count drop below the threshold (the window slid on)?
        while low < index and times[low] <= moment - window:
            low += 1
        if breaching and index - low < threshold:
            breaching = False
        if not breaching and index - low + 1 >= threshold:
            breaching = True
            crossings.append(moment)
    return crossings


def _within(
    found: list[tuple[str, datetime]], since: datetime, until: datetime
) -> list[tuple[str, datetime]]:
    return [(key, moment) for key, moment in found if since <= moment <= until]


def _threshold(label: str, default: int) -> Param:
    return Param("threshold", label, "int", default=default, minimum=THRESHOLD[0], maximum=THRESHOLD[1])


def _optional(model: str, label: str) -> Param:
    """An optional agent, subscription or webhook of the rule's organization to narrow the rule to."""
    return Param(model, label, "object", model=model, required=False)


def _hours_since(moment: datetime, now: datetime) -> int:
    return int((now - moment).total_seconds() // 3600)


# --- the conditions ----------------------------------------------------------------------------

MINUTES = (1, 7 * 24 * 60)
HOURS = (1, 30 * 24)
WINDOW_MINUTES = (1, 7 * 24 * 60)
THRESHOLD = (1, 100_000)


class AgentOffline(Condition):
    key = "agent_offline"
    label = "Agent offline"
    description = "An active agent has sent no heartbeat (or request) for N minutes."
    params = (
        Param(
            "minutes",
            "Minutes without a heartbeat",
            "int",
            default=10,
            minimum=MINUTES[0],
            maximum=MINUTES[1],
        ),
        Param("only_while_holding_tasks", "Only while it holds unfinished tasks", "bool", default=False),
        _optional("agent", "Agent (empty: every agent)"),
    )
    trigger_verbs = frozenset(
        {"agent.presence_changed", "agent.status_changed", "agent.suspended", "agent.resumed"}
    )
    history_note = "Replays the agents' recorded presence changes; the holding-tasks filter is not replayed."

    def evaluate(self, rule: AlertRule, now: datetime) -> list[Breach]:
        minutes = rule.params["minutes"]
        agents = (
            Agent.objects.filter(organization_id=rule.organization_id, status=AgentStatus.ACTIVE)
            .annotate(
                seen=Coalesce("last_seen_at", "created_at"),
                held=Count(
                    "assigned_tasks", filter=~Q(assigned_tasks__status=TaskStatus.DONE), distinct=True
                ),
            )
            .filter(seen__lt=now - timedelta(minutes=minutes))
        )
        if rule.params.get("agent"):
            agents = agents.filter(pk=rule.params["agent"])
        if rule.board_id:
            agents = agents.filter(boards=rule.board_id)
        if rule.params.get("only_while_holding_tasks"):
            agents = agents.filter(held__gt=0)
        breaches = []
        for agent in agents.only("id", "name", "last_seen_at", "created_at"):
            silent = int((now - agent.seen).total_seconds() // 60)
            holding = (
                f", holding {agent.held} unfinished task{'s' if agent.held != 1 else ''}"
                if agent.held
                else ""
            )
            breaches.append(
                Breach(
                    f"agent:{agent.pk}",
                    agent.name,
                    f"{agent.name} has sent no heartbeat for {silent} minutes{holding}.",
                    board_id=rule.board_id,
                    detail={
                        "agent_id": agent.pk,
                        "last_seen_at": agent.last_seen_at.isoformat() if agent.last_seen_at else None,
                        "held_tasks": agent.held,
                    },
                )
            )
        return breaches

    def episodes(self, rule: AlertRule, since: datetime, until: datetime) -> list[tuple[str, datetime]]:
        delay = timedelta(minutes=rule.params["minutes"]) - timedelta(seconds=settings.AGENT_OFFLINE_SECONDS)
        events = ActivityEvent.objects.filter(
            organization_id=rule.organization_id,
            verb="agent.presence_changed",
            created_at__gte=since - max(delay, timedelta(0)),
            created_at__lte=until,
        ).order_by("created_at", "id")
        if rule.params.get("agent"):
            events = events.filter(target_id=str(rule.params["agent"]))
        offline_since: dict[str, datetime] = {}
        found = []
        for target_id, detail, moment in events.values_list("target_id", "detail", "created_at")[
            :PREVIEW_MAX_EVENTS
        ]:
            presence = (detail or {}).get("presence")
            if presence == "offline":
                offline_since[target_id] = moment
            elif target_id in offline_since:
                start = offline_since.pop(target_id)
                if start + delay < moment:
                    found.append((f"agent:{target_id}", max(start + delay, start)))
        found += [
            (f"agent:{agent}", max(start + delay, start))
            for agent, start in offline_since.items()
            if start + delay <= until
        ]
        return _within(found, since, until)


class TaskInColumn(Condition):
    key = "task_in_column"
    label = "Task stuck in a column"
    description = "A task has stayed in one column (blocked, review, in progress) longer than N hours."
    params = (
        Param(
            "column",
            "Column",
            "choice",
            default=TaskStatus.BLOCKED.value,
            choices=(
                (TaskStatus.BLOCKED.value, "Blocked"),
                (TaskStatus.REVIEW.value, "Review"),
                (TaskStatus.IN_PROGRESS.value, "In progress"),
            ),
        ),
        Param("hours", "Hours in the column", "int", default=24, minimum=HOURS[0], maximum=HOURS[1]),
    )
    trigger_verbs = frozenset({"task.status_changed", "task.deleted"})
    history_note = "Replays the tasks' recorded status changes."

    def evaluate(self, rule: AlertRule, now: datetime) -> list[Breach]:
        column, hours = rule.params["column"], rule.params["hours"]
        entered = (
            ActivityEvent.objects.filter(
                board_id=OuterRef("board_id"),
                target_type="task",
                target_id=Cast(OuterRef("pk"), output_field=CharField()),
                verb="task.status_changed",
            )
            .order_by("-id")
            .values("created_at")[:1]
        )
        tasks = Task.objects.filter(board__organization_id=rule.organization_id, status=column)
        if rule.board_id:
            tasks = tasks.filter(board_id=rule.board_id)
        tasks = tasks.annotate(entered_at=Coalesce(Subquery(entered), "created_at")).filter(
            entered_at__lt=now - timedelta(hours=hours)
        )
        label = TaskStatus(column).label.lower()
        return [
            Breach(
                f"task:{task.pk}",
                task.title,
                f"\u2018{task.title}\u2019 has been in {label} for "
                f"{_hours_since(task.entered_at, now)} hours.",
                board_id=task.board_id,
                detail={"task_id": task.pk, "entered_at": task.entered_at.isoformat()},
            )
            for task in tasks.only("id", "title", "board_id", "created_at")
        ]

    def episodes(self, rule: AlertRule, since: datetime, until: datetime) -> list[tuple[str, datetime]]:
        column, limit = rule.params["column"], timedelta(hours=rule.params["hours"])
        entered: dict[str, datetime] = {}
        found = []
        rows = _events(rule, ["task.status_changed", "task.deleted"], since - limit, until).values_list(
            "target_id", "verb", "detail", "created_at"
        )
        for target_id, verb, detail, moment in rows[:PREVIEW_MAX_EVENTS]:
            start = entered.pop(target_id, None)
            if start is not None and start + limit < moment:
                found.append((f"task:{target_id}", start + limit))
            if verb == "task.status_changed" and (detail or {}).get("to") == column:
                entered[target_id] = moment
        found += [(f"task:{task}", start + limit) for task, start in entered.items()]
        return _within(found, since, until)


class ApprovalWaiting(Condition):
    key = "approval_waiting"
    label = "Approval waiting"
    description = "An approval request has waited for a decision longer than N hours."
    params = (Param("hours", "Hours waiting", "int", default=4, minimum=HOURS[0], maximum=HOURS[1]),)
    trigger_verbs = frozenset({"approval.decided", "task.deleted"})

    def _approvals(self, rule: AlertRule):
        approvals = Approval.objects.filter(task__board__organization_id=rule.organization_id)
        if rule.board_id:
            approvals = approvals.filter(task__board_id=rule.board_id)
        return approvals

    def evaluate(self, rule: AlertRule, now: datetime) -> list[Breach]:
        hours = rule.params["hours"]
        waiting = (
            self._approvals(rule)
            .filter(status=ApprovalStatus.PENDING, created_at__lt=now - timedelta(hours=hours))
            .select_related("task")
        )
        return [
            Breach(
                f"approval:{approval.pk}",
                approval.task.title,
                f"The approval for \u2018{approval.task.title}\u2019 has waited "
                f"{int((now - approval.created_at).total_seconds() // 3600)} hours.",
                board_id=approval.task.board_id,
                detail={"approval_id": approval.pk, "task_id": approval.task_id},
            )
            for approval in waiting
        ]

    def episodes(self, rule: AlertRule, since: datetime, until: datetime) -> list[tuple[str, datetime]]:
        limit = timedelta(hours=rule.params["hours"])
        found = []
        rows = self._approvals(rule).filter(created_at__gte=since - limit, created_at__lte=until)
        for pk, created, decided in rows.values_list("pk", "created_at", "decided_at")[:PREVIEW_MAX_EVENTS]:
            fire = created + limit
            if since <= fire <= until and (decided is None or decided > fire):
                found.append((f"approval:{pk}", fire))
        return found


class DeadLetters(Condition):
    key = "dead_letters"
    label = "Dead letters"
    description = (
        "At least N outbound deliveries to one subscription or agent died (or failed) within the window."
    )
    params = (
        _threshold("Dead letters", 3),
        Param(
            "window_minutes",
            "Window (minutes)",
            "int",
            default=60,
            minimum=WINDOW_MINUTES[0],
            maximum=WINDOW_MINUTES[1],
        ),
        _optional("subscription", "Subscription (empty: any)"),
        _optional("agent", "Agent (empty: any)"),
    )
    trigger_verbs = frozenset({"delivery.dead", "delivery.failed"})

    def _times_by_subject(
        self, rule: AlertRule, since: datetime, until: datetime | None
    ) -> dict[str, list[datetime]]:
        wanted_subscription, wanted_agent = rule.params.get("subscription"), rule.params.get("agent")
        times: dict[str, list[datetime]] = defaultdict(list)
        rows = _events(rule, self.trigger_verbs, since, until).values_list("detail", "created_at")
        for detail, moment in rows[:PREVIEW_MAX_EVENTS]:
            subscription_id, agent_id = (detail or {}).get("subscription_id"), (detail or {}).get("agent_id")
            if wanted_subscription and subscription_id != wanted_subscription:
                continue
            if wanted_agent and agent_id != wanted_agent:
                continue
            if subscription_id:
                times[f"subscription:{subscription_id}"].append(moment)
            elif agent_id:
                times[f"agent:{agent_id}"].append(moment)
        return times

    @staticmethod
    def _names(subjects: Iterable[str]) -> dict[str, str]:
        """ "subscription:3" -> its description or URL, "agent:5" -> the agent's name (one query each)."""
        ids: dict[str, list[int]] = defaultdict(list)
        for subject in subjects:
            kind, _, pk = subject.partition(":")
            ids[kind].append(int(pk))
        names = {}
        for sub in Subscription.objects.filter(pk__in=ids["subscription"]).only("description", "target_url"):
            names[f"subscription:{sub.pk}"] = sub.description or sub.target_url
        for pk, name in Agent.objects.filter(pk__in=ids["agent"]).values_list("pk", "name"):
            names[f"agent:{pk}"] = name
        return names

    def evaluate(self, rule: AlertRule, now: datetime) -> list[Breach]:
        window = rule.params["window_minutes"]
        threshold = rule.params["threshold"]
        breaches = []
        by_subject = self._times_by_subject(rule, now - timedelta(minutes=window), None)
        names = self._names(by_subject)
        for subject, times in by_subject.items():
            if len(times) >= threshold:
                kind, _, pk = subject.partition(":")
                name = names.get(subject, f"{kind.capitalize()} {pk}")
                breaches.append(
                    Breach(
                        subject,
                        name,
                        f"{len(times)} dead letter{'s' if len(times) != 1 else ''} for {name} "
                        f"in the last {window} minutes.",
                        board_id=rule.board_id,
                        detail={"count": len(times), kind + "_id": int(pk)},
                    )
                )
        return breaches

    def episodes(self, rule: AlertRule, since: datetime, until: datetime) -> list[tuple[str, datetime]]:
        window = timedelta(minutes=rule.params["window_minutes"])
        found = []
        for subject, times in self._times_by_subject(rule, since - window, until).items():
            found += [
                (subject, moment)
                for moment in threshold_crossings(times, rule.params["threshold"], window)
                if moment >= since
            ]
        return found


def webhook_label(webhook: BoardWebhook) -> str:
    """A webhook as people know it: its description, else the board it feeds (never "webhook 2")."""
    return webhook.description or f"Webhook of {webhook.board.name}"


def webhook_names(ids: Iterable[int]) -> dict[int, str]:
    webhooks = BoardWebhook.objects.filter(pk__in=list(ids)).select_related("board")
    return {webhook.pk: webhook_label(webhook) for webhook in webhooks.only("description", "board__name")}


class SubscriptionDisabled(Condition):
    key = "subscription_disabled"
    label = "Subscription auto-disabled"
    description = "A subscription was disabled automatically after consecutive dead deliveries."
    params = (_optional("subscription", "Subscription (empty: any)"),)
    trigger_verbs = frozenset({"subscription.auto_disabled", "subscription.updated", "subscription.deleted"})

    def evaluate(self, rule: AlertRule, now: datetime) -> list[Breach]:
        disabled = Subscription.objects.filter(
            organization_id=rule.organization_id,
            enabled=False,
            disabled_reason__startswith="Disabled automatically",
        )
        if rule.board_id:
            disabled = disabled.filter(board_id=rule.board_id)
        if rule.params.get("subscription"):
            disabled = disabled.filter(pk=rule.params["subscription"])
        return [
            Breach(
                f"subscription:{sub.pk}",
                sub.description or sub.target_url,
                f"Subscription {sub.description or sub.target_url} was disabled: {sub.disabled_reason}",
                board_id=sub.board_id,
                detail={"subscription_id": sub.pk},
            )
            for sub in disabled
        ]

    def episodes(self, rule: AlertRule, since: datetime, until: datetime) -> list[tuple[str, datetime]]:
        rows = _events(rule, ["subscription.auto_disabled"], since, until).values_list(
            "target_id", "created_at"
        )
        wanted = rule.params.get("subscription")
        return [
            (f"subscription:{target}", moment)
            for target, moment in rows[:PREVIEW_MAX_EVENTS]
            if not wanted or target == str(wanted)
        ]


class WebhookRefusals(Condition):
    key = "webhook_refusals"
    label = "Inbound webhook refusals"
    description = "At least N requests to one inbound webhook were refused (403, 413, 429) within the window."
    params = (
        _threshold("Refusals", 10),
        Param(
            "window_minutes",
            "Window (minutes)",
            "int",
            default=15,
            minimum=1,
            maximum=refusals.RETENTION_SECONDS // 60 - 60,
        ),
        Param(
            "statuses",
            "Refusal statuses",
            "choices",
            default=list(refusals.REFUSAL_STATUSES),
            choices=((403, "403 bad signature"), (413, "413 too large"), (429, "429 rate limited")),
        ),
        _optional("webhook", "Webhook (empty: every webhook)"),
    )
    history_note = "Refusals are counted for the last 24 hours only."

    def _minutes(
        self, rule: AlertRule, since: datetime, until: datetime
    ) -> dict[int, list[tuple[datetime, int]]]:
        webhooks = BoardWebhook.objects.filter(board__organization_id=rule.organization_id)
        if rule.board_id:
            webhooks = webhooks.filter(board_id=rule.board_id)
        if rule.params.get("webhook"):
            webhooks = webhooks.filter(pk=rule.params["webhook"])
        ids = list(webhooks.values_list("pk", flat=True))
        return refusals.refusal_counts(ids, statuses=rule.params["statuses"], since=since, until=until)

    def evaluate(self, rule: AlertRule, now: datetime) -> list[Breach]:
        window = rule.params["window_minutes"]
        # Minute buckets: the window covers the current minute and the window-1 before it.
        since = now - timedelta(minutes=window - 1)
        breaches = []
        counts = self._minutes(rule, since, now)
        names = webhook_names(counts)
        for webhook_id, minutes in counts.items():
            total = sum(count for _, count in minutes)
            if total >= rule.params["threshold"]:
                name = names.get(webhook_id, f"Webhook {webhook_id}")
                breaches.append(
                    Breach(
                        f"webhook:{webhook_id}",
                        name,
                        f"\u2018{name}\u2019 refused {total} requests in the last {window} minutes.",
                        board_id=rule.board_id,
                        detail={"webhook_id": webhook_id, "count": total},
                    )
                )
        return breaches

    def episodes(self, rule: AlertRule, since: datetime, until: datetime) -> list[tuple[str, datetime]]:
        window = timedelta(minutes=rule.params["window_minutes"])
        oldest = until - timedelta(seconds=refusals.RETENTION_SECONDS)
        found = []
        for webhook_id, minutes in self._minutes(rule, max(since, oldest) - window, until).items():
            # Expand the per-minute counts into one moment per refusal, capped for the preview.
            times = [moment for moment, count in minutes for _ in range(min(count, rule.params["threshold"]))]
            found += [
                (f"webhook:{webhook_id}", moment)
                for moment in threshold_crossings(times, rule.params["threshold"], window)
                if moment >= since
            ]
        return found


class WebhookSilence(Condition):
    key = "webhook_silence"
    label = "Webhook silent"
    description = (
        "A webhook that usually gets traffic (at least M payloads in the week before) has "
        "received nothing for N hours."
    )
    params = (
        Param("hours", "Hours of silence", "int", default=6, minimum=HOURS[0], maximum=7 * 24),
        Param(
            "usual_per_week",
            "Usual traffic: payloads in the week before",
            "int",
            default=10,
            minimum=1,
            maximum=THRESHOLD[1],
        ),
        _optional("webhook", "Webhook (empty: every webhook)"),
    )
    trigger_verbs = frozenset({"webhook.received"})
    history_note = "Replays stored payloads; the usual-traffic test is not replayed."

    def _webhooks(self, rule: AlertRule):
        webhooks = BoardWebhook.objects.filter(board__organization_id=rule.organization_id, enabled=True)
        if rule.board_id:
            webhooks = webhooks.filter(board_id=rule.board_id)
        if rule.params.get("webhook"):
            webhooks = webhooks.filter(pk=rule.params["webhook"])
        return webhooks

    def evaluate(self, rule: AlertRule, now: datetime) -> list[Breach]:
        quiet_since = now - timedelta(hours=rule.params["hours"])
        webhooks = (
            self._webhooks(rule)
            .select_related("board")
            .annotate(
                last_payload=Max("payloads__received_at"),
                usual=Count(
                    "payloads",
                    filter=Q(
                        payloads__received_at__gte=quiet_since - timedelta(days=7),
                        payloads__received_at__lt=quiet_since,
                    ),
                ),
            )
            .filter(usual__gte=rule.params["usual_per_week"], last_payload__lt=quiet_since)
        )
        return [
            Breach(
                f"webhook:{webhook.pk}",
                webhook_label(webhook),
                f"\u2018{webhook_label(webhook)}\u2019 has received nothing for {rule.params['hours']} hours "
                f"(usually {webhook.usual} a week).",
                board_id=webhook.board_id,
                detail={"webhook_id": webhook.pk, "last_payload_at": webhook.last_payload.isoformat()},
            )
            for webhook in webhooks
        ]

    def episodes(self, rule: AlertRule, since: datetime, until: datetime) -> list[tuple[str, datetime]]:
        gap = timedelta(hours=rule.params["hours"])
        rows = WebhookPayload.objects.filter(
            webhook__in=self._webhooks(rule), received_at__gte=since - gap, received_at__lte=until
        ).order_by("received_at")
        last: dict[int, datetime] = {}
        found = []
        for webhook_id, moment in rows.values_list("webhook_id", "received_at")[:PREVIEW_MAX_EVENTS]:
            previous = last.get(webhook_id)
            if previous is not None and moment - previous > gap:
                found.append((f"webhook:{webhook_id}", previous + gap))
            last[webhook_id] = moment
        found += [(f"webhook:{webhook_id}", previous + gap) for webhook_id, previous in last.items()]
        return _within(found, since, until)


class GatewayUnreachable(Condition):
    """An enabled gateway the supervisor has not been connected to for N minutes: unreachable,
    refused (bad token, protocol), or never connected since it was added. The incident is named
    by the gateway and resolves when the supervisor records it connected again."""

    key = "gateway_unreachable"
    label = "Gateway unreachable"
    description = "An OpenClaw gateway has been unreachable (or refused the connection) for N minutes."
    params = (
        Param("minutes", "Minutes unreachable", "int", default=5, minimum=MINUTES[0], maximum=MINUTES[1]),
        _optional("gateway", "Gateway (empty: every gateway)"),
    )
    trigger_verbs = frozenset(
        {
            "gateway.connected",
            "gateway.unreachable",
            "gateway.refused",
            "gateway.updated",
            "gateway.deleted",
        }
    )
    history_note = "Replays the gateways' recorded outages (unreachable or refused until connected)."
    DOWN = (GatewayStatus.DISCONNECTED, GatewayStatus.REFUSED, GatewayStatus.NEW)

    def evaluate(self, rule: AlertRule, now: datetime) -> list[Breach]:
        minutes = rule.params["minutes"]
        # Gateways belong to the organization, not to a board: a board's rule watches them all.
        gateways = (
            Gateway.objects.supervised()
            # A "connected" gateway not seen for N minutes counts too: its ticks stopped reaching
            # the supervisor, or the supervisor (run_gateways) is not running at all.
            .filter(organization_id=rule.organization_id, status__in=(*self.DOWN, GatewayStatus.CONNECTED))
            .annotate(down_since=Coalesce("last_seen_at", "created_at"))
            .filter(down_since__lt=now - timedelta(minutes=minutes))
        )
        if rule.params.get("gateway"):
            gateways = gateways.filter(pk=rule.params["gateway"])
        breaches = []
        for gateway in gateways:
            down = int((now - gateway.down_since).total_seconds() // 60)
            state = {
                GatewayStatus.REFUSED: "refused the connection",
                GatewayStatus.CONNECTED: "not been heard from (is run_gateways running?)",
            }.get(gateway.status, "been unreachable")
            reason = f" ({gateway.last_error_code})" if gateway.last_error_code else ""
            breaches.append(
                Breach(
                    f"gateway:{gateway.pk}",
                    f"Gateway {gateway.name}",
                    f"The gateway {gateway.name} has {state} for {down} minutes{reason}.",
                    detail={
                        "gateway_id": gateway.pk,
                        "status": gateway.status,
                        "error_code": gateway.last_error_code,
                        "last_seen_at": gateway.last_seen_at.isoformat() if gateway.last_seen_at else None,
                    },
                )
            )
        return breaches

    def episodes(self, rule: AlertRule, since: datetime, until: datetime) -> list[tuple[str, datetime]]:
        delay = timedelta(minutes=rule.params["minutes"])
        events = ActivityEvent.objects.filter(
            organization_id=rule.organization_id,
            verb__in=["gateway.unreachable", "gateway.refused", "gateway.connected"],
            created_at__gte=since - delay,
            created_at__lte=until,
        ).order_by("created_at", "id")
        if rule.params.get("gateway"):
            events = events.filter(target_id=str(rule.params["gateway"]))
        down_since: dict[str, datetime] = {}
        found = []
        for target_id, verb, moment in events.values_list("target_id", "verb", "created_at")[
            :PREVIEW_MAX_EVENTS
        ]:
            if verb != "gateway.connected":
                down_since.setdefault(target_id, moment)
            elif target_id in down_since:
                start = down_since.pop(target_id)
                if start + delay < moment:
                    found.append((f"gateway:{target_id}", start + delay))
        found += [(f"gateway:{target}", start + delay) for target, start in down_since.items()]
        return _within(found, since, until)


class UsageOverBudget(Condition):
    """A budget's current period past 80 % or 100 % of its limit (usage.selectors). Evaluated after
    every usage report and by the sweep, which notices a new period starting (the breach resolves)."""

    key = "usage_over_budget"
    label = "Usage over budget"
    description = "What an organization, board or agent spent this day or month passes a share of its budget."
    params = (
        Param("budget", "Budget", "object", model="budget", help="Set budgets on the usage page."),
        Param(
            "percent",
            "Alert at",
            "choice",
            default=100,
            choices=((80, "80 % of the limit"), (100, "100 % of the limit")),
        ),
    )
    trigger_verbs = frozenset({"usage.reported", "usage.budget_crossed"})
    history_note = "Past crossings are those recorded by the budget (80 % and 100 %)."

    def evaluate(self, rule: AlertRule, now: datetime) -> list[Breach]:
        budget = Budget.objects.filter(
            pk=rule.params["budget"], organization_id=rule.organization_id
        ).select_related("board", "agent")
        statuses = usage_selectors.budget_statuses(rule.organization_id, budgets=budget, today=now.date())
        if not statuses or statuses[0].percent < rule.params["percent"]:
            return []
        status = statuses[0]
        return [
            Breach(
                f"budget:{status.budget.pk}:{status.period_start.isoformat()}",
                f"Budget of {status.target} ({status.period_label})",
                status.sentence,
                board_id=status.budget.board_id,
                detail={"percent": status.percent, "spent": str(status.spent), "limit": str(status.limit)},
            )
        ]

    def episodes(self, rule: AlertRule, since: datetime, until: datetime) -> list[tuple[str, datetime]]:
        crossings = BudgetCrossing.objects.filter(
            budget_id=rule.params["budget"],
            budget__organization_id=rule.organization_id,
            threshold__gte=rule.params["percent"],
            crossed_at__gte=since,
            crossed_at__lte=until,
        ).order_by("crossed_at")
        first_per_period: dict[str, datetime] = {}
        for crossing in crossings:
            subject = f"budget:{crossing.budget_id}:{crossing.period_start.isoformat()}"
            first_per_period.setdefault(subject, crossing.crossed_at)
        return list(first_per_period.items())


class EventsMatching(Condition):
    key = "events_matching"
    label = "Events matching"
    description = "At least N events of the chosen types within the window (optionally one board, one agent)."
    params = (
        Param("event_types", "Event types", "event_types", help="e.g. task.status_changed, comment.added"),
        _threshold("Events", 5),
        Param(
            "window_minutes",
            "Window (minutes)",
            "int",
            default=60,
            minimum=WINDOW_MINUTES[0],
            maximum=WINDOW_MINUTES[1],
        ),
        Param(
            "agent",
            "Agent (empty: any)",
            "object",
            model="agent",
            required=False,
            help="Events the agent did or that are about it.",
        ),
    )

    def triggers(self, params: dict[str, Any]) -> frozenset[str]:
        return frozenset(params.get("event_types") or ())

    def _times(self, rule: AlertRule, since: datetime, until: datetime | None) -> list[datetime]:
        events = _events(rule, rule.params["event_types"], since, until)
        agent = rule.params.get("agent")
        if agent:
            events = events.filter(Q(actor_agent_id=agent) | Q(target_type="agent", target_id=str(agent)))
        return list(events.values_list("created_at", flat=True)[:PREVIEW_MAX_EVENTS])

    def evaluate(self, rule: AlertRule, now: datetime) -> list[Breach]:
        window = rule.params["window_minutes"]
        count = len(self._times(rule, now - timedelta(minutes=window), None))
        if count < rule.params["threshold"]:
            return []
        types = ", ".join(rule.params["event_types"])
        return [
            Breach(
                "events",
                rule.name,
                f"{count} events ({types}) in the last {window} minutes.",
                board_id=rule.board_id,
                detail={"count": count},
            )
        ]

    def episodes(self, rule: AlertRule, since: datetime, until: datetime) -> list[tuple[str, datetime]]:
        window = timedelta(minutes=rule.params["window_minutes"])
        times = self._times(rule, since - window, until)
        return [
            ("events", moment)
            for moment in threshold_crossings(times, rule.params["threshold"], window)
            if moment >= since
        ]


for _condition in (
    AgentOffline(),
    TaskInColumn(),
    ApprovalWaiting(),
    DeadLetters(),
    SubscriptionDisabled(),
    WebhookRefusals(),
    WebhookSilence(),
    UsageOverBudget(),
    GatewayUnreachable(),
    EventsMatching(),
):
    register_condition(_condition)


# --- preview -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    fired: int
    suppressed: int
    subjects: int
    days: int
    note: str


def apply_cooldown(episodes: list[tuple[str, datetime]], cooldown: timedelta) -> tuple[int, int]:
    """(fired, suppressed): what the engine's cooldown would have made of these breaches."""
    last: dict[str, datetime] = {}
    fired = suppressed = 0
    for subject, moment in sorted(episodes, key=lambda item: item[1]):
        previous = last.get(subject)
        if previous is not None and moment < previous + cooldown:
            suppressed += 1
            continue
        last[subject] = moment
        fired += 1
    return fired, suppressed


def preview(rule: AlertRule, now: datetime, *, days: int = 7) -> Preview:
    """How often `rule` (saved or not) would have fired in the last `days`, from history."""
    condition = get_condition(rule.condition)
    episodes = condition.episodes(rule, now - timedelta(days=days), now)
    fired, suppressed = apply_cooldown(episodes, timedelta(minutes=rule.cooldown_minutes))
    return Preview(
        fired=fired,
        suppressed=suppressed,
        subjects=len({s for s, _ in episodes}),
        days=days,
        note=condition.history_note,
    )


def boards_for(organization_id: int):
    return Board.objects.filter(organization_id=organization_id, archived=False)
