"""The rule engine's pure half: which rule matches a payload and what it would do.

Nothing here writes. The worker (services.apply_rules) and the dry run (services.dry_run_rules)
both start from `evaluate`, so a dry run shows exactly what applying would do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model

from agents.models import Agent
from boards.models import Task, TaskPriority, TaskStatus
from core.models import Membership
from webhook_rules.expressions import as_text, is_truthy, render_template, search
from webhook_rules.models import RuleAction, RuleMappings, WebhookRule
from webhooks.models import WebhookPayload

# The headers a sender names its event in, in order of preference.
EVENT_HEADERS = ("x-github-event", "x-gitlab-event", "x-event-type")
TASK_ACTIONS = frozenset(
    {
        RuleAction.CREATE_TASK,
        RuleAction.UPDATE_TASK,
        RuleAction.COMMENT,
        RuleAction.CLOSE_TASK,
        RuleAction.REOPEN_TASK,
    }
)
PRIORITY_ORDER = [TaskPriority.LOW, TaskPriority.MEDIUM, TaskPriority.HIGH, TaskPriority.URGENT]
MAX_TITLE_LENGTH = 200
MAX_EXTERNAL_ID_LENGTH = 200
MAX_TAGS = 20
MAX_TAG_LENGTH = 40
UNSET = object()


def event_name(payload: WebhookPayload) -> str:
    for header in EVENT_HEADERS:
        value = (payload.headers or {}).get(header)
        if value:
            return str(value).strip().lower()
    return ""


def rule_events(rule: WebhookRule) -> list[str]:
    return [name.strip().lower() for name in rule.events.split(",") if name.strip()]


@dataclass
class Assignee:
    """Who a sender's login maps to; both None means "nobody" (the sender unassigned it)."""

    label: str
    user: Any = None
    agent: Agent | None = None


@dataclass
class RulePlan:
    """What one matching rule would do with one payload."""

    rule: WebhookRule
    action: str
    external_id: str = ""
    source_url: str = ""
    title: str = ""
    description: str = ""
    comment: str = ""
    priority: str = ""
    status: str = ""
    tag_names: list[str] | None = None
    assignee: Assignee | None = None
    notes: list[str] = field(default_factory=list)
    task: Task | None = None  # the task with that external id, when there is one

    def as_dict(self) -> dict[str, Any]:
        """For the dry run, the outcome's detail and the API."""
        return {
            "rule_id": self.rule.pk,
            "rule": self.rule.name,
            "action": self.action,
            "action_label": RuleAction(self.action).label,
            "external_id": self.external_id,
            "source_url": self.source_url,
            "title": self.title,
            "description": self.description,
            "comment": self.comment,
            "priority": self.priority,
            "status": self.status,
            "tags": self.tag_names,
            "assignee": None if self.assignee is None else (self.assignee.label or "nobody"),
            "notes": self.notes,
            "task": None
            if self.task is None
            else {
                "id": self.task.pk,
                "title": self.task.title,
                "status": self.task.status,
            },
        }


@dataclass
class Evaluation:
    """Every rule's verdict in order, and the plan of the first one that matched."""

    checked: list[dict[str, Any]]
    plan: RulePlan | None

    def as_dict(self) -> dict[str, Any]:
        return {"rules": self.checked, "matched": None if self.plan is None else self.plan.as_dict()}


def evaluate(
    *, payload: WebhookPayload, rules: list[WebhookRule], mappings: RuleMappings | None
) -> Evaluation:
    """Rules in order; the first enabled one whose event and condition match wins."""
    document = payload.payload if payload.payload is not None else {}
    event = event_name(payload)
    checked: list[dict[str, Any]] = []
    for rule in rules:
        verdict = {"rule_id": rule.pk, "rule": rule.name, "matched": False, "reason": ""}
        checked.append(verdict)
        if not rule.enabled:
            verdict["reason"] = "disabled"
            continue
        events = rule_events(rule)
        if events and event not in events:
            verdict["reason"] = f"event “{event or 'none'}” is not {', '.join(events)}"
            continue
        if rule.condition.strip() and not is_truthy(search(rule.condition, document)):
            verdict["reason"] = "condition is false"
            continue
        verdict["matched"] = True
        return Evaluation(checked=checked, plan=plan_rule(rule, payload, document, mappings))
    return Evaluation(checked=checked, plan=None)


def plan_rule(
    rule: WebhookRule, payload: WebhookPayload, document: Any, mappings: RuleMappings | None
) -> RulePlan:
    plan = RulePlan(rule=rule, action=rule.action)
    plan.comment = render_template(rule.comment_template, document).strip()
    if rule.action not in TASK_ACTIONS:
        return plan
    labels = (mappings.labels if mappings else None) or {}
    logins = (mappings.logins if mappings else None) or {}
    plan.external_id = " ".join(render_template(rule.external_id_template, document).split())[
        :MAX_EXTERNAL_ID_LENGTH
    ]
    source_url = render_template(rule.source_url_template, document, limit=500).strip()
    # Only web links: the card renders it as an href, and a sender chooses its value.
    if source_url.startswith(("https://", "http://")):
        plan.source_url = source_url
    elif source_url:
        plan.notes.append("the source URL is not an http(s) link; left out")
    plan.title = " ".join(render_template(rule.title_template, document).split())[:MAX_TITLE_LENGTH]
    plan.description = render_template(rule.description_template, document).strip()
    plan.priority = rule.priority
    plan.status = rule.status
    if rule.tags_expression.strip():
        plan.tag_names, label_priority = _map_labels(search(rule.tags_expression, document), labels)
        if label_priority and (
            not plan.priority or PRIORITY_ORDER.index(label_priority) > PRIORITY_ORDER.index(plan.priority)
        ):
            plan.priority = label_priority
    if rule.assignee_expression.strip():
        plan.assignee = _map_login(search(rule.assignee_expression, document), logins, payload, plan.notes)
    if plan.external_id:
        plan.task = Task.objects.filter(board_id=payload.board_id, external_id=plan.external_id).first()
    return plan


def _map_labels(value: Any, labels: dict[str, Any]) -> tuple[list[str], str]:
    """Sender labels -> (tag names, highest mapped priority). Unlisted labels keep their name;
    a label mapped to an empty tag only sets the priority."""
    names = value if isinstance(value, list) else ([] if value is None else [value])
    tags: list[str] = []
    priority = ""
    for name in names:
        label = as_text(name).strip()
        if not label:
            continue
        entry = labels.get(label) or {}
        tag = entry.get("tag", label) if isinstance(entry, dict) else label
        mapped_priority = entry.get("priority", "") if isinstance(entry, dict) else ""
        if mapped_priority in PRIORITY_ORDER and (
            not priority or PRIORITY_ORDER.index(mapped_priority) > PRIORITY_ORDER.index(priority)
        ):
            priority = mapped_priority
        tag = " ".join(str(tag).split())[:MAX_TAG_LENGTH]
        if tag and tag.lower() not in {t.lower() for t in tags}:
            tags.append(tag)
    return tags[:MAX_TAGS], priority


def _map_login(
    value: Any, logins: dict[str, str], payload: WebhookPayload, notes: list[str]
) -> Assignee | None:
    """A sender login -> a member or an agent of the board's organization, through the table.

    null (nobody assigned) clears the assignee; a login missing from the table, or mapped to
    someone who is not there, leaves the assignee as it is and says so in the notes.
    """
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return Assignee(label="")
    login = as_text(value).strip()
    target = logins.get(login)
    if not target:
        notes.append(f"login “{login}” is not in the login table; assignee unchanged")
        return None
    kind, _, name = str(target).partition(":")
    organization_id = payload.board.organization_id
    if kind == "agent":
        agent = Agent.objects.filter(organization_id=organization_id, name=name).first()
        if agent is not None:
            return Assignee(label=f"agent {agent.name}", agent=agent)
    elif kind == "user":
        member = (
            Membership.objects.filter(organization_id=organization_id, user__username=name)
            .select_related("user")
            .first()
        )
        if member is not None:
            return Assignee(label=member.user.get_username(), user=member.user)
    notes.append(f"login “{login}” maps to {target}, who is not in this organization; assignee unchanged")
    return None


def resolve_mapping_target(organization_id: int, target: str) -> bool:
    """Whether "user:<username>" or "agent:<name>" names someone of the organization."""
    kind, _, name = target.partition(":")
    if kind == "agent":
        return Agent.objects.filter(organization_id=organization_id, name=name).exists()
    if kind == "user":
        return (
            get_user_model()
            .objects.filter(username=name, memberships__organization_id=organization_id)
            .exists()
        )
    return False


def target_status(plan: RulePlan) -> str:
    """The column the task should end in, or "" to leave it."""
    if plan.action == RuleAction.CLOSE_TASK:
        return TaskStatus.DONE
    if plan.action == RuleAction.REOPEN_TASK:
        return TaskStatus.INBOX if plan.task is None or plan.task.status == TaskStatus.DONE else ""
    if (
        plan.action == RuleAction.CREATE_TASK
        and plan.task is not None
        and plan.task.status == TaskStatus.DONE
    ):
        return plan.status or TaskStatus.INBOX  # the thing is open again (an alert firing anew)
    return plan.status
