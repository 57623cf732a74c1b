"""Gateway panels for the pages of the apps below gateways (agents, boards): they load these
tags rather than import gateways (which imports them)."""

from __future__ import annotations

import uuid

from django import template

from core.access import membership_for
from core.models import Role
from gateways.models import GatewayAgent, GatewaySession

register = template.Library()

# The agent page lists the most recently active sessions; the gateway page has the rest.
MAX_SESSIONS_SHOWN = 50


def _links(agent) -> list[GatewayAgent]:
    if agent is None:
        return []
    return list(GatewayAgent.objects.active().filter(agent=agent).select_related("gateway"))


def _can_act(request, organization_id: int) -> bool:
    membership = membership_for(request.user, organization_id)
    return membership is not None and membership.has_role(Role.OPERATOR)


@register.inclusion_tag("gateways/partials/agent_panel.html", takes_context=True)
def gateway_agent_panel(context, agent) -> dict:
    """On the agent page: the gateway agents it is linked to, their sessions (as the supervisor
    last read them: no socket per page) with Stop and Reset, Wake, a Send form and the files.
    Two queries; nothing when the agent is not on a gateway."""
    request = context["request"]
    links = _links(agent)
    sessions: dict[tuple[int, str], list[GatewaySession]] = {}
    if links:
        rows = GatewaySession.objects.filter(
            gateway_id__in={link.gateway_id for link in links},
            agent_key__in={link.agent_key for link in links},
        )[:MAX_SESSIONS_SHOWN]
        for row in rows:
            sessions.setdefault((row.gateway_id, row.agent_key), []).append(row)
    for link in links:
        link.session_list = sessions.get((link.gateway_id, link.agent_key), [])
    return {
        "request": request,  # the buttons come back to this page (`next`)
        "links": links,
        "can_act": bool(links) and _can_act(request, agent.organization_id),
        # Made once per render: a resubmitted form reuses it, so it is one run, never two.
        "idempotency_key": uuid.uuid4().hex,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("gateways/partials/task_work.html", takes_context=True)
def gateway_task_work(context, task) -> dict:
    """On the task page: "Work on this" for a task assigned to an agent that is on a gateway."""
    request = context["request"]
    links = _links(task.assignee_agent) if task.assignee_agent_id else []
    return {
        "task": task,
        "links": links,
        "can_act": bool(links) and _can_act(request, task.board.organization_id),
        "idempotency_key": f"task-{task.pk}-{uuid.uuid4().hex[:16]}",
        "csrf_token": context.get("csrf_token"),
    }
