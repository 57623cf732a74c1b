"""Writes for alerts: rules, evaluation (open, re-fire, resolve), acknowledge and snooze.

Evaluation is idempotent under concurrency: `evaluate_rule` locks the rule's row
(SELECT … FOR UPDATE) for the whole evaluation, so two evaluations of one rule (two beat
processes, a sweep and an event-triggered task) run one after the other and the second finds
the first's incident; the partial unique index `incident_one_open_per_subject` is the backstop
that makes a second open incident impossible even for a writer that skipped the lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from activity.services import record_activity, update_and_record
from alerts import channels
from alerts.conditions import Breach, get_condition, validate_params
from alerts.models import OPEN_STATES, AlertRule, EntryKind, Incident, IncidentEntry, IncidentState
from boards.models import Board
from core.access import require_role
from core.actors import Actor
from core.models import Organization, Role
from deliveries.models import Subscription
from infra.exceptions import DomainError, InvalidTransition, NotFound
from infra.metrics import ALERT_INCIDENTS

logger = logging.getLogger(__name__)

MAX_EMAIL_RECIPIENTS = 20
MAX_SNOOZE_MINUTES = 7 * 24 * 60
TRIGGER_CACHE_SECONDS = 300


# --- rules -----------------------------------------------------------------------------------


def trigger_cache_key(organization_id: int) -> str:
    return f"mc:alerts:triggers:{organization_id}"


def forget_triggers(organization_id: int) -> None:
    """After a rule changes, the next event of the organization reads the rules again."""
    transaction.on_commit(lambda: cache.delete(trigger_cache_key(organization_id)))


def _clean_recipients(recipients: Any) -> list[str]:
    if isinstance(recipients, str):
        recipients = [part.strip() for part in recipients.replace("\n", ",").split(",")]
    cleaned = [r.strip() for r in recipients or [] if isinstance(r, str) and r.strip()]
    if len(cleaned) > MAX_EMAIL_RECIPIENTS:
        raise DomainError(f"At most {MAX_EMAIL_RECIPIENTS} email recipients.", code="invalid_recipients")
    for address in cleaned:
        try:
            validate_email(address)
        except Exception:
            raise DomainError(f"{address!r} is not an email address.", code="invalid_recipients") from None
    return sorted(set(cleaned))


def _check_scope(organization_id: int, board: Board | None, subscription: Subscription | None) -> None:
    # 404, not 400: another organization's ids must not be confirmed.
    if board is not None and board.organization_id != organization_id:
        raise NotFound("No such board in this organization.")
    if subscription is not None and subscription.organization_id != organization_id:
        raise NotFound("No such subscription in this organization.")


def _rule_detail(rule: AlertRule) -> dict[str, Any]:
    return {"rule_id": rule.pk, "name": rule.name, "condition": rule.condition}


@transaction.atomic
def create_rule(
    *,
    actor: Actor,
    organization: Organization,
    name: str,
    condition: str,
    params: dict[str, Any] | None = None,
    board: Board | None = None,
    cooldown_minutes: int = 60,
    enabled: bool = True,
    notify_in_app: bool = True,
    email_recipients: list[str] | str | None = None,
    subscription: Subscription | None = None,
) -> AlertRule:
    require_role(user=actor.user, organization=organization, role=Role.ADMIN)
    _check_scope(organization.pk, board, subscription)
    name = (name or "").strip()
    if not name:
        raise DomainError("A rule needs a name.", code="invalid_name")
    if AlertRule.objects.filter(organization=organization, name=name).exists():
        raise DomainError(f"A rule named {name!r} exists already.", code="duplicate_name")
    spec = get_condition(condition)
    rule = AlertRule.objects.create(
        organization=organization,
        board=board,
        name=name[:120],
        condition=condition,
        params=validate_params(spec, params, organization_id=organization.pk),
        cooldown_minutes=cooldown_minutes,
        enabled=enabled,
        notify_in_app=notify_in_app,
        email_recipients=_clean_recipients(email_recipients),
        subscription=subscription,
        created_by=actor.user,
    )
    record_activity(
        organization=organization,
        board=board,
        actor=actor,
        verb="alert.rule_created",
        target=rule,
        target_type="alertrule",
        detail=_rule_detail(rule),
    )
    forget_triggers(organization.pk)
    return rule


def unsaved_rule(
    *,
    user,
    organization: Organization,
    condition: str,
    params: dict[str, Any] | None = None,
    board: Board | None = None,
    name: str = "preview",
    cooldown_minutes: int = 60,
) -> AlertRule:
    """A rule as the editor has it, validated but not saved: what the preview runs."""
    require_role(user=user, organization=organization, role=Role.VIEWER)
    _check_scope(organization.pk, board, None)
    return AlertRule(
        organization=organization,
        board=board,
        name=name,
        condition=condition,
        params=validate_params(get_condition(condition), params, organization_id=organization.pk),
        cooldown_minutes=cooldown_minutes,
    )


RULE_FIELDS = {
    "name",
    "condition",
    "params",
    "board",
    "cooldown_minutes",
    "enabled",
    "notify_in_app",
    "email_recipients",
    "subscription",
}


@transaction.atomic
def update_rule(*, actor: Actor, rule: AlertRule, **changes: Any) -> AlertRule:
    require_role(user=actor.user, organization=rule.organization_id, role=Role.ADMIN)
    unknown = set(changes) - RULE_FIELDS
    if unknown:
        raise DomainError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    _check_scope(rule.organization_id, changes.get("board"), changes.get("subscription"))
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()[:120]
        if not changes["name"]:
            raise DomainError("A rule needs a name.", code="invalid_name")
        if (
            AlertRule.objects.filter(organization_id=rule.organization_id, name=changes["name"])
            .exclude(pk=rule.pk)
            .exists()
        ):
            raise DomainError(f"A rule named {changes['name']!r} exists already.", code="duplicate_name")
    if "condition" in changes or "params" in changes:
        condition = changes.get("condition", rule.condition)
        params = changes.get("params", rule.params if condition == rule.condition else {})
        changes["params"] = validate_params(
            get_condition(condition), params, organization_id=rule.organization_id
        )
    if "email_recipients" in changes:
        changes["email_recipients"] = _clean_recipients(changes["email_recipients"])
    update_and_record(
        rule,
        changes=changes,
        actor=actor,
        verb="alert.rule_updated",
        organization=rule.organization_id,
        board=changes.get("board", rule.board_id),
        target_type="alertrule",
        detail=lambda changed: {**_rule_detail(rule), "fields": sorted(changes)},
        record_unchanged=True,
    )
    forget_triggers(rule.organization_id)
    return rule


@transaction.atomic
def delete_rule(*, actor: Actor, rule: AlertRule) -> None:
    require_role(user=actor.user, organization=rule.organization_id, role=Role.ADMIN)
    record_activity(
        organization=rule.organization_id,
        board=rule.board_id,
        actor=actor,
        verb="alert.rule_deleted",
        target_type="alertrule",
        target_id=rule.pk,
        detail=_rule_detail(rule),
    )
    forget_triggers(rule.organization_id)
    rule.delete()


# --- evaluation --------------------------------------------------------------------------------


@dataclass
class Evaluation:
    opened: list[Incident] = field(default_factory=list)
    refired: list[Incident] = field(default_factory=list)
    resolved: list[Incident] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)


def in_cooldown(rule: AlertRule, subject_key: str, now: datetime) -> bool:
    latest = (
        Incident.objects.filter(rule=rule, subject_key=subject_key)
        .order_by("-opened_at")
        .values_list("opened_at", flat=True)
        .first()
    )
    return latest is not None and latest > now - timedelta(minutes=rule.cooldown_minutes)


def _incident_detail(incident: Incident, **extra: Any) -> dict[str, Any]:
    return {
        "incident_id": incident.pk,
        "rule_id": incident.rule_id,
        "rule_name": incident.rule.name,
        "condition": incident.rule.condition,
        "subject_key": incident.subject_key,
        "subject_label": incident.subject_label,
        "summary": incident.summary,
        "state": incident.state,
        **extra,
    }


def _record(incident: Incident, verb: str, actor: Actor, **extra: Any):
    return record_activity(
        organization=incident.organization_id,
        board=incident.board_id,
        actor=actor,
        verb=verb,
        target=incident,
        detail=_incident_detail(incident, **extra),
    )


def _entry(incident: Incident, kind: str, actor: Actor, *, reason: str = "", **detail: Any) -> IncidentEntry:
    return IncidentEntry.objects.create(
        incident=incident,
        kind=kind,
        actor_label=actor.label[:150],
        actor_user=actor.user,
        reason=reason[:1000],
        detail=detail,
    )


def _open_incident(rule: AlertRule, breach: Breach, now: datetime) -> Incident | None:
    try:
        # A savepoint, so that losing the race to the unique index leaves the evaluation usable.
        with transaction.atomic():
            incident = Incident.objects.create(
                rule=rule,
                organization_id=rule.organization_id,
                board_id=breach.board_id or rule.board_id,
                subject_key=breach.subject_key,
                subject_label=breach.subject_label[:200],
                summary=breach.summary[:300],
                detail=breach.detail,
                opened_at=now,
            )
    except IntegrityError:
        logger.info("rule %s: an incident for %s is open already", rule.pk, breach.subject_key)
        return None
    system = Actor.system()
    _entry(incident, EntryKind.FIRED, system, reason=breach.summary)
    event = _record(incident, "alert.fired", system)
    channels.notify(incident=incident, event=event, kind="fired")
    ALERT_INCIDENTS.labels(event="opened").inc()
    return incident


def _refire(incident: Incident, breach: Breach, now: datetime) -> None:
    """A snooze ran out while the condition still holds: notify again."""
    incident.state = IncidentState.FIRING
    incident.snoozed_until = None
    incident.summary = breach.summary[:300]
    incident.save(update_fields=["state", "snoozed_until", "summary"])
    system = Actor.system()
    _entry(incident, EntryKind.REFIRED, system, reason=breach.summary)
    event = _record(incident, "alert.fired", system, refired=True)
    channels.notify(incident=incident, event=event, kind="fired")
    ALERT_INCIDENTS.labels(event="refired").inc()


def _resolve(incident: Incident, now: datetime, *, actor: Actor, reason: str) -> None:
    incident.state = IncidentState.RESOLVED
    incident.resolved_at = now
    incident.save(update_fields=["state", "resolved_at"])
    _entry(incident, EntryKind.RESOLVED, actor, reason=reason)
    event = _record(incident, "alert.resolved", actor, reason=reason)
    channels.notify(incident=incident, event=event, kind="resolved")
    ALERT_INCIDENTS.labels(event="resolved").inc()


@transaction.atomic
def evaluate_rule(*, rule_id: int, now: datetime | None = None) -> Evaluation:
    """Bring the rule's incidents in line with what its condition says now."""
    now = now or timezone.now()
    result = Evaluation()
    # Row lock for the whole evaluation: see the module docstring (the race of two evaluators).
    rule = AlertRule.objects.select_for_update().filter(pk=rule_id).first()
    if rule is None:
        return result
    open_incidents = {i.subject_key: i for i in Incident.objects.filter(rule=rule, state__in=OPEN_STATES)}
    for incident in open_incidents.values():
        incident.rule = rule
    condition = get_condition(rule.condition)
    if not rule.enabled or not condition.active:
        for incident in open_incidents.values():
            _resolve(incident, now, actor=Actor.system(), reason="The rule is disabled.")
            result.resolved.append(incident)
        return result
    breaches = {breach.subject_key: breach for breach in condition.evaluate(rule, now)}
    for key, breach in breaches.items():
        incident = open_incidents.get(key)
        if incident is None:
            if in_cooldown(rule, key, now):
                result.suppressed.append(key)
                continue
            opened = _open_incident(rule, breach, now)
            if opened is not None:
                result.opened.append(opened)
        elif (
            incident.state == IncidentState.SNOOZED
            and incident.snoozed_until
            and incident.snoozed_until <= now
        ):
            _refire(incident, breach, now)
            result.refired.append(incident)
    for key, incident in open_incidents.items():
        if key not in breaches:
            _resolve(incident, now, actor=Actor.system(), reason="The condition cleared.")
            result.resolved.append(incident)
    if result.suppressed:
        ALERT_INCIDENTS.labels(event="suppressed").inc(len(result.suppressed))
    return result


def evaluate_rules(rule_ids: list[int], *, now: datetime | None = None) -> int:
    """Each rule in its own transaction: one broken rule must not stop the others."""
    changed = 0
    for rule_id in rule_ids:
        try:
            result = evaluate_rule(rule_id=rule_id, now=now)
        except Exception:
            logger.exception("alert rule %s: evaluation failed", rule_id)
            continue
        changed += len(result.opened) + len(result.refired) + len(result.resolved)
    return changed


def sweep_rules(*, now: datetime | None = None) -> int:
    """The beat sweep: every enabled rule, and every rule with an open incident (to resolve it)."""
    ids = set(AlertRule.objects.filter(enabled=True).values_list("pk", flat=True))
    ids |= set(Incident.objects.filter(state__in=OPEN_STATES).values_list("rule_id", flat=True))
    return evaluate_rules(sorted(ids), now=now)


# --- people acting on incidents ------------------------------------------------------------------


def _lock_open(incident: Incident) -> Incident:
    # Row lock: an acknowledge racing the evaluator's resolve must not bring a resolved one back.
    locked = Incident.objects.select_for_update().select_related("rule").get(pk=incident.pk)
    if locked.state == IncidentState.RESOLVED:
        raise InvalidTransition("This incident is resolved already.", code="incident_resolved")
    return locked


@transaction.atomic
def acknowledge_incident(*, actor: Actor, incident: Incident, reason: str = "") -> Incident:
    """Someone is on it: no more notifications until it resolves (which is still notified)."""
    require_role(user=actor.user, organization=incident.organization_id, role=Role.OPERATOR)
    incident = _lock_open(incident)
    if incident.state == IncidentState.ACKNOWLEDGED:
        raise InvalidTransition("This incident is acknowledged already.", code="already_acknowledged")
    now = timezone.now()
    incident.state = IncidentState.ACKNOWLEDGED
    incident.acknowledged_at = now
    incident.acknowledged_by = actor.user
    incident.snoozed_until = None
    incident.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "snoozed_until"])
    _entry(incident, EntryKind.ACKNOWLEDGED, actor, reason=reason)
    _record(incident, "alert.acknowledged", actor, reason=reason[:1000])
    ALERT_INCIDENTS.labels(event="acknowledged").inc()
    return incident


@transaction.atomic
def snooze_incident(*, actor: Actor, incident: Incident, minutes: int, reason: str = "") -> Incident:
    """Quiet until `minutes` from now; if the condition still holds then, it fires again."""
    require_role(user=actor.user, organization=incident.organization_id, role=Role.OPERATOR)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_SNOOZE_MINUTES:
        raise DomainError(f"Snooze for 1 to {MAX_SNOOZE_MINUTES} minutes.", code="invalid_snooze")
    incident = _lock_open(incident)
    incident.state = IncidentState.SNOOZED
    incident.snoozed_until = timezone.now() + timedelta(minutes=minutes)
    incident.save(update_fields=["state", "snoozed_until"])
    _entry(
        incident,
        EntryKind.SNOOZED,
        actor,
        reason=reason,
        minutes=minutes,
        until=incident.snoozed_until.isoformat(),
    )
    _record(incident, "alert.snoozed", actor, reason=reason[:1000], minutes=minutes)
    ALERT_INCIDENTS.labels(event="snoozed").inc()
    return incident


@transaction.atomic
def send_test_notification(*, actor: Actor, rule: AlertRule, channel: str) -> None:
    """The editor's "send test" button: one made-up notification through one channel."""
    require_role(user=actor.user, organization=rule.organization_id, role=Role.ADMIN)
    channels.check_channel(rule, channel)
    event = record_activity(
        organization=rule.organization_id,
        board=rule.board_id,
        actor=actor,
        verb="alert.test_sent",
        target=rule,
        target_type="alertrule",
        detail={**_rule_detail(rule), "channel": channel},
    )
    channels.send_test(rule=rule, channel=channel, event=event)
