"""Ready-made rule sets: GitHub issues and pull requests, a CI failure, Alertmanager.

A preset is data: the rule fields and label-table entries that `services.apply_preset` saves
through the same validation as a hand-written rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from boards.models import TaskPriority, TaskStatus
from webhook_rules.models import RuleAction

GITHUB_CHANGED_ACTIONS = "['edited', 'labeled', 'unlabeled', 'assigned', 'unassigned']"


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    description: str
    rules: list[dict[str, Any]]
    labels: dict[str, dict[str, str]] = field(default_factory=dict)


def _github_item_rules(event: str, item: str, noun: str, extra_condition: str = "") -> list[dict[str, Any]]:
    """The five rules for GitHub issues or pull requests: each one also syncs the title, the
    labels and the assignee, because every GitHub event carries the item's whole state."""
    synced = {
        "events": event,
        "external_id_template": f"${{repository.full_name}}#${{{item}.number}}",
        "source_url_template": f"${{{item}.html_url}}",
        "title_template": f"${{{item}.title}}",
        "tags_expression": f"{item}.labels[].name",
        "assignee_expression": f"{item}.assignee.login",
        # Whichever event comes first makes the task: an item older than the webhook, or a
        # "closed" overtaking its "opened", still ends up as one task in the right state.
        "creates_missing_task": True,
    }

    def condition(test: str) -> str:
        return f"{test} && {extra_condition}" if extra_condition else test

    return [
        {
            **synced,
            "name": f"GitHub {noun} opened",
            "action": RuleAction.CREATE_TASK,
            "condition": condition("action == 'opened'"),
            "description_template": f"${{{item}.body}}\n\nOpened on GitHub by @${{{item}.user.login}}: "
            f"${{{item}.html_url}}",
        },
        {
            **synced,
            "name": f"GitHub {noun} changed",
            "action": RuleAction.UPDATE_TASK,
            "condition": condition(f"contains({GITHUB_CHANGED_ACTIONS}, action)"),
        },
        {
            **synced,
            "name": f"GitHub {noun} closed",
            "action": RuleAction.CLOSE_TASK,
            "condition": condition("action == 'closed'"),
        },
        {
            **synced,
            "name": f"GitHub {noun} reopened",
            "action": RuleAction.REOPEN_TASK,
            "condition": condition("action == 'reopened'"),
        },
    ]


GITHUB = Preset(
    key="github",
    label="GitHub issues and pull requests",
    description="Opened → a task; edited, labeled, assigned → the task follows; closed → done; "
    "reopened → back to inbox; new comments → task comments. Send the issues, "
    "pull_request and issue_comment events.",
    rules=[
        *_github_item_rules("issues", "issue", "issue", "issue.pull_request == null"),
        *_github_item_rules("pull_request", "pull_request", "pull request"),
        {
            "name": "GitHub comment",
            "events": "issue_comment",
            "action": RuleAction.COMMENT,
            "condition": "action == 'created'",
            "external_id_template": "${repository.full_name}#${issue.number}",
            "comment_template": "@${comment.user.login} on GitHub: ${comment.body}",
        },
    ],
    labels={
        "bug": {"tag": "bug", "priority": TaskPriority.HIGH},
        "critical": {"tag": "critical", "priority": TaskPriority.URGENT},
        "good first issue": {"tag": "good first issue"},
    },
)

CI_FAILURE = Preset(
    key="ci",
    label="CI build failed",
    description='A JSON payload like {"pipeline": "api", "branch": "main", "status": "failed", '
    '"url": "https://ci.example/builds/42"}: a failure opens an urgent task per '
    "pipeline and branch (a repeated failure updates it), a pass closes it.",
    rules=[
        {
            "name": "CI build failed",
            "action": RuleAction.CREATE_TASK,
            "condition": "contains(['failed', 'failure', 'error'], status)",
            "external_id_template": "ci/${pipeline}/${branch}",
            "source_url_template": "${url}",
            "title_template": "Build failed: ${pipeline} on ${branch}",
            "description_template": (
                "Build ${build} of ${pipeline} failed on ${branch} at ${commit}.\n\n${url}"
            ),
            "priority": TaskPriority.URGENT,
            "tags_expression": "['ci']",
        },
        {
            "name": "CI build fixed",
            "action": RuleAction.CLOSE_TASK,
            "condition": "contains(['passed', 'success', 'fixed'], status)",
            "external_id_template": "ci/${pipeline}/${branch}",
        },
    ],
)

ALERTMANAGER = Preset(
    key="alertmanager",
    label="Alertmanager",
    description="Prometheus Alertmanager's webhook: a firing alert group opens a task (severity "
    "critical → urgent, warning → high), its resolution closes it.",
    rules=[
        {
            "name": "Alert firing",
            "action": RuleAction.CREATE_TASK,
            "condition": "status == 'firing'",
            "external_id_template": "alert/${groupKey}",
            "source_url_template": "${externalURL}",
            "title_template": "${commonLabels.alertname}: ${commonAnnotations.summary}",
            "description_template": (
                "${commonAnnotations.description}\n\nFirst alert on ${alerts.0.labels.instance}."
            ),
            "tags_expression": "[commonLabels.severity, 'alert']",
            "status": TaskStatus.INBOX,
        },
        {
            "name": "Alert resolved",
            "action": RuleAction.CLOSE_TASK,
            "condition": "status == 'resolved'",
            "external_id_template": "alert/${groupKey}",
        },
    ],
    labels={
        "critical": {"tag": "critical", "priority": TaskPriority.URGENT},
        "warning": {"tag": "warning", "priority": TaskPriority.HIGH},
    },
)

PRESETS: dict[str, Preset] = {preset.key: preset for preset in (GITHUB, CI_FAILURE, ALERTMANAGER)}
