"""django-filter filtersets for the human API's lists."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from activity.models import ActivityEvent
from boards.models import Approval, ApprovalStatus, Board, Tag, Task, TaskPriority, TaskStatus
from core.actors import ActorKind
from core.ids import MAX_ID

# Ids beyond 64 bits are refused (400) before they reach the database: SQLite raises
# OverflowError on them, which would be a 500.


class IdFilter(django_filters.NumberFilter):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class BoardFilter(django_filters.FilterSet):
    organization = IdFilter(field_name="organization_id")
    group = IdFilter(field_name="group_id")
    archived = django_filters.BooleanFilter()
    search = django_filters.CharFilter(method="filter_search", max_length=200)

    class Meta:
        model = Board
        fields = ["organization", "group", "archived"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))


class TaskFilter(django_filters.FilterSet):
    board = IdFilter(field_name="board_id")
    status = django_filters.MultipleChoiceFilter(choices=TaskStatus.choices)
    priority = django_filters.MultipleChoiceFilter(choices=TaskPriority.choices)
    assignee_agent = IdFilter(field_name="assignee_agent_id")
    assignee_user = IdFilter(field_name="assignee_user_id")
    unassigned = django_filters.BooleanFilter(method="filter_unassigned")
    tag = django_filters.CharFilter(method="filter_tag", max_length=40, help_text="A tag name or id.")
    search = django_filters.CharFilter(
        method="filter_search", max_length=200, help_text="Text in the title or description."
    )

    class Meta:
        model = Task
        fields = ["board", "status", "priority", "assignee_agent", "assignee_user"]

    def filter_unassigned(self, queryset, name, value):
        return queryset.unassigned() if value else queryset.assigned_elsewhere()

    def filter_tag(self, queryset, name, value):
        return queryset.with_tag(value)

    def filter_search(self, queryset, name, value):
        return queryset.matching_text(value)


class TagFilter(django_filters.FilterSet):
    organization = IdFilter(field_name="organization_id")

    class Meta:
        model = Tag
        fields = ["organization"]


class ApprovalFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ApprovalStatus.choices)
    board = IdFilter(field_name="task__board_id")
    task = IdFilter(field_name="task_id")

    class Meta:
        model = Approval
        fields = ["status", "board", "task"]


class ActivityFilter(django_filters.FilterSet):
    organization = IdFilter(field_name="organization_id")
    board = IdFilter(field_name="board_id")
    actor_kind = django_filters.ChoiceFilter(choices=ActorKind.choices)
    actor_user = IdFilter(field_name="actor_user_id")
    actor_agent = IdFilter(field_name="actor_agent_id")
    verb = django_filters.CharFilter(
        method="filter_verb", max_length=64, help_text="Exact verb, or a prefix ending in '.' (task.)."
    )
    target_type = django_filters.CharFilter(max_length=32)
    target_id = django_filters.CharFilter(max_length=64)
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    after_id = IdFilter(field_name="id", lookup_expr="gt")
    # The cursor for a client that polls the log: positions are in commit order, ids are not, so
    # paging by after_id can skip an event that commits late (docs/realtime.md, "The cursor").
    after_position = IdFilter(
        field_name="position", lookup_expr="gt", help_text="Events after this position (commit order)."
    )

    class Meta:
        model = ActivityEvent
        fields = ["organization", "board", "actor_kind", "actor_user", "actor_agent", "verb"]

    def filter_verb(self, queryset, name, value):
        return queryset.filter(verb__startswith=value) if value.endswith(".") else queryset.filter(verb=value)
