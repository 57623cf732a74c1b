"""Pages for outbound deliveries: dead letters (global and per board), a target's deliveries,
one delivery's attempts timeline, and subscriptions (list, create, edit).

Members read; organization admins create and change subscriptions and replay (htmx buttons,
no inline script). A new subscription secret is rendered once, in the POST response, no-store.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from agents.models import Agent
from boards.models import Board
from core.actors import Actor
from core.models import Membership, Organization, Role
from core.partials import is_partial
from deliveries import outbound
from deliveries.models import Delivery, DeliveryAttempt, DeliveryStatus, Subscription
from infra.exceptions import DomainError

PAGE_SIZE = 50


def _member_org_ids(user) -> QuerySet:
    return Membership.objects.filter(user=user).values("organization_id")


def _admin_org_ids(user) -> set[int]:
    memberships = Membership.objects.filter(user=user, role=Role.ADMIN)
    return set(memberships.values_list("organization_id", flat=True))


def _deliveries_for(user) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(organization_id__in=_member_org_ids(user))
        .select_related("board", "subscription", "agent")
        .order_by("-id")
    )


def _render_list(
    request: HttpRequest, deliveries: QuerySet[Delivery], *, title: str, **context
) -> HttpResponse:
    status = request.GET.get("status", "")
    if status == "dead_letters":
        deliveries = deliveries.filter(status__in=outbound.DEAD_LETTER_STATUSES)
    elif status in DeliveryStatus.values:
        deliveries = deliveries.filter(status=status)
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "deliveries/list.html",
        {
            "title": title,
            "page": page,
            "status": status,
            "statuses": DeliveryStatus.choices,
            "admin_org_ids": _admin_org_ids(request.user),
            **context,
        },
    )


@login_required
def dead_letters(request: HttpRequest) -> HttpResponse:
    """Every dead or failed delivery across your organizations (default filter: dead letters)."""
    if "status" not in request.GET:
        request.GET = request.GET.copy()
        request.GET["status"] = "dead_letters"
    return _render_list(
        request, _deliveries_for(request.user), title="Deliveries", bulk_filter={"status": "dead_letters"}
    )


@login_required
def board_deliveries(request: HttpRequest, board_id: int) -> HttpResponse:
    board = get_object_or_404(Board.objects.visible_to(request.user).distinct(), pk=board_id)
    return _render_list(
        request,
        _deliveries_for(request.user).filter(board=board),
        title=f"Deliveries · {board.name}",
        board=board,
        bulk_filter={"board": board.pk},
    )


@login_required
def agent_deliveries(request: HttpRequest, agent_id: int) -> HttpResponse:
    agent = get_object_or_404(Agent.objects.visible_to(request.user).distinct(), pk=agent_id)
    return _render_list(
        request,
        _deliveries_for(request.user).filter(agent=agent),
        title=f"Deliveries to agent {agent.name}",
        agent=agent,
        bulk_filter={"agent": agent.pk},
    )


@login_required
def delivery_detail(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = get_object_or_404(
        _deliveries_for(request.user).prefetch_related(
            Prefetch("attempts", queryset=DeliveryAttempt.objects.order_by("started_at", "id"))
        ),
        pk=delivery_id,
    )
    attempts = list(delivery.attempts.all())
    return render(
        request,
        "deliveries/detail.html",
        {
            "delivery": delivery,
            "attempts": attempts,
            "last_attempt": attempts[-1] if attempts else None,
            "payload_json": json.dumps(delivery.payload, indent=2, sort_keys=True),
            "admin_org_ids": _admin_org_ids(request.user),
        },
    )


@login_required
@require_POST
def replay(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = get_object_or_404(_deliveries_for(request.user), pk=delivery_id)
    if delivery.organization_id not in _admin_org_ids(request.user):
        raise PermissionDenied
    error = ""
    try:
        delivery = outbound.replay_delivery(delivery=delivery, actor=Actor.for_user(request.user))
    except DomainError as exc:
        error = exc.message
    if is_partial(request):
        return render(
            request,
            "deliveries/partials/row.html",
            {
                "delivery": delivery,
                "error": error,
                "admin_org_ids": {delivery.organization_id},
            },
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Delivery {delivery.pk} is being replayed.")
    return redirect("deliveries:delivery-detail", delivery.pk)


@login_required
@require_POST
def bulk_replay(request: HttpRequest) -> HttpResponse:
    """Replay the dead letters of a board, an agent or all your organizations (admins only)."""
    deliveries = Delivery.objects.filter(
        organization_id__in=_admin_org_ids(request.user), status__in=outbound.DEAD_LETTER_STATUSES
    )
    for field in ("board", "agent", "subscription"):
        value = request.POST.get(field, "")
        if value.isdigit():
            deliveries = deliveries.filter(**{f"{field}_id": int(value)})
    ids = outbound.replay_deliveries(deliveries=deliveries, actor=Actor.for_user(request.user))
    text = f"Replaying {len(ids)} deliveries." if ids else "Nothing to replay."
    if is_partial(request):
        return HttpResponse(f'<p class="message" role="status">{text}</p>')
    messages.success(request, text)
    return redirect(
        request.POST.get("next")
        if request.POST.get("next", "").startswith("/deliveries/")
        else "deliveries:dead-letters"
    )


# --- subscriptions ---------------------------------------------------------------------------


class SubscriptionForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none())
    board = forms.ModelChoiceField(
        queryset=Board.objects.none(), required=False, empty_label="Every board of the organization"
    )
    target_url = forms.URLField(max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Events",
        help_text="None ticked: every event. Moving a card is “Task moved” (task.status_changed).",
    )
    description = forms.CharField(max_length=200, required=False)
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, user, instance: Subscription | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        admin_orgs = Organization.objects.filter(pk__in=_admin_org_ids(user))
        self.fields["organization"].queryset = admin_orgs
        self.fields["board"].queryset = Board.objects.filter(organization__in=admin_orgs)
        self.fields["event_types"].choices = outbound.subscribable_event_choices()
        self.instance = instance
        if instance is not None:
            del self.fields["organization"]  # a subscription stays in its organization
        elif len(admin_orgs) == 1:
            self.fields["organization"].initial = admin_orgs[0].pk

    def clean_target_url(self) -> str:
        url = self.cleaned_data["target_url"]
        try:
            outbound.validate_target_url(url)
        except outbound.TargetRefused as exc:
            raise forms.ValidationError(exc.message) from None
        return url

    def clean_event_types(self) -> list[str]:
        # The choices already refuse unknown types; sorted so an unchanged form is unchanged.
        return sorted(set(self.cleaned_data["event_types"]))

    def clean(self) -> dict:
        data = super().clean()
        organization_id = (
            data["organization"].pk
            if data.get("organization")
            else (self.instance.organization_id if self.instance else None)
        )
        if data.get("board") and data["board"].organization_id != organization_id:
            self.add_error("board", "The board is not in this organization.")
        return data


@login_required
def subscription_list(request: HttpRequest) -> HttpResponse:
    subscriptions = (
        Subscription.objects.filter(organization_id__in=_member_org_ids(request.user))
        .select_related("organization", "board")
        .order_by("-created_at", "-id")
    )
    can_create = bool(_admin_org_ids(request.user))
    form = SubscriptionForm(request.POST or None, user=request.user) if can_create else None
    if request.method == "POST":
        if not can_create:
            raise PermissionDenied
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                subscription, secret = outbound.create_subscription(
                    actor=Actor.for_user(request.user), organization=data.pop("organization"), **data
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                response = render(
                    request, "deliveries/secret_shown.html", {"subscription": subscription, "secret": secret}
                )
                response["Cache-Control"] = "no-store"
                return response
    return render(
        request,
        "deliveries/subscriptions.html",
        {
            "subscriptions": subscriptions,
            "form": form,
        },
    )


@login_required
def subscription_detail(request: HttpRequest, subscription_id: int) -> HttpResponse:
    subscription = get_object_or_404(
        Subscription.objects.filter(organization_id__in=_member_org_ids(request.user)).select_related(
            "organization", "board"
        ),
        pk=subscription_id,
    )
    is_admin = subscription.organization_id in _admin_org_ids(request.user)
    initial = {
        "board": subscription.board,
        "target_url": subscription.target_url,
        "event_types": subscription.event_types,
        "description": subscription.description,
        "enabled": subscription.enabled,
    }
    form = None
    if is_admin:
        form = SubscriptionForm(
            request.POST or None, user=request.user, instance=subscription, initial=initial
        )
    if request.method == "POST":
        if not is_admin:
            raise PermissionDenied
        if form.is_valid():
            changes = {k: v for k, v in form.cleaned_data.items() if k in form.changed_data}
            try:
                outbound.update_subscription(
                    actor=Actor.for_user(request.user), subscription=subscription, **changes
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, "Subscription saved.")
                return redirect("deliveries:subscription-detail", subscription.pk)
    deliveries = _deliveries_for(request.user).filter(subscription=subscription)
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "deliveries/subscription_detail.html",
        {
            "subscription": subscription,
            "form": form,
            "page": page,
            "is_admin": is_admin,
            "admin_org_ids": {subscription.organization_id} if is_admin else set(),
            "bulk_url": reverse("deliveries:bulk-replay"),
        },
    )
