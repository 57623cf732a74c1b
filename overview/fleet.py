"""The overview's live part: the fleet of agents and what needs attention.

A fixed number of queries whatever the data (asserted in tests/overview/test_pages.py): counts
are subqueries, previews are sliced prefetches, every list has a cap and a total.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import (
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Window,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from agents.models import Agent
from agents.presence import presence_expression
from boards.models import Approval, ApprovalStatus, Task, TaskStatus
from core.models import Membership, Role
from deliveries.models import Delivery, DeliveryStatus, Subscription
from overview.metrics import Scope
from overview.models import TaskFlow
from webhooks.models import BoardWebhook, WebhookRefusalCount

# Items shown per needs-attention group (the group's total is shown beside them).
ATTENTION_ITEMS_MAX = 8
# Claimed tasks named on a fleet tile.
CLAIMED_PREVIEW_MAX = 3
FLEET_TILES_MAX = 60


def _count(queryset: QuerySet) -> Coalesce:
    """A correlated COUNT(*) as an annotation: no joins multiplying each other's rows."""
    counted = queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Coalesce(Subquery(counted[:1]), 0, output_field=IntegerField())


def _first_rows(queryset: QuerySet, *fields: str) -> tuple[list[dict], int]:
    """The first ATTENTION_ITEMS_MAX rows and the total, in one query (COUNT(*) OVER ())."""
    rows = list(
        queryset.annotate(total_rows=Window(Count("pk"))).values(*fields, "total_rows")[:ATTENTION_ITEMS_MAX]
    )
    return rows, (rows[0]["total_rows"] if rows else 0)


def fleet(scope: Scope, now: datetime.datetime | None = None) -> list[Agent]:
    """Agents with presence, claimed tasks (a preview and a count) and their failures."""
    now = now or timezone.now()
    agents = Agent.objects.filter(organization_id=scope.organization_id)
    if scope.board_ids is not None:
        agents = agents.filter(boards__in=scope.board_ids).distinct()
    open_tasks = Task.objects.exclude(status=TaskStatus.DONE)
    failing_since = (now - datetime.timedelta(days=1)).date()
    return list(
        agents.annotate(
            live_presence=presence_expression(now),
            claimed_count=_count(open_tasks.filter(assignee_agent=OuterRef("pk"))),
            dead_deliveries=_count(Delivery.objects.filter(agent=OuterRef("pk"), status=DeliveryStatus.DEAD)),
            failing_webhooks=_count(
                BoardWebhook.objects.filter(target_agent=OuterRef("pk")).filter(
                    Q(enabled=False)
                    | Exists(
                        WebhookRefusalCount.objects.filter(webhook=OuterRef("pk"), day__gte=failing_since)
                    )
                )
            ),
        )
        .prefetch_related(
            Prefetch(
                "assigned_tasks",
                queryset=open_tasks.order_by("-updated_at", "pk").only(
                    "pk", "title", "status", "board_id", "assignee_agent_id"
                )[:CLAIMED_PREVIEW_MAX],
                to_attr="claimed_preview",
            )
        )
        .order_by("name")[:FLEET_TILES_MAX]
    )


@dataclass
class AttentionGroup:
    key: str
    title: str
    total: int
    items: list[dict] = field(default_factory=list)


def _stale_tasks(scope: Scope, now: datetime.datetime) -> AttentionGroup:
    cutoff = now - datetime.timedelta(hours=settings.OVERVIEW_STALE_HOURS)
    stale = scope.boards(
        TaskFlow.objects.filter(
            organization_id=scope.organization_id,
            status__in=(TaskStatus.BLOCKED, TaskStatus.REVIEW),
            status_changed_at__lt=cutoff,
        )
    )
    # Rows and total apart: the total is an index-only count of (organization, status, time),
    # while a window count would join every stale task's title before the LIMIT.
    rows = list(
        stale.order_by("status_changed_at").values(
            "task_id", "task__title", "board_id", "board__name", "status", "status_changed_at"
        )[:ATTENTION_ITEMS_MAX]
    )
    total = stale.count()
    items = [
        {
            "label": row["task__title"],
            "detail": f"{TaskStatus(row['status']).label.lower()} since",
            "since": row["status_changed_at"],
            "board": row["board__name"],
            "url": reverse("boards:task-detail", args=[row["board_id"], row["task_id"]]),
        }
        for row in rows
    ]
    title = f"Blocked or in review for more than {settings.OVERVIEW_STALE_HOURS} h"
    return AttentionGroup("stale_tasks", title, total, items)


def _approvals(scope: Scope) -> AttentionGroup:
    pending = scope.boards(
        Approval.objects.filter(
            task__board__organization_id=scope.organization_id, status=ApprovalStatus.PENDING
        ),
        "task__board_id",
    )
    rows, total = _first_rows(
        pending.order_by("created_at"), "task_id", "task__title", "task__board_id", "created_at"
    )
    approvers = list(
        Membership.objects.filter(organization_id=scope.organization_id, role__in=(Role.OPERATOR, Role.ADMIN))
        .order_by("user__username")
        .values_list("user__username", flat=True)[:5]
    )
    who = ", ".join(approvers) or "nobody (add an operator)"
    items = [
        {
            "label": row["task__title"],
            "detail": f"can approve: {who}; waiting since",
            "since": row["created_at"],
            "url": reverse("boards:task-detail", args=[row["task__board_id"], row["task_id"]]),
        }
        for row in rows
    ]
    return AttentionGroup("approvals", "Approvals waiting", total, items)


def _dead_letters(scope: Scope) -> AttentionGroup:
    dead = scope.boards(
        Delivery.objects.filter(organization_id=scope.organization_id, status=DeliveryStatus.DEAD)
    )
    rows, total = _first_rows(dead.order_by("-id"), "pk", "event_type", "target_url", "updated_at")
    items = [
        {
            "label": f"{row['event_type']} to {row['target_url']}",
            "detail": "dead since",
            "since": row["updated_at"],
            "url": reverse("deliveries:delivery-detail", args=[row["pk"]]),
        }
        for row in rows
    ]
    return AttentionGroup("dead_letters", "Dead letters", total, items)


def _failing_webhooks(scope: Scope, now: datetime.datetime) -> AttentionGroup:
    since = (now - datetime.timedelta(days=1)).date()
    refused = WebhookRefusalCount.objects.filter(webhook=OuterRef("pk"), day__gte=since)
    inbound = scope.boards(
        BoardWebhook.objects.filter(board__organization_id=scope.organization_id)
    ).annotate(refused_recently=_count(refused))
    failing_inbound = inbound.filter(Q(enabled=False) | Q(refused_recently__gt=0))
    rows, inbound_total = _first_rows(
        failing_inbound.order_by("-refused_recently", "pk"),
        "pk",
        "description",
        "enabled",
        "refused_recently",
        "board__name",
    )
    items = [
        {
            "label": row["description"] or f"webhook {row['pk']} ({row['board__name']})",
            "detail": "disabled"
            if not row["enabled"]
            else f"{row['refused_recently']} refused in the last day",
            "url": reverse("webhooks:webhook-detail", args=[row["pk"]]),
        }
        for row in rows
    ]
    disabled = scope.boards(
        Subscription.objects.filter(organization_id=scope.organization_id, enabled=False).exclude(
            disabled_reason=""
        )
    )
    subscription_rows, subscription_total = _first_rows(
        disabled.order_by("pk"), "pk", "description", "target_url", "disabled_reason"
    )
    for row in subscription_rows[: max(ATTENTION_ITEMS_MAX - len(items), 0)]:
        items.append(
            {
                "label": row["description"] or row["target_url"],
                "detail": f"subscription auto-disabled: {row['disabled_reason']}",
                "url": reverse("deliveries:subscription-detail", args=[row["pk"]]),
            }
        )
    total = inbound_total + subscription_total
    return AttentionGroup("failing_webhooks", "Webhooks failing or auto-disabled", total, items)


def needs_attention(
    scope: Scope, now: datetime.datetime | None = None, agents: list[Agent] | None = None
) -> list[AttentionGroup]:
    """Each group links to where it is fixed; pass the fleet already read to save its queries."""
    now = now or timezone.now()
    return [
        _stale_tasks(scope, now),
        _approvals(scope),
        _dead_letters(scope),
        _failing_webhooks(scope, now),
        _offline_holders_from(agents if agents is not None else fleet(scope, now)),
    ]


def _holder_detail(agent: Agent) -> str:
    """ "holds 2 open tasks; last seen" (the template appends when) or "...; never seen"."""
    tasks = "open task" if agent.claimed_count == 1 else "open tasks"
    seen = "last seen" if agent.last_seen_at else "never seen"
    return f"holds {agent.claimed_count} {tasks}; {seen}"


def _offline_holders_from(agents: list[Agent]) -> AttentionGroup:
    holders = [agent for agent in agents if agent.live_presence == "offline" and agent.claimed_count > 0]
    items = [
        {
            "label": agent.name,
            "detail": _holder_detail(agent),
            "since": agent.last_seen_at,
            "url": reverse("agents:agent-detail", args=[agent.pk]),
        }
        for agent in holders[:ATTENTION_ITEMS_MAX]
    ]
    return AttentionGroup("offline_holders", "Agents offline holding tasks", len(holders), items)
