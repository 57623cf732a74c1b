"""Writes of webhook rules: managing rules, mapping tables and presets; applying rules to payloads.

Applying runs in the worker (tasks.apply_webhook_rules), never in the ingest request. Each
payload gets outcome rows saying which rule matched and what it did, or why none did. Events
about one external id apply in arrival order even with several workers: the task row is locked
(select_for_update) and a payload older than the newest one already applied to that task is
skipped as stale, so "closed" then "reopened" never ends closed whichever worker runs first.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from activity.services import record_activity, update_and_record
from automations import engine
from automations.models import OutcomeStatus as ActionStatus
from automations.models import SourceKind
from boards.models import Task, TaskPriority, TaskStatus
from core.access import require_role
from core.actors import Actor, ActorKind
from core.models import Role
from infra.exceptions import DomainError, PermissionDenied
from webhook_rules import presets
from webhook_rules.expressions import check_expression, check_template
from webhook_rules.models import (
    RULE_EDITABLE_FIELDS,
    OutcomeStatus,
    PayloadRuleOutcome,
    RuleAction,
    RuleMappings,
    WebhookRule,
)
from webhook_rules.rules import (
    TASK_ACTIONS,
    Evaluation,
    RulePlan,
    evaluate,
    resolve_mapping_target,
    target_status,
)
from webhook_rules.tasks import apply_webhook_rules
from webhooks.models import BoardWebhook, WebhookPayload
from webhooks.services import agents_to_notify

# The sweeper's window: payloads whose enqueue was lost (broker down at ingest, a message
# dropped) get their rules this long after arrival, and are looked for this far back.
UNAPPLIED_GRACE_SECONDS = 120
UNAPPLIED_WINDOW_SECONDS = 24 * 3600
UNAPPLIED_BATCH = 500

logger = logging.getLogger(__name__)

MAX_RULES_PER_WEBHOOK = 50
MAX_MAPPING_ENTRIES = 500
MAX_ATTEMPTS = 2  # the first try and one retry
RULE_FIELDS = frozenset(RULE_EDITABLE_FIELDS)
EXPRESSION_FIELDS = ("condition", "tags_expression", "assignee_expression")
TEMPLATE_FIELDS = (
    "external_id_template",
    "source_url_template",
    "title_template",
    "description_template",
    "comment_template",
)
FIELD_LIMITS = {
    "name": 100,
    "events": 200,
    "condition": 1000,
    "external_id_template": 300,
    "source_url_template": 300,
    "title_template": 300,
    "description_template": 5000,
    "comment_template": 5000,
    "tags_expression": 300,
    "assignee_expression": 300,
}
# What counts as "this payload was applied to the task" for the sequence check.
SEQUENCED = (OutcomeStatus.APPLIED, OutcomeStatus.UNCHANGED)


# --- permissions and validation ------------------------------------------------------------------


def require_rule_admin(actor: Actor, webhook: BoardWebhook) -> None:
    """Rules act with the webhook's authority on the board: admins set them, like the webhook."""
    if actor.kind == ActorKind.SYSTEM:
        return
    if actor.user is None:
        raise PermissionDenied("Only organization admins manage webhook rules.")
    require_role(user=actor.user, organization=webhook.board.organization_id, role=Role.ADMIN)


def validate_rule_fields(fields: dict[str, Any]) -> None:
    """Every field of a rule as it will be saved; expressions and templates refused with their
    position."""
    unknown = set(fields) - RULE_FIELDS
    if unknown:
        raise DomainError(f"Unknown rule fields: {', '.join(sorted(unknown))}.")
    for name, limit in FIELD_LIMITS.items():
        if len(fields.get(name) or "") > limit:
            raise DomainError(f"{name} is longer than {limit} characters.", code="too_long")
    if not (fields.get("name") or "").strip():
        raise DomainError("A rule needs a name.", code="name_required")
    if fields.get("action") not in RuleAction.values:
        raise DomainError(f"Unknown action “{fields.get('action')}”.", code="invalid_action")
    if fields.get("priority") and fields["priority"] not in TaskPriority.values:
        raise DomainError(f"Unknown priority “{fields['priority']}”.", code="invalid_priority")
    if fields.get("status") and fields["status"] not in TaskStatus.values:
        raise DomainError(f"Unknown status “{fields['status']}”.", code="invalid_status")
    for name in EXPRESSION_FIELDS:
        check_expression(name, fields.get(name) or "")
    for name in TEMPLATE_FIELDS:
        check_template(name, fields.get(name) or "")
    if fields["action"] in TASK_ACTIONS and not (fields.get("external_id_template") or "").strip():
        raise DomainError(
            "Task actions need an external id template (e.g. ${repository.full_name}#${issue.number}), "
            "so one outside item never makes two tasks.",
            code="external_id_required",
        )
    if fields["action"] == RuleAction.COMMENT and not (fields.get("comment_template") or "").strip():
        raise DomainError("A comment rule needs a comment template.", code="comment_required")


def _rule_values(rule: WebhookRule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in RULE_FIELDS}


# --- managing rules ----------------------------------------------------------------------------------


@transaction.atomic
def create_rule(*, webhook: BoardWebhook, actor: Actor, **fields: Any) -> WebhookRule:
    """Add a rule at the end of the webhook's list (or at `position`)."""
    require_rule_admin(actor, webhook)
    rule = _insert_rule(webhook, fields)
    _record(actor, webhook, "webhook_rule.created", rule, {"name": rule.name, "action": rule.action})
    return rule


def _insert_rule(webhook: BoardWebhook, fields: dict[str, Any]) -> WebhookRule:
    # Locked so two concurrent creates cannot both pass the count and take the same position.
    BoardWebhook.objects.select_for_update().filter(pk=webhook.pk).first()
    existing = WebhookRule.objects.filter(webhook=webhook)
    if existing.count() >= MAX_RULES_PER_WEBHOOK:
        raise DomainError(f"A webhook has at most {MAX_RULES_PER_WEBHOOK} rules.", code="too_many_rules")
    values = {**_rule_values(WebhookRule(enabled=True)), **fields}
    if "position" not in fields:
        values["position"] = (existing.aggregate(m=Max("position"))["m"] or 0) + 1
    validate_rule_fields(values)
    return WebhookRule.objects.create(webhook=webhook, **values)


@transaction.atomic
def update_rule(*, rule: WebhookRule, actor: Actor, **changes: Any) -> WebhookRule:
    rule = WebhookRule.objects.select_for_update().select_related("webhook__board").get(pk=rule.pk)
    require_rule_admin(actor, rule.webhook)
    values = {**_rule_values(rule), **changes}
    validate_rule_fields(values)
    webhook = rule.webhook
    update_and_record(
        rule,
        changes=changes,
        actor=actor,
        verb="webhook_rule.updated",
        organization=webhook.board.organization_id,
        board=webhook.board_id,
        detail=lambda changed: {
            "webhook_id": webhook.pk,
            "webhook": str(webhook)[:200],
            "name": rule.name,
            "fields": sorted(changed),
        },
    )
    return rule


@transaction.atomic
def delete_rule(*, rule: WebhookRule, actor: Actor) -> None:
    webhook = rule.webhook
    require_rule_admin(actor, webhook)
    _record(actor, webhook, "webhook_rule.deleted", None, {"name": rule.name, "rule_id": rule.pk})
    rule.delete()


def _clean_labels(labels: Any) -> dict[str, dict[str, str]]:
    if not isinstance(labels, dict) or len(labels) > MAX_MAPPING_ENTRIES:
        raise DomainError(f"The label table is an object of at most {MAX_MAPPING_ENTRIES} labels.")
    cleaned: dict[str, dict[str, str]] = {}
    for label, entry in labels.items():
        entry = entry if isinstance(entry, dict) else {}
        tag = " ".join(str(entry.get("tag", label)).split())
        priority = str(entry.get("priority", "") or "")
        if not str(label).strip() or len(str(label)) > 100 or len(tag) > 40:
            raise DomainError(f"Label “{str(label)[:100]}”: labels are 1 to 100 characters, tags at most 40.")
        if priority and priority not in TaskPriority.values:
            raise DomainError(f"Label “{label}”: unknown priority “{priority}”.", code="invalid_priority")
        cleaned[str(label).strip()] = {"tag": tag, **({"priority": priority} if priority else {})}
    return cleaned


def _clean_logins(logins: Any, organization_id: int) -> dict[str, str]:
    if not isinstance(logins, dict) or len(logins) > MAX_MAPPING_ENTRIES:
        raise DomainError(f"The login table is an object of at most {MAX_MAPPING_ENTRIES} logins.")
    cleaned: dict[str, str] = {}
    for login, target in logins.items():
        target = str(target).strip()
        if not str(login).strip() or len(str(login)) > 100:
            raise DomainError("Logins are 1 to 100 characters.")
        if not resolve_mapping_target(organization_id, target):
            raise DomainError(
                f"Login “{login}”: “{target[:100]}” is not user:<username> or agent:<name> of this "
                "organization.",
                code="unknown_assignee",
            )
        cleaned[str(login).strip()] = target
    return cleaned


@transaction.atomic
def set_rule_mappings(
    *, webhook: BoardWebhook, actor: Actor, labels: Any = None, logins: Any = None
) -> RuleMappings:
    """Replace the label table and/or the login table (None keeps a table as it is)."""
    require_rule_admin(actor, webhook)
    mappings, _ = RuleMappings.objects.select_for_update().get_or_create(webhook=webhook)
    changed = []
    if labels is not None:
        mappings.labels = _clean_labels(labels)
        changed.append("labels")
    if logins is not None:
        mappings.logins = _clean_logins(logins, webhook.board.organization_id)
        changed.append("logins")
    if changed:
        mappings.save()
        _record(
            actor,
            webhook,
            "webhook_rule.mappings_changed",
            None,
            {"tables": changed, "labels": len(mappings.labels), "logins": len(mappings.logins)},
        )
    return mappings


@transaction.atomic
def apply_preset(*, webhook: BoardWebhook, actor: Actor, preset: str) -> list[WebhookRule]:
    """Append a preset's rules and merge its label entries (labels already set are kept)."""
    chosen = presets.PRESETS.get(preset)
    if chosen is None:
        raise DomainError(f"Unknown preset “{preset}”.", code="unknown_preset")
    require_rule_admin(actor, webhook)
    # One event for the whole preset, not one per rule: the board feed is for people.
    rules = [_insert_rule(webhook, fields) for fields in chosen.rules]
    if chosen.labels:
        mappings, _ = RuleMappings.objects.select_for_update().get_or_create(webhook=webhook)
        mappings.labels = _clean_labels({**chosen.labels, **mappings.labels})
        mappings.save()
    _record(actor, webhook, "webhook_rule.preset_applied", None, {"preset": chosen.key, "rules": len(rules)})
    return rules


def _record(actor: Actor, webhook: BoardWebhook, verb: str, rule: WebhookRule | None, detail: dict) -> None:
    record_activity(
        organization=webhook.board.organization_id,
        board=webhook.board_id,
        actor=actor,
        verb=verb,
        target=rule if rule is not None else webhook,
        detail={"webhook_id": webhook.pk, "webhook": str(webhook)[:200], **detail},
    )


def _record_on_payload(
    payload: WebhookPayload, actor: Actor, verb: str, detail: dict, *, notify_agent_ids=()
) -> None:
    record_activity(
        organization=payload.board.organization_id,
        board=payload.board_id,
        actor=actor,
        verb=verb,
        target=payload,
        target_type="webhookpayload",
        detail={"payload_id": payload.pk, "webhook_id": payload.webhook_id, **detail},
        notify_agent_ids=notify_agent_ids,
    )


# --- evaluating ---------------------------------------------------------------------------------------


def _rules_for(webhook_id: int) -> list[WebhookRule]:
    return list(WebhookRule.objects.filter(webhook_id=webhook_id).order_by("position", "id"))


def _evaluate(payload: WebhookPayload) -> Evaluation:
    mappings = RuleMappings.objects.filter(webhook_id=payload.webhook_id).first()
    return evaluate(payload=payload, rules=_rules_for(payload.webhook_id), mappings=mappings)


def dry_run_rules(*, payload: WebhookPayload, actor: Actor) -> dict[str, Any]:
    """What applying the rules to this stored payload would do, without writing anything."""
    if actor.user is not None:
        require_role(user=actor.user, organization=payload.board.organization_id, role=Role.VIEWER)
    result = _evaluate(payload).as_dict()
    result["payload_id"] = payload.pk
    return result


def apply_rules(*, payload_id: int, attempt: int = 1) -> PayloadRuleOutcome | None:
    """The worker's job for one payload: evaluate, apply the matching rule, record the outcome.

    A failure is recorded as a `failed` outcome in its own transaction (the change itself is
    rolled back) and returned, so the task can schedule the one retry.
    """
    payload = (
        WebhookPayload.objects.select_related("webhook__board__organization", "board")
        .filter(pk=payload_id)
        .first()
    )
    if payload is None:
        return None  # pruned or deleted meanwhile: nothing to apply it to
    evaluation: Evaluation | None = None
    try:
        evaluation = _evaluate(payload)
        if evaluation.plan is None:
            if not evaluation.checked:
                return None  # the webhook has no rules (they were deleted after ingest)
            return PayloadRuleOutcome.objects.create(
                payload=payload,
                status=OutcomeStatus.NO_MATCH,
                attempt=attempt,
                message="No rule matched.",
                detail={"rules": evaluation.checked},
            )
        with transaction.atomic():
            return _apply_plan(evaluation.plan, payload, attempt)
    except Exception as exc:
        logger.warning(
            "webhook rules: payload %s failed on attempt %s: %s",
            payload.pk,
            attempt,
            type(exc).__name__,
            exc_info=not isinstance(exc, DomainError),
        )
        message = exc.message if isinstance(exc, DomainError) else f"Unexpected error ({type(exc).__name__})."
        plan = evaluation.plan if evaluation is not None else None
        with transaction.atomic():
            outcome = PayloadRuleOutcome.objects.create(
                payload=payload,
                status=OutcomeStatus.FAILED,
                attempt=attempt,
                message=message[:500],
                rule=plan.rule if plan else None,
                rule_name=plan.rule.name if plan else "",
                action=plan.action if plan else "",
                external_id=plan.external_id if plan else "",
                detail={"will_retry": attempt < MAX_ATTEMPTS},
            )
            if plan is not None:
                _record_engine_outcome(plan, payload, outcome)
            _record_on_payload(
                payload,
                Actor.for_webhook(payload.webhook),
                "webhook_rule.failed",
                {
                    "rule": outcome.rule_name,
                    "message": outcome.message,
                    "attempt": attempt,
                    "will_retry": attempt < MAX_ATTEMPTS,
                },
            )
        return outcome


def _outcome(
    plan: RulePlan,
    payload: WebhookPayload,
    attempt: int,
    status: str,
    message: str,
    task: Task | None,
    **detail: Any,
) -> PayloadRuleOutcome:
    outcome = PayloadRuleOutcome.objects.create(
        payload=payload,
        rule=plan.rule,
        rule_name=plan.rule.name,
        action=plan.action,
        status=status,
        task=task,
        external_id=plan.external_id,
        message=message[:500],
        attempt=attempt,
        detail={"plan": plan.as_dict(), **detail},
    )
    _record_engine_outcome(plan, payload, outcome)
    return outcome


# A rule's outcome in the action engine's words (automations.models.OutcomeStatus).
ENGINE_STATUS = {
    OutcomeStatus.APPLIED: ActionStatus.APPLIED,
    OutcomeStatus.UNCHANGED: ActionStatus.UNCHANGED,
    OutcomeStatus.STALE: ActionStatus.SKIPPED,
    OutcomeStatus.SKIPPED: ActionStatus.SKIPPED,
    OutcomeStatus.FAILED: ActionStatus.FAILED,
}


def _record_engine_outcome(plan: RulePlan, payload: WebhookPayload, outcome: PayloadRuleOutcome) -> None:
    """The engine's outcome record, the same a schedule's or an automation's action leaves; the
    payload's own row above stays the rules' sequence and the payload viewer's list."""
    status = ENGINE_STATUS.get(outcome.status, ActionStatus.SKIPPED)
    if outcome.detail.get("approval_requested"):
        status = ActionStatus.APPROVAL_REQUESTED
    engine.record_outcome(
        board=payload.board_id,
        firing=engine.Firing(
            kind=SourceKind.RULE, id=plan.rule.pk, name=plan.rule.name, key=f"payload:{payload.pk}"
        ),
        action=plan.action,
        result=engine.Result(
            status, outcome.message, outcome.task, {"payload_id": payload.pk, "attempt": outcome.attempt}
        ),
    )


def _apply_plan(plan: RulePlan, payload: WebhookPayload, attempt: int) -> PayloadRuleOutcome:
    """One rule's plan for one payload, in steps: notify, or find (or create) the task, skip a
    stale or repeated payload, update the task's fields, move its status, comment, and record
    the outcome. Each step is its own function so an action can reuse the ones it needs."""
    actor = Actor.for_webhook(payload.webhook)
    if plan.action == RuleAction.NOTIFY_AGENT:
        return _notify_agents(plan, payload, attempt, actor)
    if not plan.external_id:
        return _outcome(
            plan,
            payload,
            attempt,
            OutcomeStatus.SKIPPED,
            "The external id rendered empty: this payload lacks the fields it is built from.",
            None,
        )
    task, created = _find_or_create_task(plan, payload, actor)
    if task is None:
        return _outcome(
            plan,
            payload,
            attempt,
            OutcomeStatus.SKIPPED,
            f"No task has the external id “{plan.external_id}”.",
            None,
        )
    if not created:
        already = _stale_or_repeated(plan, payload, attempt, task)
        if already is not None:
            return already
    plan.task = task
    changed = [] if created else _update_task(plan, task, actor)
    task, approval_id = _move_to_target_status(plan, task, actor, changed)
    if plan.action == RuleAction.COMMENT:
        engine.comment(task=task, actor=actor, body=plan.comment)
        changed.append("comment")
    return _task_outcome(
        plan, payload, attempt, task, created=created, changed=changed, approval_id=approval_id
    )


def _notify_agents(plan: RulePlan, payload: WebhookPayload, attempt: int, actor: Actor) -> PayloadRuleOutcome:
    """The notify-agent action: an event to the webhook's target agent (or the board's lead)."""
    agent_ids = agents_to_notify(payload.webhook)
    if not agent_ids:
        return _outcome(
            plan,
            payload,
            attempt,
            OutcomeStatus.SKIPPED,
            "No agent to notify: the webhook has no target agent and the board no lead.",
            None,
        )
    engine.notify_agents(
        board=payload.board,
        actor=actor,
        agent_ids=agent_ids,
        verb="webhook_rule.agent_notified",
        target=payload,
        target_type="webhookpayload",
        detail={
            "payload_id": payload.pk,
            "webhook_id": payload.webhook_id,
            "rule": plan.rule.name,
            "message": plan.comment[:1000],
        },
    )
    return _outcome(
        plan,
        payload,
        attempt,
        OutcomeStatus.APPLIED,
        f"Notified {len(agent_ids)} agent(s).",
        None,
        agent_ids=agent_ids,
    )


def _find_or_create_task(plan: RulePlan, payload: WebhookPayload, actor: Actor) -> tuple[Task | None, bool]:
    """The task with the plan's external id, locked, and whether this call created it; (None,
    False) when there is none and the rule does not create missing tasks."""
    # The per-external-id lock: every worker applying an event to this task waits here in turn.
    task = _locked_task(payload.board_id, plan.external_id)
    if task is not None:
        return task, False
    if plan.action != RuleAction.CREATE_TASK and not plan.rule.creates_missing_task:
        return None, False
    try:
        with transaction.atomic():
            return _create_task(plan, payload, actor), True
    except IntegrityError:
        # Another worker created it between our lookup and insert; its row is ours to update
        # once it commits (the lock below waits for that).
        task = _locked_task(payload.board_id, plan.external_id)
        if task is None:
            raise
        return task, False


def _stale_or_repeated(
    plan: RulePlan, payload: WebhookPayload, attempt: int, task: Task
) -> PayloadRuleOutcome | None:
    """The outcome that ends the plan early for an existing task: a later payload was applied
    already (stale), or this payload's comment is on the task already; else None."""
    newest = PayloadRuleOutcome.objects.filter(task=task, status__in=SEQUENCED).aggregate(
        newest=Max("payload_id")
    )["newest"]
    if newest is not None and newest > payload.pk:
        return _outcome(
            plan,
            payload,
            attempt,
            OutcomeStatus.STALE,
            f"Payload #{newest}, received later, was already applied to this task.",
            task,
            newer_payload_id=newest,
        )
    if (
        plan.action == RuleAction.COMMENT
        and PayloadRuleOutcome.objects.filter(
            payload=payload, task=task, status=OutcomeStatus.APPLIED, action=RuleAction.COMMENT
        ).exists()
    ):
        return _outcome(
            plan,
            payload,
            attempt,
            OutcomeStatus.UNCHANGED,
            "This payload's comment is already on the task.",
            task,
        )
    return None


def _move_to_target_status(
    plan: RulePlan, task: Task, actor: Actor, changed: list[str]
) -> tuple[Task, int | None]:
    """Move the task to the status the plan maps to (through the board's approval gate) and add
    what happened to `changed`; returns the task and the id of an approval it requested."""
    status = target_status(plan)
    if not status or status == task.status:
        return task, None
    # The action engine's step: on a board that needs a person to approve done, the rule asks
    # (the approval is filed, the task waits in review); it does not decide.
    task, change, approval_id = engine.set_status(task=task, actor=actor, status=status)
    changed.append(change)
    return task, approval_id


def _task_outcome(
    plan: RulePlan,
    payload: WebhookPayload,
    attempt: int,
    task: Task,
    *,
    created: bool,
    changed: list[str],
    approval_id: int | None,
) -> PayloadRuleOutcome:
    """The outcome of a plan that reached its task: created, unchanged or updated."""
    if created:
        return _outcome(
            plan,
            payload,
            attempt,
            OutcomeStatus.APPLIED,
            f"Created task #{task.pk} “{task.title}”.",
            task,
            created=True,
            changed=changed,
        )
    if not changed:
        return _outcome(
            plan,
            payload,
            attempt,
            OutcomeStatus.UNCHANGED,
            f"Task #{task.pk} already matches.",
            task,
            changed=[],
        )
    return _outcome(
        plan,
        payload,
        attempt,
        OutcomeStatus.APPLIED,
        f"Updated task #{task.pk}: {', '.join(changed)}.",
        task,
        changed=changed,
        approval_requested=approval_id,
    )


def _locked_task(board_id: int, external_id: str) -> Task | None:
    # Serializes concurrent events about the same outside item (see the module docstring).
    return (
        Task.objects.select_for_update()
        .select_related("board")
        .filter(board_id=board_id, external_id=external_id)
        .first()
    )


def _create_task(plan: RulePlan, payload: WebhookPayload, actor: Actor) -> Task:
    assignee = plan.assignee
    return engine.create_task(
        board=payload.board,
        actor=actor,
        title=plan.title or f"{plan.rule.name} ({plan.external_id})"[:200],
        description=plan.description,
        priority=plan.priority or TaskPriority.MEDIUM,
        status=plan.status or TaskStatus.INBOX,
        tag_names=plan.tag_names or [],
        assignee=engine.Assignee(agent=assignee.agent, user=assignee.user) if assignee else None,
        external_id=plan.external_id,
        external_url=plan.source_url,
    )


def _update_task(plan: RulePlan, task: Task, actor: Actor) -> list[str]:
    """Apply the fields the rule renders; only what differs is written (and so in the event)."""
    return engine.update_task(
        task=task,
        actor=actor,
        title=plan.title,
        description=plan.description if plan.action == RuleAction.UPDATE_TASK else "",
        priority=plan.priority,
        tag_names=plan.tag_names,
        assignee=None
        if plan.assignee is None
        else engine.Assignee(agent=plan.assignee.agent, user=plan.assignee.user),
    )


@transaction.atomic
def reapply_rules(*, payload: WebhookPayload, actor: Actor) -> WebhookPayload:
    """Run the rules on a stored payload again (in the worker); idempotent by external id."""
    if actor.kind != ActorKind.SYSTEM:
        if actor.user is None:
            raise PermissionDenied("Only organization members replay payloads.")
        require_role(user=actor.user, organization=payload.board.organization_id, role=Role.OPERATOR)
    _record_on_payload(payload, actor, "webhook_rule.reapplied", {})
    transaction.on_commit(lambda: apply_webhook_rules.delay(payload.pk))
    return payload


def requeue_unapplied_payloads(*, now=None) -> list[int]:
    """Queue the payloads that have rules to apply but no outcome yet (the beat sweeper).

    Ingest enqueues each payload after its commit; if that publish failed, nothing else would
    ever apply the rules. Only payloads that arrived after a rule of their webhook existed are
    taken, so adding a preset does not replay yesterday's deliveries. Applying twice is
    harmless: the external id finds the task and unchanged fields are not written.
    """
    now = now or timezone.now()
    has_rule_then = WebhookRule.objects.filter(
        webhook_id=OuterRef("webhook_id"), enabled=True, created_at__lte=OuterRef("received_at")
    )
    ids = list(
        WebhookPayload.objects.filter(
            received_at__gte=now - timedelta(seconds=UNAPPLIED_WINDOW_SECONDS),
            received_at__lte=now - timedelta(seconds=UNAPPLIED_GRACE_SECONDS),
        )
        .filter(Exists(has_rule_then))
        .exclude(Exists(PayloadRuleOutcome.objects.filter(payload_id=OuterRef("pk"))))
        .order_by("id")
        .values_list("pk", flat=True)[:UNAPPLIED_BATCH]
    )
    for payload_id in ids:
        apply_webhook_rules.delay(payload_id)
    if ids:
        logger.info("webhook rules: queued %s payload(s) whose rules never ran", len(ids))
    return ids
