"""Rules that turn a webhook's stored payloads into board work, and what each payload led to."""

from __future__ import annotations

from django.db import models


class RuleAction(models.TextChoices):
    CREATE_TASK = "create_task", "Create a task (or update the one with its external id)"
    UPDATE_TASK = "update_task", "Update the task with its external id"
    COMMENT = "comment", "Comment on the task with its external id"
    CLOSE_TASK = "close_task", "Close the task (move it to done)"
    REOPEN_TASK = "reopen_task", "Reopen the task (back to inbox)"
    NOTIFY_AGENT = "notify_agent", "Notify the webhook's agent"


# What a person sets on a rule, in the editor's order (forms, serializers and the service share it).
RULE_EDITABLE_FIELDS = (
    "name",
    "enabled",
    "position",
    "events",
    "condition",
    "action",
    "external_id_template",
    "source_url_template",
    "title_template",
    "description_template",
    "comment_template",
    "priority",
    "status",
    "tags_expression",
    "assignee_expression",
    "creates_missing_task",
)


class WebhookRule(models.Model):
    """One "when this payload looks like that, do this" line of a webhook; first match wins.

    Every text here is checked when the rule is saved (webhook_rules.expressions): JMESPath
    for `condition`, `tags_expression` and `assignee_expression`; `${dotted.path}` templates
    for the rest, which can read the payload's JSON and nothing else.
    """

    webhook = models.ForeignKey("webhooks.BoardWebhook", on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    # Comma-separated values of the event header (X-GitHub-Event, X-Event-Type, X-Gitlab-Event);
    # empty matches every event.
    events = models.CharField(max_length=200, blank=True)
    condition = models.TextField(max_length=1000, blank=True)
    action = models.CharField(max_length=16, choices=RuleAction.choices)
    external_id_template = models.CharField(max_length=300, blank=True)
    source_url_template = models.CharField(max_length=300, blank=True)
    title_template = models.CharField(max_length=300, blank=True)
    description_template = models.TextField(max_length=5000, blank=True)
    comment_template = models.TextField(max_length=5000, blank=True)
    priority = models.CharField(max_length=8, blank=True)  # a TaskPriority value, or keep
    status = models.CharField(max_length=16, blank=True)  # a TaskStatus value (the column), or keep
    tags_expression = models.CharField(max_length=300, blank=True)
    assignee_expression = models.CharField(max_length=300, blank=True)
    # For update/comment/close/reopen: make the task first when none has the external id yet
    # (an issue older than the webhook, or its "closed" arriving before its "opened").
    creates_missing_task = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        indexes = [
            # The worker's read: a webhook's enabled rules in order.
            models.Index(fields=["webhook", "position"], name="webhookrule_webhook_position"),
        ]

    def __str__(self) -> str:
        return self.name


class RuleMappings(models.Model):
    """The tables every rule of a webhook shares: sender labels and sender logins.

    `labels`: {"bug": {"tag": "bug", "priority": "high"}}; a label not listed becomes a tag of
    the same name. `logins`: {"octocat": "user:alice"} or {"ci-bot": "agent:release-bot"}.
    """

    webhook = models.OneToOneField(
        "webhooks.BoardWebhook", on_delete=models.CASCADE, related_name="rule_mappings"
    )
    labels = models.JSONField(default=dict, blank=True)
    logins = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class OutcomeStatus(models.TextChoices):
    APPLIED = "applied", "Applied"
    UNCHANGED = "unchanged", "Matched, nothing to change"
    NO_MATCH = "no_match", "No rule matched"
    STALE = "stale", "Skipped: a later event was already applied"
    SKIPPED = "skipped", "Matched, nothing to act on"
    FAILED = "failed", "Failed"


class PayloadRuleOutcome(models.Model):
    """What the rules did with one payload on one attempt; the payload viewer lists them.

    Rows are only added (a retry or a replay is a new row), so a failure stays visible after
    the retry that fixed it. Applied rows of a task are also its sequence: a payload older than
    the newest one applied to the task is stale and skipped (see services.apply_rules).
    """

    payload = models.ForeignKey(
        "webhooks.WebhookPayload", on_delete=models.CASCADE, related_name="rule_outcomes"
    )
    rule = models.ForeignKey(WebhookRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    rule_name = models.CharField(max_length=100, blank=True)
    action = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=10, choices=OutcomeStatus.choices)
    task = models.ForeignKey(
        "boards.Task", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    external_id = models.CharField(max_length=200, blank=True)
    message = models.CharField(max_length=500, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    attempt = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The sequence check: the newest payload applied to a task.
            models.Index(fields=["task", "status", "payload"], name="ruleoutcome_task_seq"),
        ]
