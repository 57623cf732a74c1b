"""Pages of board chat: the panel (on the board page, and a task's thread on the task page),
history pages for infinite scroll back, one message (what live updates fetch), and the writes.

Every read is scoped by membership (another organization's board is a 404); every write goes
through chat.services, whose checks are the real gate (templates only hide controls). With
JavaScript the panel posts with fetch and swaps in the returned fragment; without, forms post
and redirect back.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from boards.models import Board, Task
from chat import services
from chat.mentions import mention_candidates
from chat.models import ChatMessage
from core.access import membership_for
from core.actors import Actor
from core.ids import parse_id
from core.models import Membership, Role
from core.partials import is_partial
from infra.exceptions import DomainError, RateLimited

PAGE_SIZE = 30


def _board_and_membership(request: HttpRequest, board_id: int) -> tuple[Board, Membership]:
    board = Board.objects.filter(pk=board_id).first()
    membership = membership_for(request.user, board.organization_id) if board is not None else None
    if membership is None:
        raise Http404
    return board, membership


def _thread_task(request: HttpRequest, board: Board, raw: str | None) -> Task | None:
    if not raw:
        return None
    task = Task.objects.filter(board=board, pk=parse_id(raw) or 0).first()
    if task is None:
        raise Http404
    return task


def _decorate(
    messages: list[ChatMessage], request: HttpRequest, membership: Membership, board: Board
) -> list[ChatMessage]:
    """What the viewer may do with each message (the services check again on every write)."""
    writable = not board.archived
    is_admin = membership.has_role(Role.ADMIN)
    can_post = membership.has_role(Role.OPERATOR)
    for message in messages:
        own = message.author_user_id == request.user.pk
        message.can_change = writable and not message.is_deleted and ((own and can_post) or is_admin)
        message.can_pin = writable and not message.is_deleted and can_post
    return messages


def _page_before(board: Board, task: Task | None, before: int | None) -> tuple[list[ChatMessage], bool]:
    """Up to PAGE_SIZE messages older than `before` (the newest when None), oldest first."""
    messages = ChatMessage.objects.in_thread(board_id=board.pk, task_id=task.pk if task else None)
    if before is not None:
        messages = messages.filter(id__lt=before)
    rows = list(messages.with_authors().order_by("-id")[: PAGE_SIZE + 1])
    has_older = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    rows.reverse()
    return rows, has_older


def _context(request, board, membership, task) -> dict:
    return {
        "board": board,
        "task": task,
        "max_chars": settings.CHAT_MESSAGE_MAX_CHARS,
        "can_post": membership.has_role(Role.OPERATOR) and not board.archived,
        # Admins edit and delete anyone's message (chat.services); chat.js builds pushed messages.
        "is_moderator": membership.has_role(Role.ADMIN) and not board.archived,
    }


@login_required
@require_http_methods(["GET", "POST"])
def chat_panel(request: HttpRequest, board_id: int) -> HttpResponse:
    """GET: the panel (pinned memory, the newest messages, the composer). POST: a new message."""
    board, membership = _board_and_membership(request, board_id)
    if request.method == "POST":
        return _post(request, board, membership)
    task = _thread_task(request, board, request.GET.get("task"))
    rows, has_older = _page_before(board, task, None)
    pinned = (
        []
        if task
        else list(
            ChatMessage.objects.filter(board=board, pinned_at__isnull=False)
            .with_authors()
            .order_by("-pinned_at")[:20]
        )
    )
    context = _context(request, board, membership, task)
    context.update(
        {
            "messages": _decorate(rows, request, membership, board),
            "has_older": has_older,
            "oldest_id": rows[0].pk if rows else None,
            "pinned": _decorate(pinned, request, membership, board),
        }
    )
    return render(request, "chat/partials/panel.html", context)


def _post(request: HttpRequest, board: Board, membership: Membership) -> HttpResponse:
    task = _thread_task(request, board, request.POST.get("task"))
    try:
        message = services.post_message(
            board=board, actor=Actor.for_user(request.user), body=request.POST.get("body", ""), task=task
        )
    except DomainError as exc:
        return _error(request, exc, board, task)
    if is_partial(request):
        return _render_message(request, membership, board, message.pk, status=201)
    return redirect(services.message_url(message))


def _error(request: HttpRequest, exc: DomainError, board: Board, task: Task | None) -> HttpResponse:
    if is_partial(request):
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return JsonResponse(
            {"error": {"code": exc.code, "message": exc.message}}, status=exc.status_code, headers=headers
        )
    flash.error(request, exc.message)
    if task is not None:
        return redirect("boards:task-detail", board_id=board.pk, task_id=task.pk)
    return redirect("boards:board-detail", board_id=board.pk)


@login_required
@require_GET
def chat_history(request: HttpRequest, board_id: int) -> HttpResponse:
    """Older messages for scrolling back: `before=<id>` (and `task=<id>` for a thread)."""
    board, membership = _board_and_membership(request, board_id)
    task = _thread_task(request, board, request.GET.get("task"))
    before = parse_id(request.GET.get("before"))
    if before is None:
        return JsonResponse(
            {"error": {"code": "invalid", "message": "before must be a message id."}}, status=400
        )
    rows, has_older = _page_before(board, task, before)
    context = _context(request, board, membership, task)
    context.update(
        {
            "messages": _decorate(rows, request, membership, board),
            "has_older": has_older,
            "oldest_id": rows[0].pk if rows else None,
        }
    )
    return render(request, "chat/partials/history.html", context)


def _render_message(request, membership, board, message_id: int, *, status: int = 200) -> HttpResponse:
    message = ChatMessage.objects.filter(board=board, pk=message_id).with_authors().first()
    if message is None:
        raise Http404
    _decorate([message], request, membership, board)
    return render(request, "chat/partials/message.html", {"message": message, "board": board}, status=status)


@login_required
@require_GET
def chat_message(request: HttpRequest, board_id: int, message_id: int) -> HttpResponse:
    board, membership = _board_and_membership(request, board_id)
    return _render_message(request, membership, board, message_id)


@login_required
@require_GET
def chat_pinned(request: HttpRequest, board_id: int) -> HttpResponse:
    board, _ = _board_and_membership(request, board_id)
    pinned = list(
        ChatMessage.objects.filter(board=board, pinned_at__isnull=False)
        .with_authors()
        .order_by("-pinned_at")[:20]
    )
    return render(request, "chat/partials/pinned.html", {"board": board, "pinned": pinned})


def _change(request: HttpRequest, board_id: int, message_id: int, change) -> HttpResponse:
    board, membership = _board_and_membership(request, board_id)
    message = ChatMessage.objects.filter(board=board, pk=message_id).select_related("board", "task").first()
    if message is None:
        raise Http404
    try:
        change(message, Actor.for_user(request.user))
    except DomainError as exc:
        return _error(request, exc, board, message.task)
    if is_partial(request):
        return _render_message(request, membership, board, message.pk)
    return redirect(services.message_url(message))


@login_required
@require_POST
def chat_edit(request: HttpRequest, board_id: int, message_id: int) -> HttpResponse:
    body = request.POST.get("body", "")
    return _change(
        request,
        board_id,
        message_id,
        lambda message, actor: services.edit_message(message=message, actor=actor, body=body),
    )


@login_required
@require_POST
def chat_delete(request: HttpRequest, board_id: int, message_id: int) -> HttpResponse:
    return _change(
        request,
        board_id,
        message_id,
        lambda message, actor: services.delete_message(message=message, actor=actor),
    )


@login_required
@require_POST
def chat_pin(request: HttpRequest, board_id: int, message_id: int) -> HttpResponse:
    pinned = request.POST.get("pinned") == "1"
    return _change(
        request,
        board_id,
        message_id,
        lambda message, actor: services.set_pinned(message=message, actor=actor, pinned=pinned),
    )


@login_required
@require_GET
def chat_mentionable(request: HttpRequest, board_id: int) -> HttpResponse:
    """The composer's @ suggestions: `{"results": [{"name", "kind", "label"}]}`."""
    board, _ = _board_and_membership(request, board_id)
    return JsonResponse({"results": mention_candidates(board=board, prefix=request.GET.get("q", ""))})
