"""Pages for gateways: the list with live status, a gateway's page (status, settings, commands).

Members see; admins add, change and remove gateways (the services check). The token is a
write-only field: after it is saved it is never rendered again. No view opens a socket to a
gateway: status comes from what the supervisor recorded.
"""

from __future__ import annotations

from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from agents.models import Agent
from boards.models import Task
from core.access import current_organization, membership_for, organizations_of
from core.actors import Actor
from core.models import Role
from gateways import services
from gateways.models import Gateway, GatewayAgent, GatewayApproval, GatewayCommand
from infra.exceptions import DomainError, PermissionDenied

RECENT_COMMANDS = 20
MAX_SESSION_KEY = 200
# The gateway's default agent's main session (hello-ok.snapshot.sessionDefaults.mainSessionKey).
DEFAULT_SESSION_KEY = "agent:main:main"


class GatewayForm(forms.Form):
    name = forms.CharField(max_length=services.MAX_NAME_LENGTH)
    url = forms.CharField(
        max_length=services.MAX_URL_LENGTH, label="WebSocket URL", help_text="e.g. ws://127.0.0.1:18789"
    )
    token = forms.CharField(
        max_length=services.MAX_TOKEN_LENGTH,
        widget=forms.PasswordInput(render_value=False),
        help_text="The gateway's auth token (gateway.auth.token). Stored encrypted, never shown again.",
    )
    device_identity = forms.BooleanField(
        required=False, label="Sign the handshake with a device key (for gateways that require pairing)"
    )
    read_only = forms.BooleanField(required=False, label="Read only: watch, never act (operator.read scope)")


class GatewayEditForm(GatewayForm):
    enabled = forms.BooleanField(required=False, label="Keep connected")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["token"].required = False
        self.fields["token"].help_text = "Leave empty to keep the current token."


def _is_admin(user, organization_id: int) -> bool:
    membership = membership_for(user, organization_id)
    return membership is not None and membership.has_role(Role.ADMIN)


def _can_answer(user, organization_id: int) -> bool:
    membership = membership_for(user, organization_id)
    return membership is not None and membership.has_role(Role.OPERATOR)


def _visible_gateway(user, pk: int) -> Gateway:
    gateway = Gateway.objects.visible_to(user).select_related("organization").filter(pk=pk).first()
    if gateway is None:
        raise Http404("No such gateway.")
    return gateway


@login_required
def gateway_list(request: HttpRequest) -> HttpResponse:
    organizations = organizations_of(request)
    organization = current_organization(request, organizations=organizations)
    gateways = Gateway.objects.filter(organization__in=organizations).select_related("organization")
    can_add = organization is not None and _is_admin(request.user, organization.pk)
    form = GatewayForm(request.POST or None) if can_add else None
    if request.method == "POST":
        if form is None:
            raise Http404("No organization to add a gateway to.")
        if form.is_valid():
            try:
                gateway = services.create_gateway(
                    actor=Actor.for_user(request.user), organization=organization, **form.cleaned_data
                )
            except DomainError as exc:
                form.add_error(None, exc.message if hasattr(exc, "message") else str(exc))
            else:
                messages.success(
                    request, f"Gateway {gateway.name} added; Mission Control is connecting to it."
                )
                return redirect("gateways:gateway-detail", gateway.pk)
    return render(
        request,
        "gateways/gateway_list.html",
        {
            "gateways": gateways,
            "form": form,
            "organization": organization,
            "show_organization": len(organizations) > 1,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def gateway_detail(request: HttpRequest, pk: int) -> HttpResponse:
    gateway = _visible_gateway(request.user, pk)
    is_admin = _is_admin(request.user, gateway.organization_id)
    form = None
    if is_admin:
        initial = {
            "name": gateway.name,
            "url": gateway.url,
            "enabled": gateway.enabled,
            "read_only": gateway.read_only,
        }
        initial["device_identity"] = bool(gateway.device_id)
        form = GatewayEditForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form is None:
            raise Http404("No such gateway.")
        if form.is_valid():
            data = dict(form.cleaned_data)
            if not data.get("token"):
                data.pop("token", None)
            try:
                services.update_gateway(actor=Actor.for_user(request.user), gateway=gateway, **data)
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Gateway saved.")
                return redirect("gateways:gateway-detail", gateway.pk)
    commands = GatewayCommand.objects.filter(gateway=gateway).select_related("requested_by")[:RECENT_COMMANDS]
    gateway_agents = GatewayAgent.objects.filter(gateway=gateway).select_related("agent")
    linkable = (
        Agent.objects.filter(organization_id=gateway.organization_id).order_by("name") if is_admin else []
    )
    return render(
        request,
        "gateways/gateway_detail.html",
        {
            "gateway": gateway,
            "form": form,
            "is_admin": is_admin,
            "commands": commands,
            "gateway_agents": gateway_agents,
            "approvals": GatewayApproval.objects.filter(gateway=gateway).select_related("decided_by")[:20],
            "can_answer": _can_answer(request.user, gateway.organization_id),
            "linkable_agents": linkable,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def gateway_session(request: HttpRequest, pk: int) -> HttpResponse:
    """One session's transcript: history through the command queue (chat.history), then live
    through /ws/gateways/<id>/session/. Operators also get the composer (chat.send)."""
    gateway = _visible_gateway(request.user, pk)
    key = request.GET.get("key", "").strip() or DEFAULT_SESSION_KEY
    if len(key) > MAX_SESSION_KEY:
        raise Http404(f"A session key is at most {MAX_SESSION_KEY} characters.")
    membership = membership_for(request.user, gateway.organization_id)
    return render(
        request,
        "gateways/session.html",
        {
            "gateway": gateway,
            "session_key": key,
            "can_send": membership is not None and membership.has_role(Role.OPERATOR),
        },
    )


@login_required
@require_POST
def gateway_agent_link(request: HttpRequest, pk: int, agent_pk: int) -> HttpResponse:
    gateway = _visible_gateway(request.user, pk)
    row = GatewayAgent.objects.filter(gateway=gateway, pk=agent_pk).first()
    if row is None:
        raise Http404("No such agent on this gateway.")
    raw = request.POST.get("agent", "")
    agent = None
    if raw:
        agent = Agent.objects.filter(
            organization_id=gateway.organization_id, pk=int(raw) if raw.isdigit() else 0
        ).first()
        if agent is None:
            raise Http404("No such agent in this organization.")
    try:
        services.link_gateway_agent(actor=Actor.for_user(request.user), gateway_agent=row, agent=agent)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc)) from None
    messages.success(request, f"{row.agent_key} is {'linked to ' + agent.name if agent else 'unlinked'}.")
    return redirect("gateways:gateway-detail", gateway.pk)


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@login_required
@require_POST
def gateway_agent_send(request: HttpRequest, pk: int, agent_pk: int) -> HttpResponse:
    """Wake and Send (agent page) and Work on this (task page, with `task`): queue an `agent` run
    and go to the session where it streams."""
    gateway = _visible_gateway(request.user, pk)
    row = GatewayAgent.objects.filter(gateway=gateway, pk=agent_pk).select_related("gateway").first()
    if row is None:
        raise Http404("No such agent on this gateway.")
    task = None
    task_id = request.POST.get("task", "")
    if task_id:
        task = (
            Task.objects.filter(
                pk=int(task_id) if task_id.isdigit() else 0, board__organization_id=gateway.organization_id
            )
            .select_related("board")
            .first()
        )
        if task is None:
            raise Http404("No such task.")
    wake = request.POST.get("action") == "wake" or task is not None
    actor = Actor.for_user(request.user)
    key = request.POST.get("idempotency_key", "")
    try:
        if wake:
            _command, created = services.wake_gateway_agent(
                actor=actor, gateway_agent=row, task=task, idempotency_key=key
            )
        else:
            _command, created = services.send_to_gateway_agent(
                actor=actor, gateway_agent=row, message=request.POST.get("message", ""), idempotency_key=key
            )
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc)) from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(_safe_next(request, reverse("gateways:gateway-detail", args=[gateway.pk])))
    if created:
        messages.success(request, f"Sent to {row.agent_key}; the run streams below.")
    else:
        messages.info(request, "Already sent: this is the same run.")
    session = quote(f"agent:{row.agent_key}:main", safe=":")
    return redirect(f"{reverse('gateways:gateway-session', args=[gateway.pk])}?key={session}")


@login_required
@require_POST
def gateway_session_stop(request: HttpRequest, pk: int) -> HttpResponse:
    """Stop the run of a session (chat.abort): the agent page's Stop button."""
    return _session_action(request, pk, "stop")


@login_required
@require_POST
def gateway_session_reset(request: HttpRequest, pk: int) -> HttpResponse:
    """Reset a session (sessions.reset): the agent page's Reset button."""
    return _session_action(request, pk, "reset")


def _session_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    gateway = _visible_gateway(request.user, pk)
    service = services.stop_gateway_session if action == "stop" else services.reset_gateway_session
    key = request.POST.get("key", "")
    try:
        _command, created = service(
            actor=Actor.for_user(request.user),
            gateway=gateway,
            session_key=key,
            idempotency_key=request.POST.get("idempotency_key", "") or None,
        )
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc)) from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        done = "Stopping the run of" if action == "stop" else "Resetting"
        messages.success(request, f"{done} {key.strip()}." if created else "Already asked.")
    return redirect(_safe_next(request, reverse("gateways:gateway-detail", args=[gateway.pk])))


@login_required
def gateway_agent_files(request: HttpRequest, pk: int, agent_pk: int) -> HttpResponse:
    """The agent's workspace files (SOUL.md, AGENTS.md, …): read through the command queue
    (agents.files.list / .get), saved by admins with agents.files.set and the hash the file had
    when it was opened, so a change made on the gateway meanwhile is refused, not overwritten."""
    gateway = _visible_gateway(request.user, pk)
    row = GatewayAgent.objects.filter(gateway=gateway, pk=agent_pk).select_related("agent").first()
    if row is None:
        raise Http404("No such agent on this gateway.")
    name = request.GET.get("name", "SOUL.md")
    return render(
        request,
        "gateways/agent_files.html",
        {
            "gateway": gateway,
            "gateway_agent": row,
            "file_name": name if name in services.EDITABLE_FILES else "SOUL.md",
            "can_edit": _is_admin(request.user, gateway.organization_id),
            "max_bytes": services.MAX_FILE_BYTES,
        },
    )


@login_required
@require_POST
def gateway_agent_wake(request: HttpRequest, pk: int, agent_pk: int) -> HttpResponse:
    """Wake (the command palette): start a run of this agent (the same wake as the agent page's
    button) and go back to the gateway, where the command's outcome shows."""
    gateway = _visible_gateway(request.user, pk)
    row = GatewayAgent.objects.filter(gateway=gateway, pk=agent_pk).first()
    if row is None:
        raise Http404("No such agent on this gateway.")
    try:
        _command, created = services.wake_gateway_agent(
            actor=Actor.for_user(request.user),
            gateway_agent=row,
            idempotency_key=request.POST.get("idempotency_key", ""),
            reason="palette",
        )
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc)) from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if created:
            name = row.name or row.agent_key
            messages.success(request, f"Waking {name}: the gateway starts a run now.")
        else:
            messages.info(request, "Already asked: this is the same wake.")
    return redirect("gateways:gateway-detail", gateway.pk)


@login_required
@require_POST
def gateway_approval_answer(request: HttpRequest, pk: int, approval_pk: int) -> HttpResponse:
    gateway = _visible_gateway(request.user, pk)
    approval = (
        GatewayApproval.objects.filter(gateway=gateway, pk=approval_pk).select_related("gateway").first()
    )
    if approval is None:
        raise Http404("No such approval on this gateway.")
    try:
        services.answer_approval(
            actor=Actor.for_user(request.user), approval=approval, decision=request.POST.get("decision", "")
        )
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc)) from None
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Answer sent to the gateway.")
    return redirect("gateways:gateway-detail", gateway.pk)


@login_required
@require_POST
def gateway_delete(request: HttpRequest, pk: int) -> HttpResponse:
    gateway = _visible_gateway(request.user, pk)
    try:
        services.delete_gateway(actor=Actor.for_user(request.user), gateway=gateway)
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(str(exc)) from None
    messages.success(request, f"Gateway {gateway.name} removed.")
    return redirect(reverse("gateways:gateway-list"))
