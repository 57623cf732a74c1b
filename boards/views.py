"""Pages for boards: list, kanban, task detail, activity feeds, and the htmx partials live.js uses.

Every read is scoped by membership (a board you may not see is a 404); every write goes through
boards.services, whose role checks are the real gate (templates only hide controls). Domain
errors come back inline: the htmx target is re-rendered with the message, or the page is
redisplayed with a message, never a raw 500.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from activity import registry
from activity.models import ActivityEvent
from boards import services
from boards.models import Approval, Board, BoardGroup, Tag, Task, TaskPriority, TaskStatus
from boards.selectors import boards_with_status_counts, tasks_for_cards
from core import services as core_services
from core.access import (
    CURRENT_ORGANIZATION_SESSION_KEY,
    current_organization,
    membership_for,
    organizations_of,
)
from core.actors import Actor, ActorKind
from core.ids import parse_id
from core.models import PersonalToken, Role
from core.partials import is_partial
from core.vocabulary import AgentStatus
from infra.exceptions import DomainError

User = get_user_model()
FEED_PAGE_SIZE = 50
BOARD_FEED_SIZE = 20
COLUMN_ORDER = [
    TaskStatus.INBOX,
    TaskStatus.IN_PROGRESS,
    TaskStatus.REVIEW,
    TaskStatus.DONE,
    TaskStatus.BLOCKED,
]


# --- forms ----------------------------------------------------------------------------------------


class BoardForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000)
    require_approval_for_done = forms.BooleanField(required=False, label="Require approval to finish a task")
    require_comment_for_review = forms.BooleanField(
        required=False, label="Require a comment when a task goes to review"
    )
    send_work_to_gateway_agents = forms.BooleanField(
        required=False,
        label="Send work to gateway agents when assigned",
        help_text="A task assigned to an agent that runs on an OpenClaw gateway wakes it with the task.",
    )
    group = forms.ModelChoiceField(queryset=BoardGroup.objects.none(), required=False, empty_label="No group")

    def __init__(self, *args, organization_id: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = BoardGroup.objects.filter(organization_id=organization_id)


class TaskForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}), required=False, max_length=20000, help_text="Markdown."
    )
    priority = forms.ChoiceField(choices=TaskPriority.choices, initial=TaskPriority.MEDIUM)
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    tags = forms.CharField(required=False, max_length=900, help_text="Comma-separated.")
    assignee = forms.ChoiceField(required=False)

    def __init__(self, *args, board: Board, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.board = board
        self.fields["assignee"].choices = assignee_choices(board)

    def clean_tags(self) -> list[str]:
        names = [n.strip() for n in self.cleaned_data["tags"].split(",") if n.strip()]
        if len(names) > services.TAGS_PER_TASK_MAX:
            raise forms.ValidationError(f"At most {services.TAGS_PER_TASK_MAX} tags.")
        for name in names:
            if len(name) > services.TAG_MAX_LENGTH:
                raise forms.ValidationError(f"A tag is at most {services.TAG_MAX_LENGTH} characters.")
        return names

    def assignees(self) -> dict[str, Any]:
        return resolve_assignee(self.board, self.cleaned_data.get("assignee") or "")

    def task_fields(self) -> dict[str, Any]:
        """The service keyword arguments, the same for create_task and update_task."""
        data = self.cleaned_data
        return {
            "title": data["title"],
            "description": data["description"],
            "priority": data["priority"],
            "due_date": data["due_date"],
            "tag_names": data["tags"],
            **self.assignees(),
        }


def assignee_choices(board: Board) -> list[tuple[str, str]]:
    agents = board.organization.agents.filter(status=AgentStatus.ACTIVE)
    users = User.objects.filter(memberships__organization_id=board.organization_id).order_by("username")
    return [
        ("", "Nobody"),
        *((f"agent:{a.pk}", f"Agent · {a.name}") for a in agents),
        *((f"user:{u.pk}", f"{u.get_username()}") for u in users),
    ]


def resolve_assignee(board: Board, value: str) -> dict[str, Any]:
    kind, _, raw_id = value.partition(":")
    pk = parse_id(raw_id)
    if kind == "agent" and pk is not None:
        agent = board.organization.agents.filter(pk=pk).first()
        return {"assignee_agent": agent, "assignee_user": None}
    if kind == "user" and pk is not None:
        user = User.objects.filter(memberships__organization_id=board.organization_id, pk=pk).first()
        return {"assignee_agent": None, "assignee_user": user}
    return {"assignee_agent": None, "assignee_user": None}


def assignee_value(task: Task) -> str:
    if task.assignee_agent_id:
        return f"agent:{task.assignee_agent_id}"
    if task.assignee_user_id:
        return f"user:{task.assignee_user_id}"
    return ""


# --- helpers --------------------------------------------------------------------------------------


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user)


def _board_context(request: HttpRequest, board_id: int) -> tuple[Board, dict[str, Any]]:
    board = get_object_or_404(
        Board.objects.visible_to(request.user).select_related("organization"), pk=board_id
    )
    membership = membership_for(request.user, board.organization_id)
    can_edit = membership is not None and membership.has_role(Role.OPERATOR) and not board.archived
    can_manage = membership is not None and membership.has_role(Role.ADMIN)
    return board, {"board": board, "membership": membership, "can_edit": can_edit, "can_manage": can_manage}


def _decorate(tasks: list[Task]) -> list[Task]:
    """What a card needs beyond the row: open dependencies (the lock), a pending approval, its URLs.

    URLs are formatted from one reversed pattern: reversing three URLs per card dominated the
    render time of a 1,000-task board.
    """
    detail_pattern = (
        reverse("boards:task-detail", args=[1, 2]).replace("/1/", "/{board}/").replace("/2/", "/{task}/")
    )
    move_pattern = (
        reverse("boards:task-move", args=[1, 2]).replace("/1/", "/{board}/").replace("/2/", "/{task}/")
    )
    for task in tasks:
        task.detail_url = detail_pattern.format(board=task.board_id, task=task.pk)
        task.move_url = move_pattern.format(board=task.board_id, task=task.pk)
        task.open_dependencies = [d for d in task.dependencies.all() if d.status != TaskStatus.DONE]
        pending = getattr(task, "pending_approvals", None) or []
        task.pending_approval = pending[0] if pending else None
    return tasks


COLUMN_CARD_LIMIT = 50


def board_filters(params) -> dict[str, str]:
    return {key: (params.get(key) or "").strip()[:200] for key in ("assignee", "tag", "q")}


def filter_tasks(tasks, filters: dict[str, str]):
    assignee = filters.get("assignee")
    if assignee == "none":
        tasks = tasks.unassigned()
    elif assignee:
        kind, _, raw_id = assignee.partition(":")
        pk = parse_id(raw_id)
        if pk is not None and kind in ("agent", "user"):
            tasks = tasks.filter(**{f"assignee_{kind}_id": pk})
    if filters.get("tag"):
        tasks = tasks.with_tag(filters["tag"])
    if filters.get("q"):
        tasks = tasks.matching_text(filters["q"])
    return tasks


def _columns(board: Board, filters: dict[str, str], *, show_all: bool = False) -> list[dict[str, Any]]:
    """The kanban columns; each shows its first COLUMN_CARD_LIMIT cards unless `show_all`.

    Two queries plus the card prefetches, whatever the board's size: the per-column cut is a
    window function, so a 1,000-task board renders a few hundred cards, not all of them.
    """
    tasks = filter_tasks(board.tasks.all(), filters)
    totals = dict(
        tasks.order_by().values("status").annotate(n=Count("id", distinct=True)).values_list("status", "n")
    )
    if not show_all:
        tasks = tasks.annotate(
            column_rank=Window(
                RowNumber(), partition_by=[F("status")], order_by=[F("position").asc(), F("id").asc()]
            )
        ).filter(column_rank__lte=COLUMN_CARD_LIMIT)
    by_status: dict[str, list[Task]] = {status: [] for status in COLUMN_ORDER}
    for task in _decorate(list(tasks_for_cards(tasks).order_by("position", "id"))):
        by_status.setdefault(task.status, []).append(task)
    return [
        {
            "status": status,
            "label": TaskStatus(status).label,
            "tasks": by_status[status],
            "total": totals.get(status, 0),
            "hidden": totals.get(status, 0) - len(by_status[status]),
        }
        for status in COLUMN_ORDER
    ]


def _filters_from_htmx(request: HttpRequest) -> tuple[dict[str, str], bool]:
    """The board's filters (and "show all") as in the browser's address bar (htmx sends it along)."""
    current = request.headers.get("HX-Current-URL", "")
    query = {k: v[0] for k, v in parse_qs(urlparse(current).query).items() if v}
    return board_filters(query), query.get("all") == "1"


def _board_url(board: Board, filters: dict[str, str] | None = None) -> str:
    url = reverse("boards:board-detail", args=[board.pk])
    active = {k: v for k, v in (filters or {}).items() if v}
    return f"{url}?{urlencode(active)}" if active else url


def _render_columns(
    request: HttpRequest, board: Board, context: dict[str, Any], **extra: Any
) -> HttpResponse:
    filters, show_all = _filters_from_htmx(request)
    context = {
        **context,
        "columns": _columns(board, filters, show_all=show_all),
        "show_all_url": _board_url(board, {**filters, "all": "1"}),
        "status_choices": _status_choices(),
        **extra,
    }
    return render(request, "boards/partials/columns.html", context)


def _status_choices() -> list[tuple[str, str]]:
    return [(status, TaskStatus(status).label) for status in COLUMN_ORDER]


# --- organizations and boards ---------------------------------------------------------------------


@login_required
@require_POST
def switch_organization(request: HttpRequest) -> HttpResponse:
    wanted = request.POST.get("organization", "")
    organization = next((o for o in organizations_of(request) if str(o.pk) == wanted), None)
    if organization is None:
        messages.error(request, "You are not a member of that organization.")
    else:
        request.session[CURRENT_ORGANIZATION_SESSION_KEY] = organization.pk
    return redirect("boards:board-list")


@login_required
@require_GET
def board_list(request: HttpRequest) -> HttpResponse:
    organization = current_organization(request)
    boards: list[Board] = []
    membership = None
    if organization is not None:
        membership = membership_for(request.user, organization)
        boards = list(
            boards_with_status_counts(
                Board.objects.filter(organization=organization, archived=False).select_related("group")
            ).order_by("name", "id")
        )
    for board in boards:
        board.counts = [(s, TaskStatus(s).label, getattr(board, f"count_{s}")) for s in COLUMN_ORDER]
        board.total = sum(count for _, _, count in board.counts)
    return render(
        request,
        "boards/board_list.html",
        {
            "organization": organization,
            "boards": boards,
            "sections": group_sections(boards),
            "can_manage": membership is not None and membership.has_role(Role.ADMIN),
        },
    )


def group_sections(boards: list[Board]) -> list[tuple[BoardGroup | None, list[Board]]]:
    """Boards under their groups in the admins' order, ungrouped ones last (empty groups left out)."""
    by_group: dict[int | None, list[Board]] = {}
    for board in boards:
        by_group.setdefault(board.group_id, []).append(board)
    groups = {b.group for b in boards if b.group is not None}
    groups = sorted(groups, key=lambda g: (g.position, g.name, g.pk))
    sections: list[tuple[BoardGroup | None, list[Board]]] = [(g, by_group[g.pk]) for g in groups]
    if None in by_group:
        sections.append((None, by_group[None]))
    return sections


@login_required
@require_http_methods(["GET", "POST"])
def board_create(request: HttpRequest) -> HttpResponse:
    organization = current_organization(request)
    if organization is None:
        return redirect("boards:board-list")
    membership = membership_for(request.user, organization)
    can_manage = membership is not None and membership.has_role(Role.ADMIN)
    form = BoardForm(request.POST or None, organization_id=organization.pk)
    status = 200
    if request.method == "POST" and can_manage:
        if form.is_valid():
            try:
                board = services.create_board(
                    organization=organization, actor=_actor(request), **form.cleaned_data
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Board “{board.name}” created. Add its first task below.")
                return redirect("boards:board-detail", board_id=board.pk)
        status = 400
    elif request.method == "POST":
        status = 403
    return render(
        request,
        "boards/board_form.html",
        {"form": form, "organization": organization, "can_manage": can_manage, "creating": True},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def board_settings(request: HttpRequest, board_id: int) -> HttpResponse:
    board, context = _board_context(request, board_id)
    initial = {
        "name": board.name,
        "description": board.description,
        "require_approval_for_done": board.require_approval_for_done,
        "require_comment_for_review": board.require_comment_for_review,
        "send_work_to_gateway_agents": board.send_work_to_gateway_agents,
        "group": board.group_id,
    }
    form = BoardForm(request.POST or None, initial=initial, organization_id=board.organization_id)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.update_board(board=board, actor=_actor(request), **form.cleaned_data)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, "Board settings saved.")
                return redirect("boards:board-detail", board_id=board.pk)
        status = 400 if form.errors else 403
    return render(
        request, "boards/board_form.html", {**context, "form": form, "creating": False}, status=status
    )


@login_required
@require_POST
def board_archive(request: HttpRequest, board_id: int) -> HttpResponse:
    board, _ = _board_context(request, board_id)
    try:
        services.archive_board(board=board, actor=_actor(request))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("boards:board-detail", board_id=board.pk)
    messages.success(request, f"Board “{board.name}” archived.")
    return redirect("boards:board-list")


@login_required
@require_GET
def board_detail(request: HttpRequest, board_id: int) -> HttpResponse:
    return _render_board(request, board_id)


def _render_board(
    request: HttpRequest, board_id: int, *, task_form: TaskForm | None = None, status: int = 200
) -> HttpResponse:
    board, context = _board_context(request, board_id)
    filters = board_filters(request.GET)
    columns = _columns(board, filters, show_all=request.GET.get("all") == "1")
    events = list(
        ActivityEvent.objects.filter(board=board, verb__in=registry.board_feed_verbs()).order_by("-id")[
            :BOARD_FEED_SIZE
        ]
    )
    context.update(
        {
            "columns": columns,
            "filters": filters,
            "filtering": any(filters.values()),
            "task_count": sum(c["total"] for c in columns),
            "show_all_url": _board_url(board, {**filters, "all": "1"}),
            "status_choices": _status_choices(),
            "assignee_options": assignee_choices(board)[1:],
            "tags": Tag.objects.filter(organization_id=board.organization_id).order_by("name"),
            "events": events,
            "task_form": task_form or TaskForm(board=board),
        }
    )
    return render(request, "boards/board_detail.html", context, status=status)


# --- tasks ----------------------------------------------------------------------------------------


@login_required
@require_POST
def task_create(request: HttpRequest, board_id: int) -> HttpResponse:
    board, _ = _board_context(request, board_id)
    form = TaskForm(request.POST, board=board)
    if not form.is_valid():
        return _render_board(request, board_id, task_form=form, status=400)
    try:
        task = services.create_task(board=board, actor=_actor(request), **form.task_fields())
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _render_board(request, board_id, task_form=form, status=400)
    messages.success(request, f"Task “{task.title}” added to the inbox.")
    return redirect(_board_url(board, board_filters(request.GET)))


@login_required
@require_POST
def task_move(request: HttpRequest, board_id: int, task_id: int) -> HttpResponse:
    board, context = _board_context(request, board_id)
    task = get_object_or_404(board.tasks.select_related("board"), pk=task_id)
    raw_position = request.POST.get("position", "")
    position = int(raw_position) if raw_position.isdigit() and len(raw_position) <= 9 else None
    error = ""
    try:
        task = services.move_task(
            task=task,
            actor=_actor(request),
            status=request.POST.get("status", ""),
            position=position,
            note=request.POST.get("note", "")[:20000],
        )
    except DomainError as exc:
        error = exc.message
    notice = (
        "Approval requested: the task stays in review until someone approves it."
        if (not error and getattr(task, "approval_requested", None))
        else ""
    )
    if is_partial(request):
        return _render_columns(request, board, context, move_error=error, move_notice=notice)
    if error:
        messages.error(request, error)
    elif notice:
        messages.info(request, notice)
    next_url = request.POST.get("next", "")
    if next_url == "task":
        return redirect("boards:task-detail", board_id=board.pk, task_id=task.pk)
    return redirect(_board_url(board))


@login_required
@require_POST
def task_assign(request: HttpRequest, board_id: int, task_id: int) -> HttpResponse:
    """Give a task to an agent or a person (`assignee` = agent:<id>, user:<id> or empty for
    nobody): the command palette's "Assign task". Then to the task, where the toast says so."""
    board, _ = _board_context(request, board_id)
    task = get_object_or_404(board.tasks.select_related("board"), pk=task_id)
    value = request.POST.get("assignee", "")[:40]
    people = resolve_assignee(board, value)
    if value and not (people["assignee_agent"] or people["assignee_user"]):
        messages.error(request, "That assignee is not in this organization.")
        return redirect("boards:task-detail", board_id=board.pk, task_id=task.pk)
    try:
        task = services.assign_task(
            task=task, actor=_actor(request), agent=people["assignee_agent"], user=people["assignee_user"]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        who = people["assignee_agent"] or people["assignee_user"]
        name = getattr(who, "name", None) or (who.get_username() if who else "nobody")
        messages.success(request, f"“{task.title}” is assigned to {name}.")
    return redirect("boards:task-detail", board_id=board.pk, task_id=task.pk)


@login_required
@require_http_methods(["GET", "POST"])
def task_detail(request: HttpRequest, board_id: int, task_id: int) -> HttpResponse:
    board, context = _board_context(request, board_id)
    task = get_object_or_404(tasks_for_cards(board.tasks.all()), pk=task_id)
    _decorate([task])
    form = None
    status = 200
    if request.method == "POST":
        form = TaskForm(request.POST, board=board)
        if form.is_valid():
            try:
                services.update_task(task=task, actor=_actor(request), **form.task_fields())
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, "Task saved.")
                return redirect("boards:task-detail", board_id=board.pk, task_id=task.pk)
        status = 400
    if form is None:
        form = TaskForm(
            board=board,
            initial={
                "title": task.title,
                "description": task.description,
                "priority": task.priority,
                "due_date": task.due_date,
                "tags": ", ".join(t.name for t in task.tags.all()),
                "assignee": assignee_value(task),
            },
        )
    return _render_task(request, board, task, context, form=form, status=status)


def _mentions(board: Board) -> dict[str, str]:
    """Names that @mentions in a task's description link to: its organization's agents and members."""
    names: dict[str, str] = {
        username.lower(): ""
        for username in get_user_model()
        .objects.filter(memberships__organization_id=board.organization_id)
        .values_list("username", flat=True)
    }
    agents = board.organization.agents.values_list("id", "name")
    for agent_id, name in agents:
        names[name.lower()] = reverse("agents:agent-detail", args=[agent_id])
    return names


def _render_task(
    request: HttpRequest,
    board: Board,
    task: Task,
    context: dict[str, Any],
    *,
    form: TaskForm | None = None,
    dependency_error: str = "",
    status: int = 200,
) -> HttpResponse:
    dependencies = list(task.dependencies.all())
    candidates = (
        board.tasks.exclude(pk=task.pk).exclude(pk__in=[d.pk for d in dependencies]).only("id", "title")
        if context["can_edit"]
        else Task.objects.none()
    )
    approvals = Approval.objects.filter(task=task).select_related("decided_by").order_by("-created_at")
    events = (
        ActivityEvent.objects.filter(board=board)
        .filter(Q(target_type="task", target_id=str(task.pk)) | Q(detail__task_id=task.pk))
        .order_by("-id")[:50]
    )
    context.update(
        {
            "task": task,
            "form": form,
            "dependencies": dependencies,
            "dependents": task.dependents.only("id", "title", "status"),
            "candidates": candidates,
            "approvals": approvals,
            "events": events,
            "mentions": _mentions(board),
            "status_choices": _status_choices(),
            "dependency_error": dependency_error,
        }
    )
    return render(request, "boards/task_detail.html", context, status=status)


@login_required
@require_POST
def task_dependency(request: HttpRequest, board_id: int, task_id: int) -> HttpResponse:
    board, context = _board_context(request, board_id)
    task = get_object_or_404(tasks_for_cards(board.tasks.all()), pk=task_id)
    other_id = parse_id(request.POST.get("depends_on"))
    other = board.tasks.filter(pk=other_id).first() if other_id is not None else None
    try:
        if other is None:
            raise DomainError("Pick a task of this board.")
        if request.POST.get("remove"):
            services.remove_dependency(task=task, depends_on=other, actor=_actor(request))
        else:
            services.add_dependency(task=task, depends_on=other, actor=_actor(request))
    except DomainError as exc:
        _decorate([task])
        return _render_task(request, board, task, context, dependency_error=exc.message, status=400)
    return redirect(reverse("boards:task-detail", args=[board.pk, task.pk]) + "#dependencies")


@login_required
@require_POST
def approval_decide(request: HttpRequest, board_id: int, approval_id: int) -> HttpResponse:
    board, _ = _board_context(request, board_id)
    approval = get_object_or_404(
        Approval.objects.filter(task__board=board).select_related("task"), pk=approval_id
    )
    try:
        services.decide_approval(
            approval=approval,
            actor=_actor(request),
            approve=request.POST.get("approve") == "1",
            reason=request.POST.get("reason", "")[:2000],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("boards:task-detail", board_id=board.pk, task_id=approval.task_id)


# --- partials for live updates --------------------------------------------------------------------


@login_required
@require_GET
def task_card(request: HttpRequest, board_id: int, task_id: int) -> HttpResponse:
    board, context = _board_context(request, board_id)
    task = get_object_or_404(tasks_for_cards(board.tasks.all()), pk=task_id)
    _decorate([task])
    return render(
        request, "boards/partials/card.html", {**context, "task": task, "status_choices": _status_choices()}
    )


@login_required
@require_GET
def activity_item(request: HttpRequest, board_id: int, event_id: int) -> HttpResponse:
    board, _ = _board_context(request, board_id)
    event = get_object_or_404(ActivityEvent.objects.filter(board=board), pk=event_id)
    if not _on_default_feed(event):
        return HttpResponse(status=204)
    return render(request, "boards/partials/activity_item.html", {"event": event})


def _on_default_feed(event: ActivityEvent) -> bool:
    """Live feeds show work only; presence, deliveries and sign-ins stay behind the filter."""
    event_type = registry.get_event_type(event.verb)
    return event_type is not None and event_type.on_board_feed


@login_required
@require_GET
def org_activity_item(request: HttpRequest, event_id: int) -> HttpResponse:
    """One feed entry of the current organization (the organization feed's live partial)."""
    organization = current_organization(request)
    if organization is None:
        raise Http404
    event = get_object_or_404(
        ActivityEvent.objects.filter(organization=organization).select_related("board"), pk=event_id
    )
    if not _on_default_feed(event):
        return HttpResponse(status=204)
    return render(request, "boards/partials/activity_item.html", {"event": event, "show_board": True})


# --- activity feeds -------------------------------------------------------------------------------


def filter_by_verb_choice(events, choice: str):
    """The feed's "What" filter: work by default, "all", a category ("task."), or one verb."""
    if choice == "all":
        return events
    if not choice:
        return events.filter(verb__in=registry.board_feed_verbs())
    if choice.endswith("."):
        verbs = registry.verbs_in_category(choice[:-1])
        return events.filter(verb__in=verbs) if verbs else events.filter(verb__startswith=choice)
    return events.filter(verb=choice)


def _feed(request: HttpRequest, events, base_context: dict[str, Any], template: str) -> HttpResponse:
    verb = (request.GET.get("verb") or "").strip()[:64]
    actor_kind = request.GET.get("actor") or ""
    events = filter_by_verb_choice(events, verb)
    if actor_kind in ActorKind.values:
        events = events.filter(actor_kind=actor_kind)
    page = Paginator(events.select_related("board").order_by("-id"), FEED_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = {
        k: v
        for k, v in {"verb": verb, "actor": actor_kind, **base_context.get("extra_query", {})}.items()
        if v
    }
    context = {
        "item_url": reverse("boards:activity-item-org", args=[0]).replace("/0/", "/{id}/"),
        **base_context,
        "live_feed": page.number == 1
        and not (verb or actor_kind or base_context.get("extra_query", {}).get("board")),
        "page": page,
        "verb": verb,
        "actor_kind": actor_kind,
        "actor_kinds": ActorKind.choices,
        "categories": registry.categories(),
        "query": urlencode(query),
    }
    return render(request, template, context)


@login_required
@require_GET
def activity_feed(request: HttpRequest) -> HttpResponse:
    organization = current_organization(request)
    if organization is None:
        return render(request, "boards/activity.html", {"organization": None, "page": None})
    events = ActivityEvent.objects.filter(organization=organization)
    boards = list(Board.objects.filter(organization=organization).only("id", "name").order_by("name"))
    board_id = request.GET.get("board") or ""
    if parse_id(board_id) is not None:
        events = events.filter(board_id=parse_id(board_id))
    return _feed(
        request,
        events,
        {
            "organization": organization,
            "boards": boards,
            "board_id": board_id,
            "extra_query": {"board": board_id},
        },
        "boards/activity.html",
    )


@login_required
@require_GET
def board_activity(request: HttpRequest, board_id: int) -> HttpResponse:
    board, context = _board_context(request, board_id)
    # No item URL: live.js fetches board entries from the board's own partial endpoint.
    return _feed(
        request,
        ActivityEvent.objects.filter(board=board),
        {**context, "item_url": ""},
        "boards/board_activity.html",
    )


# --- personal API tokens --------------------------------------------------------------------------


class PersonalTokenForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="Where the token is used, e.g. “release script”.")
    expires_in_days = forms.IntegerField(
        min_value=1,
        max_value=core_services.PERSONAL_TOKEN_MAX_DAYS,
        required=False,
        label="Expires in (days)",
        help_text="Empty: never expires (revoke it here when done).",
    )


@login_required
@require_http_methods(["GET", "POST"])
def personal_tokens(request: HttpRequest) -> HttpResponse:
    """Create, list and revoke your API tokens. A new token is shown in this response only."""
    form = PersonalTokenForm(request.POST if request.POST.get("action") == "create" else None)
    created_raw = ""
    status = 200
    if request.method == "POST" and request.POST.get("action") == "revoke":
        token = get_object_or_404(
            PersonalToken.objects.filter(user=request.user), pk=request.POST.get("token")
        )
        core_services.revoke_personal_token(token=token, user=request.user)
        messages.success(request, f"Token “{token.name}” revoked.")
        return redirect("boards:personal-tokens")
    if request.method == "POST" and form.is_valid():
        try:
            _, created_raw = core_services.create_personal_token(user=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = 400
        else:
            form = PersonalTokenForm()
    elif request.method == "POST":
        status = 400
    tokens = PersonalToken.objects.filter(user=request.user).order_by("-created_at", "-id")
    response = render(
        request,
        "boards/personal_tokens.html",
        {"form": form, "tokens": tokens, "created_raw": created_raw},
        status=status,
    )
    if created_raw:
        response["Cache-Control"] = "no-store"  # the one response that carries the token
    return response
