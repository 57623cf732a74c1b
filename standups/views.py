"""The standup pages: an organization's and a board's standup for a day (posted rows as they were
sent; today's and unposted days computed from the log), live while the day is today; the settings
form (admins) and the email opt-in (every member, for themselves)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from boards.models import Board
from core.access import current_organization, membership_for
from core.actors import Actor
from core.models import Organization, Role
from deliveries.models import Subscription
from infra.exceptions import DomainError
from standups import figures as standup_figures
from standups import selectors, services


def _board_or_404(request: HttpRequest, board_id: int) -> Board:
    board = Board.objects.visible_to(request.user).select_related("organization").filter(pk=board_id).first()
    if board is None:
        raise Http404("Board not found.")
    return board


def _page(request: HttpRequest, organization: Organization | None, board: Board | None) -> HttpResponse:
    context: dict = {"organization": organization, "board": board}
    if organization is None:
        return render(request, "standups/standup.html", context)
    config = selectors.settings_for(organization.pk, organization_time_zone=organization.time_zone)
    membership = membership_for(request.user, organization)
    today = standup_figures.local_today(timezone.now(), config.time_zone)
    context.update(
        config=config,
        today=today,
        is_admin=membership is not None and membership.has_role(Role.ADMIN),
        opted_in=selectors.opted_in(request.user, organization.pk, board.pk if board else None),
        console_mail=selectors.console_mail(),
        due_hour=f"{config.hour:02d}:00",
    )
    if context["is_admin"] and board is None:
        context["subscriptions"] = Subscription.objects.filter(organization=organization).order_by(
            "-created_at"
        )
    try:
        day = selectors.parse_day(request.GET.get("date"), config)
    except DomainError as exc:
        context.update(error=exc.message, day=today)
        return render(request, "standups/standup.html", context, status=400)
    posted = selectors.posted(organization.pk, board.pk if board else None, day)
    figures = (
        posted.figures
        if posted is not None
        else standup_figures.compute(selectors.scope_of(config, board.pk if board else None), day)
    )
    context.update(
        day=day,
        is_today=day == today,
        posted=posted,
        figures=figures,
        sentences=standup_figures.sentences(figures),
        people=[(row, standup_figures.person_sentence(row)) for row in figures["people"]],
        chart=standup_figures.chart(figures),
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1) if day < today else None,
        boards=(
            Board.objects.filter(organization=organization, archived=False).order_by("name")
            if board is None
            else None
        ),
    )
    return render(request, "standups/standup.html", context)


@login_required
def organization_standup(request: HttpRequest) -> HttpResponse:
    return _page(request, current_organization(request), None)


@login_required
def board_standup(request: HttpRequest, board_id: int) -> HttpResponse:
    board = _board_or_404(request, board_id)
    return _page(request, board.organization, board)


def _back(board: Board | None, day: str) -> HttpResponse:
    url = services.page_url(board_id=board.pk if board else None)
    return redirect(f"{url}?date={day}" if day else url)


@login_required
@require_POST
def email_preference(request: HttpRequest) -> HttpResponse:
    """Opt in or out of a standup by email (the board's when `board` is posted, else the
    organization's), for oneself."""
    raw_board = request.POST.get("board", "")
    board = _board_or_404(request, int(raw_board)) if raw_board.isdigit() and len(raw_board) < 19 else None
    organization = board.organization if board else current_organization(request)
    if organization is None:
        raise Http404("You are not in an organization yet.")
    enabled = request.POST.get("enabled") == "1"
    services.set_standup_email(
        actor=Actor.for_user(request.user), organization=organization, board=board, enabled=enabled
    )
    messages.success(
        request,
        "You will get this standup by email every day."
        if enabled
        else "You will no longer get this standup by email.",
    )
    return _back(board, request.POST.get("date", "")[:10])


@login_required
@require_POST
def settings_update(request: HttpRequest) -> HttpResponse:
    """An admin saves when and where the current organization's standups go."""
    organization = current_organization(request)
    if organization is None:
        raise Http404("You are not in an organization yet.")
    membership = membership_for(request.user, organization)
    if membership is None or not membership.has_role(Role.ADMIN):
        raise DjangoPermissionDenied("Only organization admins change the standup settings.")
    raw_hour = request.POST.get("hour", "").strip()
    raw_subscription = request.POST.get("subscription", "").strip()
    try:
        if not raw_hour.isdigit() or len(raw_hour) > 2:
            raise DomainError("The hour is a whole number from 0 to 23.")
        subscription = None
        if raw_subscription:
            subscription = (
                Subscription.objects.filter(organization=organization, pk=int(raw_subscription)).first()
                if raw_subscription.isdigit() and len(raw_subscription) < 19
                else None
            )
            if subscription is None:
                raise DomainError("Pick one of this organization's subscriptions.")
        services.update_standup_settings(
            actor=Actor.for_user(request.user),
            organization=organization,
            enabled=request.POST.get("enabled") == "1",
            post_to_chat=request.POST.get("post_to_chat") == "1",
            hour=int(raw_hour),
            time_zone=request.POST.get("time_zone", "").strip()[:64],
            subscription=subscription,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Standup settings saved.")
    return _back(None, "")
