"""Pages for notifications: the list, mark read, mark all read; and per-person board mutes and
task watches. Every write goes through notifications.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from boards.models import Board, Task
from notifications import services
from notifications.models import Notification

PAGE_SIZE = 50


def _safe_local_url(url: str, request: HttpRequest) -> str | None:
    """Only paths of this site: a notification's link never sends anyone elsewhere."""
    if (
        url.startswith("/")
        and not url.startswith("//")
        and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()})
    ):
        return url
    return None


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = _safe_local_url(request.POST.get("next", ""), request)
    return redirect(target or fallback)


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    notifications = Notification.objects.for_recipient(request.user).select_related("board")
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/list.html",
        {
            "page": page,
            "unread": services.unread_count(request.user),
        },
    )


@login_required
@require_POST
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark read and follow the notification's link (a form button, so no GET changes state)."""
    notification = get_object_or_404(Notification.objects.for_recipient(request.user), pk=notification_id)
    services.mark_read(notification=notification, user=request.user)
    if request.POST.get("follow"):
        target = _safe_local_url(notification.url, request)
        if target:
            return redirect(target)
    return _back(request, reverse("notifications:list"))


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    changed = services.mark_all_read(user=request.user)
    messages.success(request, f"Marked {changed} notification{'s' if changed != 1 else ''} read.")
    return _back(request, reverse("notifications:list"))


def _member_board(request: HttpRequest, board_id: int) -> Board:
    board = Board.objects.visible_to(request.user).filter(pk=board_id).first()
    if board is None:
        raise Http404
    return board


@login_required
@require_POST
def board_mute(request: HttpRequest, board_id: int) -> HttpResponse:
    board = _member_board(request, board_id)
    muted = request.POST.get("muted") == "1"
    services.set_board_muted(board=board, user=request.user, muted=muted)
    messages.success(request, f"{'Muted' if muted else 'Unmuted'} notifications from {board.name}.")
    return _back(request, reverse("boards:board-detail", args=[board.pk]))


@login_required
@require_POST
def task_watch(request: HttpRequest, board_id: int, task_id: int) -> HttpResponse:
    board = _member_board(request, board_id)
    task = get_object_or_404(Task.objects.filter(board=board), pk=task_id)
    watched = request.POST.get("watched") == "1"
    services.set_task_watched(task=task, user=request.user, watched=watched)
    messages.success(request, f"{'Watching' if watched else 'Stopped watching'} “{task.title}”.")
    return _back(request, reverse("boards:task-detail", args=[board.pk, task.pk]))
