"""The overview page (the landing page after login) and the fragments it re-renders live.

The page and its fragments read through overview.metrics and overview.fleet only; static/js/
overview.js re-fetches a fragment when the organization's stream reports an event that changes
it (no polling). Scope is the current organization, optionally one of its boards. Each view
first catches the task-flow rollup up with the log (a query or two when nothing is new).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from activity.models import ActivityEvent
from boards.models import Board, TaskStatus
from core.access import current_organization
from core.actors import Actor
from core.ids import parse_id
from core.models import Organization
from infra.exceptions import DomainError
from overview import fleet as fleet_reads
from overview import metrics, onboarding, palette, services
from overview.metrics import Period, Scope
from overview.rollup import catch_up_before_read

FEED_SIZE = 15


@dataclass(frozen=True)
class OverviewFilter:
    organization: Organization
    boards: list[Board]
    board: Board | None
    days: int

    @property
    def scope(self) -> Scope:
        return Scope(self.organization.pk, None if self.board is None else (self.board.pk,))

    @property
    def query(self) -> str:
        board = f"board={self.board.pk}&" if self.board else ""
        return f"{board}days={self.days}"


def read_filter(request: HttpRequest) -> OverviewFilter | None:
    """The organization in the switcher, the `board` (one of its boards, else 404) and `days`."""
    organization = current_organization(request)
    if organization is None:
        return None
    boards = list(Board.objects.filter(organization=organization).only("id", "name").order_by("name"))
    board = None
    raw_board = request.GET.get("board") or ""
    if raw_board:
        board_id = parse_id(raw_board)
        board = Board.objects.filter(organization=organization, pk=board_id).first() if board_id else None
        if board is None:
            raise Http404("No such board.")
    days = parse_id(request.GET.get("days"))
    if days not in metrics.PERIOD_DAYS:
        days = metrics.DEFAULT_PERIOD_DAYS
    return OverviewFilter(organization=organization, boards=boards, board=board, days=days)


def _numbers_context(selected: OverviewFilter) -> dict:
    boards = {board.pk: board.name for board in selected.boards}
    summary = metrics.overview(selected.scope, Period.ending_today(selected.days), boards)
    return {
        "summary": summary,
        "wip": [(TaskStatus(status).label, count) for status, count in summary.wip.items()],
    }


def _fleet_context(selected: OverviewFilter) -> dict:
    agents = fleet_reads.fleet(selected.scope)
    return {"agents": agents, "attention": fleet_reads.needs_attention(selected.scope, agents=agents)}


# Sign-ins are the audit trail's (the activity page keeps them), not what the fleet is doing.
FEED_HIDDEN_PREFIX = "auth."


@login_required
@require_GET
def overview_page(request: HttpRequest) -> HttpResponse:
    selected = read_filter(request)
    if selected is None:
        return render(request, "overview/overview.html", {"selected": None})
    catch_up_before_read()
    events = ActivityEvent.objects.filter(organization=selected.organization).exclude(
        verb__startswith=FEED_HIDDEN_PREFIX
    )
    if selected.board is not None:
        events = events.filter(board=selected.board)
    context = {
        "selected": selected,
        "period_choices": metrics.PERIOD_DAYS,
        "feed_hidden_prefix": FEED_HIDDEN_PREFIX,
        "feed": list(events.select_related("board").order_by("-id")[:FEED_SIZE]),
        "onboarding": onboarding.checklist_for(request.user, selected.organization),
        **_numbers_context(selected),
        **_fleet_context(selected),
    }
    return render(request, "overview/overview.html", context)


def _fragment(request: HttpRequest, template: str, build: Callable[[OverviewFilter], dict]) -> HttpResponse:
    selected = read_filter(request)
    if selected is None:
        raise Http404
    catch_up_before_read()
    return render(request, template, {"selected": selected, **build(selected)})


@login_required
@require_GET
def numbers_fragment(request: HttpRequest) -> HttpResponse:
    """KPIs, work in progress and charts, re-rendered when tasks or webhooks change."""
    return _fragment(request, "overview/partials/numbers.html", _numbers_context)


@login_required
@require_GET
def fleet_fragment(request: HttpRequest) -> HttpResponse:
    """Fleet tiles and the needs-attention list, re-rendered when agents or work change."""
    return _fragment(request, "overview/partials/fleet.html", _fleet_context)


@login_required
@require_GET
def palette_actions(request: HttpRequest) -> JsonResponse:
    """The command palette's actions and their choices, for the signed-in person (JSON)."""
    response = JsonResponse(palette.palette_choices(request.user))
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def onboarding_fragment(request: HttpRequest) -> HttpResponse:
    """The first-run checklist, re-read live; a complete one stays (green) on the page that
    showed it, until the person hides it."""
    checklist = onboarding.checklist_for(request.user, current_organization(request), keep_complete=True)
    return render(request, "overview/partials/onboarding.html", {"onboarding": checklist})


@login_required
@require_POST
def onboarding_dismiss(request: HttpRequest) -> HttpResponse:
    """Hide the first-run checklist for this person (admins: the only ones who see it)."""
    organization = current_organization(request)
    if organization is None:
        raise Http404
    try:
        services.dismiss_onboarding(actor=Actor.for_user(request.user), organization=organization)
    except DomainError as exc:
        raise PermissionDenied(exc.message) from None
    messages.info(request, "Checklist hidden. Boards, agents, webhooks and the team are in the sidebar.")
    return redirect("overview:overview")
