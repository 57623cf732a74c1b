"""Celery tasks of alerts. Thin: load by id, call the service."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail


@shared_task(name="alerts.tasks.sweep_alert_rules", ignore_result=True)
def sweep_alert_rules() -> int:
    """Beat runs this every ALERTS_SWEEP_SECONDS: time conditions, windows sliding, snoozes ending."""
    from alerts.services import sweep_rules

    return sweep_rules()


@shared_task(name="alerts.tasks.evaluate_alert_rules", ignore_result=True)
def evaluate_alert_rules(rule_ids: list[int]) -> int:
    """Event-triggered evaluation (alerts.triggers)."""
    from alerts.services import evaluate_rules

    return evaluate_rules(rule_ids)


@shared_task(
    name="alerts.tasks.send_incident_email",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=5,
    max_retries=5,
)
def send_incident_email(incident_id: int, kind: str) -> None:
    from alerts.channels import email_body
    from alerts.models import Incident

    incident = Incident.objects.select_related("rule").filter(pk=incident_id).first()
    if incident is None:
        return
    subject, body = email_body(incident, kind)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, incident.rule.email_recipients)


@shared_task(name="alerts.tasks.send_test_email", ignore_result=True)
def send_test_email(rule_id: int) -> None:
    from alerts.models import AlertRule

    rule = AlertRule.objects.filter(pk=rule_id).first()
    if rule is None or not rule.email_recipients:
        return
    send_mail(
        f"[Test] {rule.name}",
        "A test notification from Mission Control for this alert rule.",
        settings.DEFAULT_FROM_EMAIL,
        rule.email_recipients,
    )
