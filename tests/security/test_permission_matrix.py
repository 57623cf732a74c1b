"""The permission matrix: every route of the URL conf, as every kind of caller, against a table.

Routes come from django.urls.get_resolver() (see tests.security.routes for what is excluded and
why), not from a hand-written list: a route added without a row in EXPECTED fails the test with
its name. Each route is requested with GET and with every write method its view declares, as
anonymous, viewer, operator, admin (of the first organization), the first organization's agent
(bearer token) and an admin of another organization; path ids are the first organization's.

Outcomes are classified as
- "allow": anything that shows the caller got past authentication and authorization
  (2xx/3xx other than a redirect to the login page, 400/409/422 from validation or state rules);
- "deny": 401, 403, 404 or a redirect to the login page;
- 405 (the view does not serve that method) matches either;
- 5xx or 429 always fail.
Writes run inside a rolled-back transaction so one check cannot change the next one's world.
Bodies are `{}` unless WRITE_BODIES has a better one: the point is who gets past the checks.

SET EXPECTATIONS (which callers get "allow"; everyone else must get "deny"):
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.core.cache import caches
from django.core.signals import request_finished
from django.db import close_old_connections, transaction

from tests.security.routes import Route, build_path, iter_routes
from tests.security.world import MARKER, PRINCIPALS, World, build_world

ALL = frozenset(PRINCIPALS)
HUMANS = frozenset({"viewer", "operator", "admin", "outsider"})  # any signed-in user (own org)
MEMBERS = frozenset({"viewer", "operator", "admin"})  # members of the first organization
WRITERS = frozenset({"operator", "admin"})
ADMINS = frozenset({"admin"})
AGENT = frozenset({"agent"})
OUTSIDER = frozenset({"outsider"})  # for creates: an admin of another organization, in their own
NOBODY = frozenset()


@dataclass(frozen=True)
class Rule:
    get: frozenset[str]
    write: frozenset[str] = NOBODY
    why: str = ""


# One row per route name (or unnamed pattern). List endpoints allow an outsider (they see their
# own organization's rows; the test also checks no first-organization name leaks to them).
EXPECTED: dict[str, Rule] = {
    # --- public plumbing -------------------------------------------------------------------
    "healthz": Rule(ALL, why="liveness probe"),
    "favicon": Rule(ALL, why="a redirect to the static SVG icon"),
    "readyz": Rule(ALL, why="readiness probe"),
    "metrics": Rule(
        ALL - AGENT,
        why="METRICS_ALLOWED_IPS has 127.0.0.1 (the test client); a wrong "
        "bearer token (the agent's) is refused even from there",
    ),
    "login": Rule(ALL, ALL, why="the login form; POST {} re-renders it"),
    "logout": Rule(
        NOBODY,
        NOBODY,
        why="POST logs out and redirects to the login page, which reads "
        "as a refusal here; tested in test_login_protection",
    ),
    # --- ops ---------------------------------------------------------------------------------
    "ops-status": Rule(NOBODY, why="staff only; no principal here is staff"),
    "ops-status-api": Rule(NOBODY, why="staff session or OPS_TOKEN only"),
    # --- API schema and docs -----------------------------------------------------------------
    "api-schema": Rule(ALL, why="public by drf-spectacular's default (SERVE_PERMISSIONS AllowAny)"),
    "api-docs": Rule(ALL, why="the Swagger UI shell; the schema above is public too"),
    "api-redoc": Rule(ALL, why="the ReDoc shell; the schema above is public too"),
    "api-redoc-bundle": Rule(ALL, why="the ReDoc script (the sidecar's bundle, public like the shell)"),
    "event-types": Rule(HUMANS, why="the event-type registry (names, labels; no data), signed-in users"),
    # --- human API: organizations, boards, tasks ---------------------------------------------
    "organization-list": Rule(HUMANS, HUMANS, why="anyone signed in starts an organization (POST {}: 400)"),
    "organization-detail": Rule(MEMBERS, ADMINS, why="admins rename it"),
    "organization-leave": Rule(NOBODY, MEMBERS, why="any member leaves; the last admin gets a 409"),
    "board-list": Rule(HUMANS, ADMINS | OUTSIDER, why="an outsider creates in their own organization"),
    "board-detail": Rule(MEMBERS, ADMINS),
    "board-archive": Rule(NOBODY, ADMINS),
    "tag-list": Rule(HUMANS, WRITERS | OUTSIDER),
    "tag-detail": Rule(MEMBERS, WRITERS),
    "task-list": Rule(HUMANS, WRITERS | OUTSIDER),
    "task-detail": Rule(MEMBERS, WRITERS),
    "task-assign": Rule(NOBODY, WRITERS),
    "task-comments": Rule(MEMBERS, WRITERS),
    "task-dependencies": Rule(NOBODY, WRITERS),
    "task-move": Rule(NOBODY, WRITERS),
    "task-remove-dependency": Rule(NOBODY, WRITERS),
    "approval-list": Rule(HUMANS),
    "approval-detail": Rule(MEMBERS),
    "approval-decide": Rule(NOBODY, WRITERS, why="operators review (boards.services.decide_approval)"),
    "personal-token-list": Rule(HUMANS, HUMANS, why="each user's own tokens"),
    "personal-token-detail": Rule(ADMINS, ADMINS, why="the admin's token: only its owner sees it"),
    "activity-list": Rule(HUMANS),
    # Overview numbers and exports: a person reads the organization named (or their only one),
    # an agent its own; the outsider gets their own organization's figures.
    "metrics-kpis": Rule(HUMANS | AGENT),
    "metrics-charts": Rule(HUMANS | AGENT),
    "metrics-fleet": Rule(HUMANS | AGENT),
    "export": Rule(HUMANS | AGENT, why="an agent on several boards gets a 400 asking for one"),
    "activity-detail": Rule(MEMBERS),
    # --- human API: agents and tokens (token metadata only; the raw value is never shown) ----
    "agent-list": Rule(HUMANS, ADMINS | OUTSIDER),
    "agent-detail": Rule(MEMBERS, ADMINS),
    "agent-resume": Rule(NOBODY, ADMINS),
    "agent-suspend": Rule(NOBODY, ADMINS),
    "agent-tokens": Rule(MEMBERS, ADMINS),
    "agent-token-detail": Rule(MEMBERS),
    "agent-token-revoke": Rule(NOBODY, ADMINS),
    "agent-token-rotate": Rule(NOBODY, ADMINS),
    "agent-signing-secret-list": Rule(NOBODY, ADMINS | OUTSIDER),
    # --- agent API (bearer token only; sessions do not authenticate it) ----------------------
    "agent-event-stream": Rule(AGENT),
    "agent-api-me": Rule(AGENT),
    "agent-api-boards": Rule(AGENT),
    "agent-api-heartbeat": Rule(NOBODY, AGENT),
    "agent-api-tasks": Rule(AGENT, AGENT),
    "agent-api-task": Rule(AGENT, AGENT),
    "agent-api-task-claim": Rule(NOBODY, AGENT),
    "agent-api-task-comments": Rule(NOBODY, AGENT),
    "agent-api-webhook-payload": Rule(AGENT),
    "agent-api-board-chat": Rule(AGENT, AGENT, why="only the boards the agent is on"),
    "agent-api-usage": Rule(NOBODY, AGENT, why="an agent reports its own usage (docs/usage.md)"),
    # --- usage totals ------------------------------------------------------------------------
    "usage-totals": Rule(HUMANS, why="the caller's current organization; ?organization= of another is 404"),
    "usage:usage": Rule(HUMANS, why="the page of the caller's current organization"),
    "usage:usage-csv": Rule(HUMANS, why="the export of the caller's current organization"),
    "usage:budgets": Rule(HUMANS, ADMINS | OUTSIDER, why="the current organization's budgets"),
    "usage:budget-delete": Rule(NOBODY, ADMINS),
    "usage:price-set": Rule(NOBODY, ADMINS | OUTSIDER, why="a price for the current organization"),
    # --- inbound webhooks --------------------------------------------------------------------
    "webhook-ingest": Rule(NOBODY, NOBODY, why="signature required: no session or bearer replaces it"),
    "webhook-list": Rule(HUMANS, ADMINS | OUTSIDER),
    "webhook-detail": Rule(MEMBERS, ADMINS),
    "webhook-rotate": Rule(NOBODY, ADMINS),
    "webhook-payload-list": Rule(MEMBERS),
    "webhook-payload-detail": Rule(MEMBERS),
    "webhook-payload-replay": Rule(NOBODY, WRITERS),
    # --- webhook rules ---------------------------------------------------------------------
    "webhook-rule-preset-list": Rule(HUMANS, why="the built-in presets; nothing of any organization"),
    "webhook-rule-list": Rule(MEMBERS, ADMINS),
    "webhook-rule-detail": Rule(MEMBERS, ADMINS),
    "webhook-rule-presets": Rule(NOBODY, ADMINS),
    "webhook-rule-dry-run": Rule(NOBODY, MEMBERS, why="a POST that writes nothing: reading is enough"),
    "webhook-rule-mappings": Rule(MEMBERS, ADMINS),
    "webhook-payload-rule-outcomes": Rule(MEMBERS),
    "webhook-payload-reapply-rules": Rule(NOBODY, WRITERS, why="like replaying a payload to the agent"),
    # --- outbound subscriptions and deliveries -----------------------------------------------
    "subscription-list": Rule(HUMANS, ADMINS | OUTSIDER),
    "subscription-detail": Rule(MEMBERS, ADMINS),
    "subscription-rotate-secret": Rule(NOBODY, ADMINS),
    "delivery-list": Rule(HUMANS),
    "delivery-bulk-replay": Rule(NOBODY, ADMINS | OUTSIDER),
    "delivery-detail": Rule(MEMBERS),
    "delivery-replay": Rule(NOBODY, ADMINS),
    # --- alerts ------------------------------------------------------------------------------
    "alert-condition-list": Rule(HUMANS, why="the catalogue of conditions, the same for everyone"),
    "alert-rule-list": Rule(HUMANS, ADMINS | OUTSIDER),
    "alert-rule-detail": Rule(MEMBERS, ADMINS),
    "alert-rule-preview": Rule(
        NOBODY, HUMANS, why="reads history; the body names an organization the caller must belong to"
    ),
    "alert-rule-test": Rule(NOBODY, ADMINS),
    "incident-list": Rule(HUMANS),
    "incident-detail": Rule(MEMBERS),
    "incident-acknowledge": Rule(NOBODY, WRITERS, why="operators handle incidents"),
    "incident-snooze": Rule(NOBODY, WRITERS),
    # --- automations (docs/automations.md): viewers see, operators run, admins configure ---------
    "schedule-list": Rule(
        HUMANS, HUMANS, why="the body names the board; `{}` is a 400 for everyone, the service decides"
    ),
    "schedule-detail": Rule(MEMBERS, ADMINS),
    "schedule-run": Rule(NOBODY, WRITERS, why="operators run a schedule now"),
    "schedule-runs": Rule(MEMBERS),
    "schedule-preview": Rule(
        NOBODY, HUMANS, why="reads nothing of the board but its name; the body names it"
    ),
    "automation-list": Rule(HUMANS, HUMANS, why="the body names the board; the service decides"),
    "automation-detail": Rule(MEMBERS, ADMINS),
    "automation-preview": Rule(NOBODY, HUMANS, why="a dry run over the history of a board the body names"),
    "task-template-list": Rule(HUMANS, HUMANS, why="the body names the board; the service decides"),
    "task-template-detail": Rule(MEMBERS, ADMINS),
    "task-template-instantiate": Rule(NOBODY, WRITERS, why="operators create work from a template"),
    "pipeline-template-list": Rule(HUMANS, HUMANS, why="the body names the board; the service decides"),
    "pipeline-template-detail": Rule(MEMBERS, ADMINS),
    "pipeline-template-instantiate": Rule(NOBODY, WRITERS),
    "pipeline-list": Rule(HUMANS),
    "pipeline-detail": Rule(MEMBERS),
    "action-outcome-list": Rule(HUMANS),
    "automations:automations": Rule(MEMBERS),
    "automations:schedule-new": Rule(MEMBERS, ADMINS),
    "automations:schedule-edit": Rule(MEMBERS, ADMINS),
    "automations:schedule-preview": Rule(MEMBERS, why="the words and next runs of an expression"),
    "automations:schedule-run": Rule(NOBODY, WRITERS),
    "automations:schedule-delete": Rule(NOBODY, ADMINS),
    "automations:automation-new": Rule(MEMBERS, ADMINS),
    "automations:automation-edit": Rule(MEMBERS, ADMINS),
    "automations:automation-preview": Rule(MEMBERS, why="the dry run writes nothing"),
    "automations:automation-delete": Rule(NOBODY, ADMINS),
    "automations:task-template-new": Rule(MEMBERS, ADMINS),
    "automations:pipeline-template-new": Rule(MEMBERS, ADMINS),
    "automations:task-template-use": Rule(NOBODY, WRITERS),
    "automations:pipeline-template-use": Rule(NOBODY, WRITERS),
    "automations:task-template-delete": Rule(NOBODY, ADMINS),
    "automations:pipeline-template-delete": Rule(NOBODY, ADMINS),
    # --- gateways (docs/gateways.md): viewers see, operators act, admins configure -------------
    "gateway-list": Rule(HUMANS, ADMINS | OUTSIDER, why="admins add a gateway to their own organization"),
    "gateway-detail": Rule(MEMBERS, ADMINS),
    "gateway-commands": Rule(
        MEMBERS, MEMBERS, why="the method's role decides; `{}` names no method, so every member gets the 400"
    ),
    "gateway-command-detail": Rule(MEMBERS),
    "gateway-agents": Rule(MEMBERS),
    "gateway-approval-list": Rule(HUMANS),
    "gateway-approval-detail": Rule(MEMBERS),
    "gateway-approval-answer": Rule(NOBODY, WRITERS, why="operators answer exec approvals"),
    "gateways:gateway-approval-answer": Rule(NOBODY, WRITERS),
    "gateway-link-agent": Rule(NOBODY, ADMINS, why="linking decides whose usage a gateway agent feeds"),
    "gateways:gateway-list": Rule(HUMANS, ADMINS | OUTSIDER, why="the form adds to the current organization"),
    "gateways:gateway-detail": Rule(MEMBERS, ADMINS),
    "gateways:gateway-delete": Rule(NOBODY, ADMINS),
    "gateways:gateway-agent-link": Rule(NOBODY, ADMINS),
    "gateways:gateway-agent-send": Rule(NOBODY, WRITERS, why="operators start runs (Send, Work on this)"),
    "gateways:gateway-agent-wake": Rule(NOBODY, WRITERS, why="operators wake agents (the palette)"),
    "gateways:gateway-session-stop": Rule(NOBODY, WRITERS, why="operators stop a session's run"),
    "gateways:gateway-session-reset": Rule(NOBODY, WRITERS, why="operators reset a session"),
    "gateways:gateway-agent-files": Rule(MEMBERS, why="reading goes through gateway-commands; admins save"),
    "gateways:gateway-session": Rule(
        MEMBERS, why="the transcript page; sending goes through gateway-commands"
    ),
    "alerts:incident-list": Rule(HUMANS),
    "alerts:incident-detail": Rule(MEMBERS),
    "alerts:incident-acknowledge": Rule(NOBODY, WRITERS),
    "alerts:incident-snooze": Rule(NOBODY, WRITERS),
    "alerts:badge": Rule(HUMANS),
    "alerts:rule-list": Rule(HUMANS),
    "alerts:rule-create": Rule(ADMINS | OUTSIDER, ADMINS | OUTSIDER, why="in the current organization"),
    "alerts:rule-preview": Rule(NOBODY, HUMANS, why="in the current organization"),
    "alerts:rule-edit": Rule(MEMBERS, ADMINS),
    "alerts:rule-delete": Rule(NOBODY, ADMINS),
    "alerts:rule-test": Rule(NOBODY, ADMINS),
    # --- standups ----------------------------------------------------------------------------
    "standup-list": Rule(HUMANS, why="posted standups of the caller's organizations"),
    "standup-detail": Rule(MEMBERS),
    "standup-preview": Rule(HUMANS, why="with one organization and no board named: the caller's own"),
    "standup-settings-detail": Rule(MEMBERS, ADMINS, why="by organization id; admins change them"),
    "standups:organization": Rule(HUMANS, why="the page of the caller's current organization"),
    "standups:board": Rule(MEMBERS),
    "standups:email": Rule(NOBODY, HUMANS, why="each member opts in for themselves (current organization)"),
    "standups:settings": Rule(
        NOBODY, ADMINS | OUTSIDER, why="the current organization's; POST {} is a 302 with an error"
    ),
    # --- pages -------------------------------------------------------------------------------
    "boards:board-list": Rule(HUMANS),
    "boards:personal-tokens": Rule(HUMANS, HUMANS, why="each user's own tokens page"),
    "boards:activity": Rule(HUMANS),
    "overview:overview": Rule(HUMANS, why="each person's current organization"),
    "overview:numbers": Rule(HUMANS),
    "overview:fleet": Rule(HUMANS),
    "overview:palette-actions": Rule(HUMANS, why="the palette's actions, each person's own"),
    "overview:onboarding": Rule(HUMANS, why="empty for anyone but an admin of the current organization"),
    "overview:onboarding-dismiss": Rule(NOBODY, ADMINS | OUTSIDER, why="an admin, in the current org"),
    "overview:exports": Rule(HUMANS),
    "overview:export": Rule(HUMANS, why="the current organization's rows only"),
    "boards:switch-organization": Rule(NOBODY, HUMANS),
    "boards:board-create": Rule(HUMANS, ADMINS | OUTSIDER),
    "boards:board-detail": Rule(MEMBERS),
    "boards:board-settings": Rule(MEMBERS, ADMINS),
    "boards:board-archive": Rule(NOBODY, ADMINS),
    "boards:board-activity": Rule(MEMBERS),
    "boards:activity-item": Rule(MEMBERS),
    "boards:activity-item-org": Rule(MEMBERS),
    "boards:task-create": Rule(NOBODY, WRITERS),
    "boards:task-detail": Rule(MEMBERS, WRITERS),
    "boards:task-card": Rule(MEMBERS),
    "boards:task-move": Rule(NOBODY, WRITERS),
    "boards:task-assign": Rule(NOBODY, WRITERS, why="the palette's Assign task"),
    "boards:task-dependency": Rule(NOBODY, WRITERS),
    "boards:approval-decide": Rule(NOBODY, WRITERS),
    "agents:agent-list": Rule(HUMANS, ADMINS | OUTSIDER),
    "agents:agent-create": Rule(ADMINS | OUTSIDER, ADMINS | OUTSIDER),
    "agents:agent-detail": Rule(MEMBERS, ADMINS),
    "agents:agent-edit": Rule(ADMINS, ADMINS),
    "agents:agent-suspend": Rule(NOBODY, ADMINS),
    "agents:agent-resume": Rule(NOBODY, ADMINS),
    "agents:agent-delete": Rule(NOBODY, ADMINS),
    "agents:agent-token-issue": Rule(NOBODY, ADMINS),
    "agents:agent-token-rotate": Rule(NOBODY, ADMINS),
    "agents:agent-token-revoke": Rule(NOBODY, ADMINS),
    # The MCP "connect your agent" page: members read it; only admins issue a token there.
    "agent_mcp:agent-connect": Rule(MEMBERS, ADMINS),
    "webhooks:webhook-index": Rule(HUMANS, ADMINS | OUTSIDER),
    "webhooks:board-webhooks": Rule(MEMBERS, ADMINS),
    "webhooks:webhook-detail": Rule(MEMBERS, ADMINS),
    "webhooks:webhook-enabled": Rule(NOBODY, ADMINS),
    "webhooks:webhook-rotate": Rule(NOBODY, ADMINS),
    "webhooks:webhook-delete": Rule(NOBODY, ADMINS),
    "webhooks:payload-detail": Rule(MEMBERS, ADMINS),
    "webhooks:payload-replay": Rule(NOBODY, WRITERS),
    "webhook_rules:webhook-rules": Rule(MEMBERS, ADMINS),
    "webhook_rules:rule-edit": Rule(MEMBERS, ADMINS),
    "webhook_rules:rule-delete": Rule(NOBODY, ADMINS),
    "webhook_rules:preset-apply": Rule(NOBODY, ADMINS),
    "webhook_rules:mappings-save": Rule(NOBODY, ADMINS),
    "webhook_rules:payload-reapply": Rule(NOBODY, WRITERS),
    "deliveries:dead-letters": Rule(HUMANS),
    "deliveries:bulk-replay": Rule(NOBODY, ADMINS | OUTSIDER),
    "deliveries:delivery-detail": Rule(MEMBERS),
    "deliveries:replay": Rule(NOBODY, ADMINS),
    "deliveries:board-deliveries": Rule(MEMBERS),
    "deliveries:agent-deliveries": Rule(MEMBERS),
    "deliveries:subscription-list": Rule(HUMANS, ADMINS | OUTSIDER),
    "deliveries:subscription-detail": Rule(MEMBERS, ADMINS),
    # --- chat and notifications --------------------------------------------------------------
    "chat:panel": Rule(MEMBERS, WRITERS, why="viewers read the chat; operators post"),
    "chat:history": Rule(MEMBERS),
    "chat:pinned": Rule(MEMBERS),
    "chat:mentionable": Rule(MEMBERS),
    "chat:message": Rule(MEMBERS),
    "chat:edit": Rule(NOBODY, WRITERS, why="the message's author (the operator) or an admin"),
    "chat:delete": Rule(NOBODY, WRITERS, why="the message's author (the operator) or an admin"),
    "chat:pin": Rule(NOBODY, WRITERS),
    "notifications:list": Rule(HUMANS, why="each person's own notifications"),
    "notifications:read-all": Rule(NOBODY, HUMANS, why="each person's own notifications"),
    "notifications:read": Rule(NOBODY, ADMINS, why="the admin's notification: only its recipient"),
    "notifications:board-mute": Rule(NOBODY, MEMBERS, why="a per-person setting; any member"),
    "notifications:task-watch": Rule(NOBODY, MEMBERS, why="a per-person setting; any member"),
    # --- search (issue 17) ---------------------------------------------------------------------
    "search-api": Rule(HUMANS | AGENT, why="scoped: people see their organizations, an agent its boards"),
    "search:search": Rule(HUMANS),
    # --- organizations, members, invitations (issue 17) -----------------------------------------
    "teams:team": Rule(HUMANS, why="redirects to the caller's own organization's members page"),
    "teams:organization-create": Rule(HUMANS, HUMANS, why="anyone signed in starts an organization"),
    "teams:settings": Rule(ADMINS, ADMINS),
    "teams:leave": Rule(NOBODY, MEMBERS, why="any member leaves (the last admin is refused with a message)"),
    "teams:members": Rule(MEMBERS, ADMINS, why="everyone sees who is in; admins change roles and remove"),
    "teams:invitation-create": Rule(NOBODY, ADMINS),
    "teams:invitation-revoke": Rule(NOBODY, ADMINS),
    "teams:invitation-reissue": Rule(NOBODY, ADMINS),
    "teams:invitation-accept": Rule(
        NOBODY,
        NOBODY,
        why="without a valid token every caller gets the not-valid page (404); tested in tests/teams",
    ),
    # --- human API: members, roles, board groups, invitations, notifications (issue 31) ---------
    "role-list": Rule(HUMANS),
    "member-list": Rule(HUMANS, why="the members of each caller's own organizations"),
    "member-detail": Rule(MEMBERS, ADMINS, why="the viewer's membership: admins change or remove it"),
    "board-group-list": Rule(
        HUMANS, HUMANS, why="POST {} is a 400 for anyone signed in: the organization is named in the body"
    ),
    "board-group-detail": Rule(MEMBERS, ADMINS),
    "board-group-reorder": Rule(
        NOBODY, HUMANS, why="POST {} is a 400 for anyone signed in: the organization is named in the body"
    ),
    "invitation-list": Rule(
        HUMANS,
        HUMANS,
        why="each admin's organizations' invitations; POST {} is a 400 (organization in the body)",
    ),
    "invitation-detail": Rule(ADMINS),
    "invitation-revoke": Rule(NOBODY, ADMINS),
    "invitation-accept": Rule(
        NOBODY, HUMANS, why="POST {} is a 400 for anyone signed in (the token is missing)"
    ),
    "notification-list": Rule(HUMANS, why="each person's own notifications"),
    "notification-unread-count": Rule(HUMANS, why="each person's own count"),
    "notification-read-all": Rule(NOBODY, HUMANS, why="each person's own notifications"),
    "notification-detail": Rule(ADMINS, why="the admin's notification: only its recipient"),
    "notification-read": Rule(NOBODY, ADMINS, why="the admin's notification: only its recipient"),
    "board-mute": Rule(NOBODY, MEMBERS, why="a per-person setting; any member"),
    "task-watch": Rule(NOBODY, MEMBERS, why="a per-person setting; any member"),
}

# Unnamed trailing-slash twins: checked under the row of the named route they duplicate.
ALIASES = {
    "api/v1/agent/me/": "agent-api-me",
    "api/v1/agent/boards/": "agent-api-boards",
    "api/v1/agent/heartbeat/": "agent-api-heartbeat",
    "api/v1/agent/tasks/": "agent-api-tasks",
    "api/v1/agent/tasks/<int:task_id>/": "agent-api-task",
    "api/v1/agent/tasks/<int:task_id>/claim/": "agent-api-task-claim",
    "api/v1/agent/tasks/<int:task_id>/comments/": "agent-api-task-comments",
    "api/v1/agent/webhook-payloads/<int:payload_id>/": "agent-api-webhook-payload",
}


# Endless async streams: the in-process client cannot hold them inside the per-request
# transaction on Postgres (channels closes the connection); checked against the real server in
# test_the_agent_event_stream_answers_as_the_table_says.
STREAMS = {"agent-event-stream"}

# (route, format-suffixed?) pairs with a known server error, each with a strict xfail test.
KNOWN_BROKEN: set[tuple[str, bool]] = set()


def rule_for(route: Route) -> Rule | None:
    return EXPECTED.get(ALIASES.get(route.key, route.key))


# Which object a `pk` stands for, by the route name's prefix (longest first).
PK_OBJECTS = (
    ("standup-settings", "organization"),
    ("standup", "standup"),
    ("personal-token", "personal_token"),
    ("task-template", "task_template"),
    ("pipeline-template", "pipeline_template"),
    ("pipeline", "pipeline"),
    ("schedule", "schedule"),
    ("automation", "automation"),
    ("webhook-payload", "payload"),
    ("webhook-rule", "rule"),
    ("agent-token", "agent_token"),
    ("organization", "organization"),
    ("board-group", "board_group"),
    ("board", "board"),
    ("member", "membership"),
    ("invitation", "invitation"),
    ("notification", "notification"),
    ("tag", "tag"),
    ("task", "task"),
    ("approval", "approval"),
    ("activity", "event"),
    ("agent", "agent"),
    ("webhook", "webhook"),
    ("subscription", "subscription"),
    ("delivery-attempt", "attempt"),
    ("alert-rule", "alert_rule"),
    ("gateway-command", "gateway_command"),
    ("gateway-approval", "gateway_approval"),
    ("gateway", "gateway"),
    ("rule", "alert_rule"),
    ("incident", "incident"),
    ("budget", "budget"),
    ("delivery", "delivery"),
)
# Routes whose <pk> the prefix rule would get wrong.
PK_BY_ROUTE = {"agents:agent-token-issue": "agent", "gateways:gateway-approval-answer": "gateway"}
NAMED_PARAMS = {
    "board_id": "board",
    "task_id": "task",
    "webhook_id": "webhook",
    "webhook_pk": "webhook",
    "payload_id": "payload",
    "event_id": "event",
    "approval_id": "approval",
    "depends_on_id": "other_task",
    "schedule_id": "schedule",
    "automation_id": "automation",
    "task_template_id": "task_template",
    "pipeline_template_id": "pipeline_template",
    "agent_id": "agent",
    "token_id": "agent_token",
    "subscription_id": "subscription",
    "subscription_pk": "subscription",
    "delivery_id": "delivery",
    "delivery_pk": "delivery",
    "attempt_id": "attempt",
    "organization_id": "organization",
    "message_id": "chat_message",
    "notification_id": "notification",
    "rule_id": "rule",
    "invitation_id": "invitation",
    "agent_pk": "gateway_agent",
    "approval_pk": "gateway_approval",
}


def _object(world: World, attr: str):
    return world.extra[attr] if attr in world.extra else getattr(world, attr)


def path_values(route: Route, world: World) -> dict[str, object]:
    values: dict[str, object] = {}
    bare = route.key.split(":")[-1]
    for param in route.params:
        if param == "format":
            values[param] = "json"
        elif param == "dataset":
            values[param] = "tasks"
        elif param == "pk":
            # "<prefix>-…" or exactly "<prefix>": "agent-tokens" (an agent's tokens) is not "agent-token-…".
            attr = PK_BY_ROUTE.get(route.key) or next(
                (a for prefix, a in PK_OBJECTS if bare == prefix or bare.startswith(prefix + "-")), None
            )
            if attr is None:
                raise AssertionError(f"no object for <pk> of route {route.key!r}: add it to PK_OBJECTS")
            values[param] = _object(world, attr).pk
        elif param in NAMED_PARAMS:
            values[param] = _object(world, NAMED_PARAMS[param]).pk
        else:
            raise AssertionError(f"no value for <{param}> of route {route.key!r}: add it to NAMED_PARAMS")
    return values


def write_body(route: Route, world: World) -> dict:
    return {}


def classify(response) -> str:
    status = response.status_code
    if status >= 500 or status == 429:
        return f"error {status}"
    if status == 405:
        return "n/a"
    if status in (401, 403, 404):
        return "deny"
    if status in (301, 302, 303) and "/login/" in response.get("Location", ""):
        return "deny"
    return "allow"


def snapshot() -> str:
    """Every row of the domain tables, hashed: did a refused write change anything anyway?"""
    digest = hashlib.sha256()
    for app in (
        "core",
        "boards",
        "agents",
        "webhooks",
        "teams",
        "alerts",
        "chat",
        "notifications",
        "webhook_rules",
        "automations",
        "gateways",
    ):
        for model in apps.get_app_config(app).get_models():
            if model._meta.label == "webhooks.WebhookRefusalCount":
                continue  # counting a refused payload is the one write a refusal is meant to make
            digest.update(model._meta.label.encode())
            for row in model.objects.order_by("pk").values_list():
                digest.update(repr(row).encode())
    return digest.hexdigest()


def request(client, method: str, path: str, body: dict, *, baseline: str | None):
    """One request in a rolled-back transaction; with a baseline, also whether it changed rows."""
    for alias in ("default", "ratelimit"):
        caches[alias].clear()  # the matrix makes hundreds of requests; rate limits are tested elsewhere
    changed = False
    with transaction.atomic():
        if method == "get":
            response = client.get(path, HTTP_ACCEPT="application/json, text/html")
        elif not path.startswith("/api/"):
            # Pages take forms: a non-empty form, so views reading `request.POST or None` bind it.
            response = client.post(path, {"matrix": "1"})
        else:
            response = client.generic(method.upper(), path, json.dumps(body), content_type="application/json")
        if baseline is not None and classify(response) == "allow":
            changed = snapshot() != baseline
        transaction.set_rollback(True)
    return response, changed


def _body_text(response) -> str:
    if getattr(response, "streaming", False):
        # Closing a response sends request_finished, whose close_old_connections would drop the
        # test's connection in the middle of its transaction (PostgreSQL); Django's test client
        # disconnects it the same way when it closes a streamed response itself.
        request_finished.disconnect(close_old_connections)
        try:
            response.close()
        finally:
            request_finished.connect(close_old_connections)
        return ""
    return response.content.decode(errors="replace")


def test_every_route_has_a_row_in_the_table(db):
    missing = sorted({route.key for route in iter_routes() if rule_for(route) is None})
    assert not missing, (
        "routes without a row in tests/security/test_permission_matrix.py EXPECTED (add one, "
        f"saying who may GET and who may write): {missing}"
    )


def test_the_table_has_no_rows_for_routes_that_are_gone(db):
    present = {ALIASES.get(route.key, route.key) for route in iter_routes()}
    stale = sorted(set(EXPECTED) - present)
    assert not stale, f"rows for routes that no longer exist: {stale}"


@pytest.mark.django_db
@pytest.mark.runs_long
# Who may do what is decided in Python (core.access, the views); the PostgreSQL run covers the
# same views through each app's own tests, the fuzzers and the SQL-injection sweep.
@pytest.mark.backend_independent
def test_every_route_answers_every_principal_as_the_table_says(django_db_blocker):
    world = build_world()
    clients = {principal: world.client(principal) for principal in PRINCIPALS}
    baseline = snapshot()
    mismatches: list[str] = []
    leaks: list[str] = []
    observed: dict[str, dict[str, str]] = {}
    for route in iter_routes():
        rule = rule_for(route)
        if rule is None:
            if not os.environ.get("SECURITY_MATRIX_DUMP"):
                continue  # reported by test_every_route_has_a_row_in_the_table
            rule = Rule(NOBODY, NOBODY)
        path = build_path(route, path_values(route, world))
        if (route.key, path.endswith(".json/")) in KNOWN_BROKEN or route.key in STREAMS:
            continue  # covered by a strict xfail / the stream test below
        checks = [("get", rule.get)] + [(m, rule.write) for m in route.write_methods()]
        for method, allowed in checks:
            for principal in PRINCIPALS:
                if route.key == "logout":
                    clients[principal] = world.client(principal)  # logging out drops the cookie
                expected = "allow" if principal in allowed else "deny"
                refused_write = method != "get" and expected == "deny"
                response, changed = request(
                    clients[principal],
                    method,
                    path,
                    write_body(route, world),
                    baseline=baseline if refused_write else None,
                )
                if route.key == "logout":
                    clients[principal] = world.client(principal)
                outcome = classify(response)
                if refused_write and outcome == "allow" and not changed:
                    # A 200/302/400 that changed nothing (a form re-rendered with an error, a
                    # redirect with a message, validation before the role check) is a refusal.
                    outcome = "deny"
                observed.setdefault(f"{method.upper()} {path} [{route.key}]", {})[principal] = (
                    f"{outcome} {response.status_code}"
                )
                if outcome != "n/a" and outcome != expected:
                    mismatches.append(
                        f"{method.upper()} {path} [{route.key}] as {principal}: expected {expected}, "
                        f"got {response.status_code}{' and rows changed' if changed else ''}"
                    )
                if principal in ("outsider", "anonymous") and MARKER in _body_text(response):
                    leaks.append(
                        f"{method.upper()} {path} [{route.key}] showed the first organization to {principal}"
                    )
    if os.environ.get("SECURITY_MATRIX_DUMP"):
        print(json.dumps(observed, indent=1))
    assert not leaks, "\n".join(leaks)
    assert not mismatches, "\n".join(mismatches)


def test_the_format_suffixed_webhook_rotate_route_does_not_crash(db):
    """Regression: WebhookViewSet.rotate took no `format` kwarg, so rotate.json/ was a 500 (fixed)."""
    world = build_world()
    response = world.client("admin").post(
        f"/api/v1/webhooks/{world.webhook.pk}/rotate.json/", {}, content_type="application/json"
    )
    assert response.status_code < 500


@pytest.mark.e2e
def test_the_agent_event_stream_answers_as_the_table_says(asgi_server):
    import requests

    world = build_world()
    session = world.client("admin")
    cookie = session.cookies["sessionid"].value
    rule = EXPECTED["agent-event-stream"]
    credentials = {
        "anonymous": {},
        "agent": {"Authorization": f"Bearer {world.agent_raw_token}"},
        **{
            p: {"Cookie": f"sessionid={world.client(p).cookies['sessionid'].value}"}
            for p in ("viewer", "operator", "admin", "outsider")
        },
    }
    assert cookie
    for principal, headers in credentials.items():
        with requests.get(
            f"{asgi_server.url}/api/v1/agent/events/stream", headers=headers, stream=True, timeout=10
        ) as response:
            expected = "allow" if principal in rule.get else "deny"
            outcome = (
                "allow"
                if response.status_code == 200
                else ("deny" if response.status_code in (401, 403, 404) else f"error {response.status_code}")
            )
            assert outcome == expected, f"{principal}: {response.status_code}"
