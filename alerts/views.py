"""Pages for alerts: incidents (list, timeline, acknowledge, snooze), rules (list, editor with a
7-day preview, send-test buttons) and the header badge.

Pages show the organization picked in the switcher. Members read; operators acknowledge and
snooze; admins write rules (the services check roles; another organization's ids are 404).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from activity import registry
from agents.models import Agent
from alerts import conditions, services
from alerts.conditions import OWN_VERB_PREFIX
from alerts.models import OPEN_STATES, AlertRule, Incident, IncidentState
from boards.models import Board
from core.access import current_organization, membership_for
from core.actors import Actor
from core.models import Role
from deliveries.models import Subscription
from gateways.models import Gateway
from infra.exceptions import DomainError
from usage.models import Budget
from webhooks.models import BoardWebhook

INCIDENTS_SHOWN = 100
STATE_FILTERS = [("open", "Open"), *IncidentState.choices, ("all", "All")]


def _organization(request: HttpRequest):
    organization = current_organization(request)
    if organization is None:
        raise Http404("You are not a member of any organization.")
    return organization


def _role(user, organization_id: int, role: str) -> bool:
    membership = membership_for(user, organization_id)
    return membership is not None and membership.has_role(role)


def _visible_incident(user, pk: int) -> Incident:
    incident = Incident.objects.visible_to(user).for_list().filter(pk=pk).first()
    if incident is None:
        raise Http404("No such incident.")
    return incident


def _visible_rule(user, pk: int) -> AlertRule:
    rule = AlertRule.objects.visible_to(user).select_related("board", "subscription").filter(pk=pk).first()
    if rule is None:
        raise Http404("No such rule.")
    return rule


def _incidents(organization, state: str):
    incidents = Incident.objects.filter(organization=organization).for_list()
    if state == "open":
        incidents = incidents.filter(state__in=OPEN_STATES)
    elif state in IncidentState.values:
        incidents = incidents.filter(state=state)
    return list(incidents.order_by("-opened_at", "-id")[:INCIDENTS_SHOWN])


def _state(request: HttpRequest) -> str:
    state = request.GET.get("state", "open")
    return state if state in dict(STATE_FILTERS) else "open"


# --- incidents ------------------------------------------------------------------------------------


@login_required
@require_GET
def incident_list(request: HttpRequest) -> HttpResponse:
    organization = _organization(request)
    state = _state(request)
    return render(
        request,
        "alerts/incident_list.html",
        {
            "organization": organization,
            "incidents": _incidents(organization, state),
            "state": state,
            "state_filters": STATE_FILTERS,
            "can_manage_rules": _role(request.user, organization.pk, Role.ADMIN),
        },
    )


@login_required
@require_GET
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _visible_incident(request.user, pk)
    return render(
        request,
        "alerts/incident_detail.html",
        {
            "incident": incident,
            "entries": list(incident.entries.select_related("actor_user")),
            "can_act": incident.is_open and _role(request.user, incident.organization_id, Role.OPERATOR),
            "snooze_choices": [(15, "15 minutes"), (60, "1 hour"), (240, "4 hours"), (1440, "1 day")],
        },
    )


def _act(request: HttpRequest, pk: int, act) -> HttpResponse:
    incident = _visible_incident(request.user, pk)
    try:
        act(incident)
    except DomainError as exc:
        if exc.status_code == 403:
            raise DjangoPermissionDenied(exc.message) from None
        messages.error(request, exc.message)
    return redirect("alerts:incident-detail", pk=incident.pk)


@login_required
@require_POST
def incident_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    reason = request.POST.get("reason", "")[:1000]
    return _act(
        request,
        pk,
        lambda incident: services.acknowledge_incident(
            actor=Actor.for_user(request.user), incident=incident, reason=reason
        ),
    )


@login_required
@require_POST
def incident_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    reason = request.POST.get("reason", "")[:1000]
    raw = request.POST.get("minutes", "")
    minutes = int(raw) if raw.isdigit() else 0
    return _act(
        request,
        pk,
        lambda incident: services.snooze_incident(
            actor=Actor.for_user(request.user), incident=incident, minutes=minutes, reason=reason
        ),
    )


@login_required
@require_GET
def badge(request: HttpRequest) -> HttpResponse:
    """The header's count of firing incidents (loaded by htmx, so pages pay no query for it)."""
    organization = current_organization(request)
    firing = 0
    if organization is not None:
        firing = Incident.objects.filter(organization=organization, state=IncidentState.FIRING).count()
    return render(request, "alerts/partials/badge.html", {"firing": firing})


# --- rules ------------------------------------------------------------------------------------------


@login_required
@require_GET
def rule_list(request: HttpRequest) -> HttpResponse:
    organization = _organization(request)
    rules = list(
        AlertRule.objects.filter(organization=organization)
        .select_related("board")
        .annotate(open_incidents=Count("incidents", filter=Q(incidents__state__in=OPEN_STATES)))
        .order_by("name", "id")
    )
    for rule in rules:
        condition = conditions.CATALOGUE.get(rule.condition)
        rule.condition_label = condition.label if condition else rule.condition
    return render(
        request,
        "alerts/rule_list.html",
        {
            "organization": organization,
            "rules": rules,
            "can_manage_rules": _role(request.user, organization.pk, Role.ADMIN),
        },
    )


def _object_choices(organization_id: int) -> dict[str, list[tuple[int, str]]]:
    return {
        "agent": [
            (a.pk, a.name) for a in Agent.objects.filter(organization_id=organization_id).only("id", "name")
        ],
        "subscription": [
            (s.pk, s.description or s.target_url)
            for s in Subscription.objects.filter(organization_id=organization_id)
        ],
        "webhook": [
            (w.pk, f"{w} ({w.board.name})")
            for w in BoardWebhook.objects.filter(board__organization_id=organization_id).select_related(
                "board"
            )
        ],
        "gateway": [
            (g.pk, g.name) for g in Gateway.objects.filter(organization_id=organization_id).only("id", "name")
        ],
        "budget": [
            (budget.pk, str(budget))
            for budget in Budget.objects.filter(organization_id=organization_id).select_related(
                "board", "agent"
            )
        ],
    }


def _event_type_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        (group, [(name, label) for name, label in items if not name.startswith(OWN_VERB_PREFIX)])
        for group, items in registry.choices()
        if group != registry.category_label("alert")
    ]


def _param_fields(organization_id: int, condition_key: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every condition's parameter inputs; the editor shows the chosen condition's (alerts.js)."""
    objects = _object_choices(organization_id)
    event_types = _event_type_choices()
    groups = []
    for condition in conditions.CATALOGUE.values():
        if not condition.active:
            continue
        current = params if condition.key == condition_key else {}
        fields = []
        for param in condition.params:
            value = current.get(param.name, param.default)
            fields.append(
                {
                    "param": param,
                    "input_name": f"{condition.key}__{param.name}",
                    "value": value,
                    "values": [str(v) for v in value] if isinstance(value, list) else [],
                    "objects": objects.get(param.model, []),
                    "event_types": event_types,
                }
            )
        groups.append({"condition": condition, "fields": fields, "selected": condition.key == condition_key})
    return groups


def _posted_params(post, condition_key: str) -> dict[str, Any]:
    condition = conditions.get_condition(condition_key)
    params: dict[str, Any] = {}
    for param in condition.params:
        name = f"{condition_key}__{param.name}"
        if param.kind in ("choices", "event_types"):
            params[param.name] = post.getlist(name)
        elif param.kind == "bool":
            params[param.name] = name in post
        else:
            value = post.get(name, "").strip()
            params[param.name] = value if value else None
    return params


def _posted_rule(request: HttpRequest, organization_id: int) -> dict[str, Any]:
    """The editor's fields, as service arguments (the services validate everything)."""
    post = request.POST
    condition_key = post.get("condition", "")
    conditions.get_condition(condition_key)
    board_id = post.get("board", "")
    subscription_id = post.get("subscription", "")
    cooldown = post.get("cooldown_minutes", "")
    if not cooldown.isdigit() or int(cooldown) > 7 * 24 * 60:
        raise DomainError("Cooldown: a whole number of minutes, at most 10080.", code="invalid_cooldown")
    board = (
        Board.objects.filter(organization_id=organization_id, pk=board_id).first()
        if board_id.isdigit()
        else None
    )
    subscription = (
        Subscription.objects.filter(organization_id=organization_id, pk=subscription_id).first()
        if subscription_id.isdigit()
        else None
    )
    return {
        "name": post.get("name", ""),
        "condition": condition_key,
        "params": _posted_params(post, condition_key),
        "board": board,
        "subscription": subscription,
        "cooldown_minutes": int(cooldown),
        "enabled": "enabled" in post,
        "notify_in_app": "notify_in_app" in post,
        "email_recipients": post.get("email_recipients", ""),
    }


def _editor(
    request: HttpRequest,
    organization,
    rule: AlertRule | None,
    values: dict[str, Any],
    *,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    condition_key = values.get("condition") or "agent_offline"
    return render(
        request,
        "alerts/rule_form.html",
        {
            "organization": organization,
            "rule": rule,
            "values": values,
            "error": error,
            "catalogue": [c for c in conditions.CATALOGUE.values()],
            "param_groups": _param_fields(organization.pk, condition_key, values.get("params") or {}),
            "boards": Board.objects.filter(organization=organization, archived=False).order_by("name"),
            "subscriptions": Subscription.objects.filter(organization=organization),
            "can_manage": _role(request.user, organization.pk, Role.ADMIN),
        },
        status=status,
    )


def _rule_values(rule: AlertRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "condition": rule.condition,
        "params": rule.params,
        "board": rule.board,
        "subscription": rule.subscription,
        "cooldown_minutes": rule.cooldown_minutes,
        "enabled": rule.enabled,
        "notify_in_app": rule.notify_in_app,
        "email_recipients": ", ".join(rule.email_recipients),
    }


@login_required
def rule_create(request: HttpRequest) -> HttpResponse:
    organization = _organization(request)
    if not _role(request.user, organization.pk, Role.ADMIN):
        raise DjangoPermissionDenied("Only organization admins create alert rules.")
    values: dict[str, Any] = {"cooldown_minutes": 60, "enabled": True, "notify_in_app": True}
    if request.method == "POST":
        try:
            values = _posted_rule(request, organization.pk)
            rule = services.create_rule(
                actor=Actor.for_user(request.user), organization=organization, **values
            )
        except DomainError as exc:
            return _editor(request, organization, None, values, error=exc.message, status=400)
        messages.success(request, f"Alert rule “{rule.name}” created.")
        return redirect("alerts:rule-edit", pk=rule.pk)
    return _editor(request, organization, None, values)


@login_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _visible_rule(request.user, pk)
    organization = rule.organization
    if request.method == "POST":
        if not _role(request.user, organization.pk, Role.ADMIN):
            raise DjangoPermissionDenied("Only organization admins change alert rules.")
        values: dict[str, Any] = {}
        try:
            values = _posted_rule(request, organization.pk)
            services.update_rule(actor=Actor.for_user(request.user), rule=rule, **values)
        except DomainError as exc:
            return _editor(
                request, organization, rule, values or _rule_values(rule), error=exc.message, status=400
            )
        messages.success(request, "Saved.")
        return redirect("alerts:rule-edit", pk=rule.pk)
    return _editor(request, organization, rule, _rule_values(rule))


@login_required
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _visible_rule(request.user, pk)
    try:
        services.delete_rule(actor=Actor.for_user(request.user), rule=rule)
    except DomainError as exc:
        raise DjangoPermissionDenied(exc.message) from None
    messages.success(request, f"Alert rule “{rule.name}” deleted.")
    return redirect("alerts:rule-list")


@login_required
@require_POST
def rule_preview(request: HttpRequest) -> HttpResponse:
    """The editor's "would have fired N times in the last 7 days" (htmx partial)."""
    organization = _organization(request)
    try:
        values = _posted_rule(request, organization.pk)
        rule = services.unsaved_rule(
            user=request.user,
            organization=organization,
            condition=values["condition"],
            params=values["params"],
            board=values["board"],
            cooldown_minutes=values["cooldown_minutes"],
        )
        result = conditions.preview(rule, timezone.now())
    except DomainError as exc:
        return render(request, "alerts/partials/preview.html", {"error": exc.message}, status=400)
    return render(request, "alerts/partials/preview.html", {"preview": result})


@login_required
@require_POST
def rule_test(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _visible_rule(request.user, pk)
    channel = request.POST.get("channel", "")
    try:
        services.send_test_notification(actor=Actor.for_user(request.user), rule=rule, channel=channel)
    except DomainError as exc:
        if exc.status_code == 403:
            raise DjangoPermissionDenied(exc.message) from None
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Test notification sent by {channel.replace('_', '-')}.")
    return redirect("alerts:rule-edit", pk=rule.pk)
