"""Pages for inbound webhooks: the index, a board's webhooks, one webhook's payload log, a payload.

Members read; admins create, enable/disable, rotate and delete (the services check). A new
secret is rendered once, in the response to the POST that made it, with `no-store`; it is
never put in the session, a redirect or a log. Payload bodies and headers are the sender's
bytes: they are only ever rendered through autoescaping.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.db.models.functions import Length
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from boards.models import Board
from core.access import membership_for
from core.actors import Actor
from core.models import Role
from infra.exceptions import DomainError
from webhooks import services
from webhooks.api.serializers import payload_status
from webhooks.models import BoardWebhook

GRACE_CHOICES = [
    (0, "None: the old secret stops now"),
    (3600, "1 hour"),
    (86400, "24 hours"),
    (7 * 86400, "7 days"),
]


class WebhookForm(forms.Form):
    description = forms.CharField(max_length=200, required=False)
    signature_header = forms.CharField(
        max_length=64,
        required=False,
        help_text="Leave empty for X-Hub-Signature-256 / X-Webhook-Signature (and Standard Webhooks).",
    )
    # Its queryset is the board's organization's agents (__init__).
    target_agent = forms.ModelChoiceField(queryset=None, required=False, empty_label="Board lead (default)")
    creates_task = forms.BooleanField(required=False, label="Create an inbox task for each payload")
    task_title_template = forms.CharField(
        max_length=200, required=False, help_text="e.g. {action}: {title} — top-level JSON keys in braces."
    )
    unsigned = forms.BooleanField(
        required=False, label="Accept unsigned payloads (anyone with the URL can post; not recommended)"
    )

    def __init__(self, *args, board: Board, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target_agent"].queryset = board.organization.agents.all()


class RotateForm(forms.Form):
    grace_seconds = forms.TypedChoiceField(choices=GRACE_CHOICES, coerce=int, initial=0)


class PayloadFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any"), ("json", "JSON"), ("invalid_json", "Invalid JSON"), ("raw", "Not JSON")],
    )
    received_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    received_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


def _is_admin(user, organization_id: int) -> bool:
    membership = membership_for(user, organization_id)
    return membership is not None and membership.has_role(Role.ADMIN)


def _visible_webhook(request: HttpRequest, webhook_id: int) -> BoardWebhook:
    return get_object_or_404(
        services.webhooks_visible_to(request.user).select_related("board", "target_agent", "created_by"),
        pk=webhook_id,
    )


def _secret_page(
    request: HttpRequest,
    webhook: BoardWebhook,
    secret: str | None,
    *,
    rotated: bool = False,
    grace_seconds: int = 0,
) -> HttpResponse:
    url = services.webhook_url(webhook)
    response = render(
        request,
        "webhooks/secret_shown.html",
        {
            "webhook": webhook,
            "board": webhook.board,
            "secret": secret,
            "url": url,
            "rotated": rotated,
            "grace_seconds": grace_seconds,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
def webhook_index(request: HttpRequest) -> HttpResponse:
    boards = (
        Board.objects.visible_to(request.user)
        .filter(archived=False)
        .select_related("organization")
        .annotate(webhook_count=Count("webhooks"))
        .order_by("name")
    )
    webhooks = (
        services.webhooks_visible_to(request.user)
        .select_related("board", "target_agent")
        .order_by("board__name", "-created_at")
    )
    return render(request, "webhooks/index.html", {"boards": boards, "webhooks": webhooks})


@login_required
def board_webhooks(request: HttpRequest, board_id: int) -> HttpResponse:
    board = get_object_or_404(
        Board.objects.visible_to(request.user).select_related("organization"), pk=board_id
    )
    can_manage = _is_admin(request.user, board.organization_id)
    form = WebhookForm(board=board)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("Only organization admins create webhooks.")
        form = WebhookForm(request.POST, board=board)
        if form.is_valid():
            data = form.cleaned_data
            try:
                webhook, secret = services.create_webhook(
                    board=board,
                    actor=Actor.for_user(request.user),
                    description=data["description"],
                    signature_header=data["signature_header"],
                    target_agent=data["target_agent"],
                    creates_task=data["creates_task"],
                    task_title_template=data["task_title_template"],
                    secret="" if data["unsigned"] else None,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                return _secret_page(request, webhook, secret)
    webhooks = board.webhooks.select_related("target_agent").order_by("-created_at")
    return render(
        request,
        "webhooks/board_webhooks.html",
        {
            "board": board,
            "webhooks": webhooks,
            "form": form,
            "can_manage": can_manage,
        },
        status=400 if form.errors else 200,
    )


@login_required
def webhook_detail(request: HttpRequest, webhook_id: int) -> HttpResponse:
    webhook = _visible_webhook(request, webhook_id)
    filters = PayloadFilterForm(request.GET or None)
    payloads = webhook.payloads.defer("body", "payload", "headers").annotate(size=Length("body"))
    payloads = payloads.order_by("-id")
    if filters.is_valid():
        payloads = services.filter_payloads(
            payloads,
            status=filters.cleaned_data["status"],
            received_from=filters.cleaned_data["received_from"],
            received_to=filters.cleaned_data["received_to"],
        )
    page = Paginator(payloads, 50).get_page(request.GET.get("page"))
    rows = [(payload, payload_status(payload)) for payload in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "webhooks/webhook_detail.html",
        {
            "webhook": webhook,
            "board": webhook.board,
            "url": services.webhook_url(webhook),
            "can_manage": _is_admin(request.user, webhook.board.organization_id),
            "rotate_form": RotateForm(),
            "filters": filters,
            "page": page,
            "rows": rows,
            "filter_query": query.urlencode(),
            "signed": bool(webhook.secret_ciphertext),
        },
    )


@login_required
@require_POST
def webhook_enabled(request: HttpRequest, webhook_id: int) -> HttpResponse:
    webhook = _visible_webhook(request, webhook_id)
    enabled = request.POST.get("enabled") == "1"
    try:
        services.set_webhook_enabled(webhook=webhook, actor=Actor.for_user(request.user), enabled=enabled)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Webhook enabled." if enabled else "Webhook disabled: senders now get 410.")
    return redirect("webhooks:webhook-detail", webhook.pk)


@login_required
@require_POST
def webhook_rotate(request: HttpRequest, webhook_id: int) -> HttpResponse:
    webhook = _visible_webhook(request, webhook_id)
    form = RotateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a grace period.")
        return redirect("webhooks:webhook-detail", webhook.pk)
    grace = form.cleaned_data["grace_seconds"]
    try:
        secret = services.rotate_webhook_secret(
            webhook=webhook, actor=Actor.for_user(request.user), grace_seconds=grace
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("webhooks:webhook-detail", webhook.pk)
    webhook.refresh_from_db()
    return _secret_page(request, webhook, secret, rotated=True, grace_seconds=grace)


@login_required
@require_POST
def webhook_delete(request: HttpRequest, webhook_id: int) -> HttpResponse:
    webhook = _visible_webhook(request, webhook_id)
    board_id = webhook.board_id
    try:
        services.delete_webhook(webhook=webhook, actor=Actor.for_user(request.user))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("webhooks:webhook-detail", webhook.pk)
    messages.success(request, "Webhook deleted, with its stored payloads.")
    return redirect("webhooks:board-webhooks", board_id)


@login_required
def payload_detail(request: HttpRequest, payload_id: int) -> HttpResponse:
    payload = get_object_or_404(
        services.payloads_visible_to(request.user).select_related("webhook", "board"), pk=payload_id
    )
    body = bytes(payload.body)
    status = payload_status(payload)
    pretty = None
    if status == "json":
        pretty = json.dumps(payload.payload, indent=2, ensure_ascii=False, sort_keys=True)
    membership = membership_for(request.user, payload.board.organization_id)
    return render(
        request,
        "webhooks/payload_detail.html",
        {
            "payload": payload,
            "webhook": payload.webhook,
            "board": payload.board,
            "pretty": pretty,
            "body_text": body.decode("utf-8", errors="replace"),
            "size": len(body),
            "headers": sorted(payload.headers.items()),
            "status": status,
            "can_replay": membership is not None and membership.has_role(Role.OPERATOR),
        },
    )


@login_required
@require_POST
def payload_replay(request: HttpRequest, payload_id: int) -> HttpResponse:
    payload = get_object_or_404(
        services.payloads_visible_to(request.user).select_related("webhook__board"), pk=payload_id
    )
    try:
        services.replay_webhook_payload(payload=payload, actor=Actor.for_user(request.user))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Sent to the agent again.")
    return redirect(reverse("webhooks:payload-detail", args=[payload.pk]))
