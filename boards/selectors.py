"""Reads that span several models (board summaries, feeds); the pages and the API share them."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet

from boards.models import Approval, ApprovalStatus, Board, Task, TaskStatus


def boards_with_status_counts(boards: QuerySet[Board]) -> QuerySet[Board]:
    """One query: each board with `count_<status>` and `count_total` annotations."""
    annotations = {
        f"count_{status}": Count("tasks", filter=Q(tasks__status=status), distinct=True)
        for status in TaskStatus.values
    }
    return boards.annotate(count_total=Count("tasks", distinct=True), **annotations)


def tasks_for_cards(tasks: QuerySet[Task]) -> QuerySet[Task]:
    """Everything a card shows, including an open approval, in a fixed number of queries."""
    return tasks.with_card_data().prefetch_related(
        Prefetch(
            "approvals",
            queryset=Approval.objects.filter(status=ApprovalStatus.PENDING),
            to_attr="pending_approvals",
        ),
    )
