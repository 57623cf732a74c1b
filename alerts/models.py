"""Alert rules and the incidents they open. Writes go through alerts.services."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import creation_stamps
from core.querysets import OrganizationScopedQuerySet


class AlertRule(models.Model):
    """A condition from the catalogue (alerts.conditions) with its parameters, and where to send.

    `params` is validated by the condition (alerts.conditions.validate_params) before any save.
    """

    organization = models.ForeignKey(
        "core.Organization", on_delete=models.CASCADE, related_name="alert_rules"
    )
    # Optional: limits the condition to one board's tasks, agents, webhooks and events.
    board = models.ForeignKey(
        "boards.Board", on_delete=models.CASCADE, null=True, blank=True, related_name="alert_rules"
    )
    name = models.CharField(max_length=120)
    condition = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True)
    # After an incident opens for a subject, no new one opens for it until this has passed.
    cooldown_minutes = models.PositiveIntegerField(default=60)
    enabled = models.BooleanField(default=True)
    notify_in_app = models.BooleanField(default=True)
    email_recipients = models.JSONField(default=list, blank=True)
    # Outbound signed webhook through the deliveries outbox (retries, dead letters).
    subscription = models.ForeignKey(
        "deliveries.Subscription",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="alert_rules",
    )
    created_by, created_at, updated_at = creation_stamps()

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="alertrule_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class IncidentState(models.TextChoices):
    FIRING = "firing", "Firing"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    SNOOZED = "snoozed", "Snoozed"
    RESOLVED = "resolved", "Resolved"


OPEN_STATES = (IncidentState.FIRING, IncidentState.ACKNOWLEDGED, IncidentState.SNOOZED)


class IncidentQuerySet(OrganizationScopedQuerySet):
    def open(self) -> IncidentQuerySet:
        return self.exclude(state=IncidentState.RESOLVED)

    def for_list(self) -> IncidentQuerySet:
        return self.select_related("rule", "board", "acknowledged_by")


class Incident(models.Model):
    """One breach of a rule by one subject (an agent, a task, a webhook …), until it clears."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="incidents")
    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="incidents")
    board = models.ForeignKey(
        "boards.Board", on_delete=models.SET_NULL, null=True, blank=True, related_name="incidents"
    )
    # What breached, e.g. "agent:12", "task:40", "webhook:3"; one open incident per rule + subject.
    subject_key = models.CharField(max_length=80)
    subject_label = models.CharField(max_length=200)
    state = models.CharField(max_length=12, choices=IncidentState.choices, default=IncidentState.FIRING)
    summary = models.CharField(max_length=300)
    detail = models.JSONField(default=dict, blank=True)
    opened_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    snoozed_until = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            # Idempotency: two evaluations racing (two beat processes, a sweep and an event) can
            # never open two incidents for the same rule and subject; the loser's INSERT fails.
            models.UniqueConstraint(
                fields=["rule", "subject_key"],
                condition=~Q(state="resolved"),
                name="incident_one_open_per_subject",
            ),
        ]
        indexes = [
            # Cooldown: the newest incident of a rule + subject.
            models.Index(fields=["rule", "subject_key", "-opened_at"], name="incident_rule_subject"),
            # The incidents page and the badge: an organization's incidents by state, newest first.
            models.Index(fields=["organization", "state", "-opened_at"], name="incident_org_state"),
        ]

    def __str__(self) -> str:
        return f"{self.rule}: {self.subject_label}"

    @property
    def is_open(self) -> bool:
        return self.state != IncidentState.RESOLVED


class EntryKind(models.TextChoices):
    FIRED = "fired", "Fired"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    SNOOZED = "snoozed", "Snoozed"
    REFIRED = "refired", "Fired again after the snooze"
    RESOLVED = "resolved", "Resolved"
    NOTIFIED = "notified", "Notified"
    NOTIFY_FAILED = "notify_failed", "Notification failed"


class IncidentEntry(models.Model):
    """The incident's timeline: what happened, who did it and why."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    actor_label = models.CharField(max_length=150)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=1000, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
