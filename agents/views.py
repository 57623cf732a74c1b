"""Pages for agents: the list, a detail page with tokens and activity, create and edit forms.

Writes go through agents.services; a new token is rendered once, into the response that issued
it (a <dialog>), with `Cache-Control: no-store`, and is never kept anywhere else.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from activity.models import ActivityEvent
from agents import presence, services
from agents.models import Agent, AgentToken
from boards.models import Board, TaskStatus
from core.actors import Actor
from core.models import Membership, Organization, Role
from core.partials import is_partial
from infra.exceptions import DomainError, NotFound, PermissionDenied

OPEN_STATUSES = [s for s in TaskStatus.values if s != TaskStatus.DONE]
GRACE_CHOICES = [
    (0, "None — stop it now"),
    (300, "5 minutes"),
    (3600, "1 hour"),
    (86400, "24 hours"),
    (604800, "7 days"),
]
RECENT_ACTIVITY = 20


def _admin_organization_ids(user) -> set[int]:
    return set(
        Membership.objects.filter(user=user, role=Role.ADMIN).values_list("organization_id", flat=True)
    )


def _visible_agent(user, pk: int) -> Agent:
    agent = Agent.objects.visible_to(user).select_related("organization").filter(pk=pk).first()
    if agent is None:
        raise Http404("No such agent.")
    return agent


def _visible_token(user, token_id: int) -> AgentToken:
    token = (
        AgentToken.objects.filter(pk=token_id, agent__organization__memberships__user=user)
        .select_related("agent")
        .first()
    )
    if token is None:
        raise Http404("No such token.")
    return token


@login_required
def agent_list(request: HttpRequest) -> HttpResponse:
    """Every agent of the user's organizations, in a fixed number of queries."""
    agents = list(
        Agent.objects.visible_to(request.user)
        .select_related("organization")
        .prefetch_related("boards")
        .annotate(
            open_task_count=Count(
                "assigned_tasks", filter=Q(assigned_tasks__status__in=OPEN_STATUSES), distinct=True
            )
        )
        .order_by("name", "id")
    )
    for agent in agents:
        agent.presence_now = presence.presence_for(agent.last_seen_at)
    context = {
        "agents": agents,
        "can_create": bool(_admin_organization_ids(request.user)),
        "show_organization": len({a.organization_id for a in agents}) > 1,
    }
    return render(request, "agents/agent_list.html", context)


class AgentForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none())
    name = forms.CharField(max_length=120)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000)
    boards = forms.ModelMultipleChoiceField(
        queryset=Board.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    is_board_lead = forms.BooleanField(required=False, label="Board lead (reads every webhook payload)")
    callback_url = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Events are POSTed here, signed. Leave empty if the agent polls.",
    )
    capabilities = forms.CharField(
        required=False, max_length=1000, help_text="Comma-separated tags, e.g. python, review, deploy."
    )

    def __init__(self, *args, organization_ids: set[int], agent: Agent | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = Organization.objects.filter(pk__in=organization_ids)
        self.fields["boards"].queryset = Board.objects.filter(
            organization_id__in=organization_ids, archived=False
        ).select_related("organization")
        if agent is not None or len(organization_ids) == 1:
            self.fields["organization"].widget = forms.HiddenInput()
            if len(organization_ids) == 1:
                self.fields["organization"].initial = next(iter(organization_ids))

    def clean_callback_url(self) -> str:
        # The service checks it too; here the refusal lands on the field it is about.
        try:
            return services.clean_callback_url(self.cleaned_data.get("callback_url") or "")
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_capabilities(self) -> list[str]:
        raw = self.cleaned_data.get("capabilities") or ""
        return [part.strip() for part in raw.split(",") if part.strip()]

    def clean(self):
        cleaned = super().clean()
        organization = cleaned.get("organization")
        boards = cleaned.get("boards") or []
        if organization is not None and any(b.organization_id != organization.pk for b in boards):
            self.add_error("boards", "Choose boards of the agent's organization.")
        return cleaned


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user)


@login_required
def agent_create(request: HttpRequest) -> HttpResponse:
    organization_ids = _admin_organization_ids(request.user)
    if not organization_ids:
        raise DjangoPermissionDenied("Only organization admins create agents.")
    form = AgentForm(request.POST or None, organization_ids=organization_ids)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            agent = services.create_agent(
                organization=data["organization"],
                actor=_actor(request),
                name=data["name"],
                description=data["description"],
                boards=data["boards"],
                is_board_lead=data["is_board_lead"],
                callback_url=data["callback_url"],
                capabilities=data["capabilities"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Agent “{agent.name}” created. Issue it a token below.")
            return redirect("agents:agent-detail", pk=agent.pk)
    return render(request, "agents/agent_form.html", {"form": form, "agent": None})


@login_required
def agent_edit(request: HttpRequest, pk: int) -> HttpResponse:
    agent = _visible_agent(request.user, pk)
    if agent.organization_id not in _admin_organization_ids(request.user):
        raise DjangoPermissionDenied("Only organization admins edit agents.")
    initial = {
        "organization": agent.organization_id,
        "name": agent.name,
        "description": agent.description,
        "boards": list(agent.boards.all()),
        "is_board_lead": agent.is_board_lead,
        "callback_url": agent.callback_url,
        "capabilities": ", ".join(agent.capabilities or []),
    }
    form = AgentForm(
        request.POST or None, initial=initial, organization_ids={agent.organization_id}, agent=agent
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_agent(
                agent=agent,
                actor=_actor(request),
                name=data["name"],
                description=data["description"],
                boards=data["boards"],
                is_board_lead=data["is_board_lead"],
                callback_url=data["callback_url"],
                capabilities=data["capabilities"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Agent saved.")
            return redirect("agents:agent-detail", pk=agent.pk)
    return render(request, "agents/agent_form.html", {"form": form, "agent": agent})


def _detail_context(request: HttpRequest, agent: Agent, **extra) -> dict:
    tokens = list(AgentToken.objects.filter(agent=agent).order_by("-created_at", "-id"))
    activity = (
        ActivityEvent.objects.filter(organization_id=agent.organization_id)
        .filter(Q(actor_agent=agent) | Q(target_type="agent", target_id=str(agent.pk)))
        .order_by("-id")[:RECENT_ACTIVITY]
    )
    agent.presence_now = presence.presence_for(agent.last_seen_at)
    return {
        "agent": agent,
        "tokens": tokens,
        "activity": activity,
        "boards": list(agent.boards.all()),
        "is_admin": agent.organization_id in _admin_organization_ids(request.user),
        "grace_choices": GRACE_CHOICES,
        "now": timezone.now(),
        **extra,
    }


@login_required
def agent_detail(request: HttpRequest, pk: int) -> HttpResponse:
    agent = _visible_agent(request.user, pk)
    return render(request, "agents/agent_detail.html", _detail_context(request, agent))


def _tokens_response(
    request: HttpRequest,
    agent: Agent,
    *,
    new_token: str = "",
    token_name: str = "",
    error: str = "",
    new_token_id: int | None = None,
    replaced_token_id: int | None = None,
) -> HttpResponse:
    """After a token action: the tokens section (htmx) or the whole page, never cached.

    After a rotation the rows say which token is the new one and until when the replaced one works.
    """
    context = _detail_context(
        request,
        agent,
        new_token=new_token,
        new_token_name=token_name,
        token_error=error,
        new_token_id=new_token_id,
        replaced_token_id=replaced_token_id,
    )
    template = "agents/partials/tokens.html" if is_partial(request) else "agents/agent_detail.html"
    # htmx swaps only 2xx answers, so its error partial is a 200; a plain form post gets a 400.
    response = render(request, template, context, status=400 if error and not is_partial(request) else 200)
    response["Cache-Control"] = "no-store"
    return response


def _domain_error_response(request: HttpRequest, agent: Agent, exc: DomainError) -> HttpResponse:
    if isinstance(exc, NotFound):
        raise Http404(exc.message)
    if isinstance(exc, PermissionDenied):
        raise DjangoPermissionDenied(exc.message)
    return _tokens_response(request, agent, error=exc.message)


@login_required
@require_POST
def agent_token_issue(request: HttpRequest, pk: int) -> HttpResponse:
    agent = _visible_agent(request.user, pk)
    name = (request.POST.get("name") or "default").strip()[:80] or "default"
    try:
        token, raw = services.issue_agent_token(agent=agent, actor=_actor(request), name=name)
    except DomainError as exc:
        return _domain_error_response(request, agent, exc)
    return _tokens_response(request, agent, new_token=raw, token_name=token.name, new_token_id=token.pk)


@login_required
@require_POST
def agent_token_rotate(request: HttpRequest, token_id: int) -> HttpResponse:
    token = _visible_token(request.user, token_id)
    agent = _visible_agent(request.user, token.agent_id)
    try:
        grace = int(request.POST.get("grace_seconds", "0"))
    except ValueError:
        grace = -1
    try:
        new, raw = services.rotate_agent_token(token=token, actor=_actor(request), grace_seconds=grace)
    except DomainError as exc:
        return _domain_error_response(request, agent, exc)
    return _tokens_response(
        request, agent, new_token=raw, token_name=new.name, new_token_id=new.pk, replaced_token_id=token.pk
    )


@login_required
@require_POST
def agent_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = _visible_token(request.user, token_id)
    agent = _visible_agent(request.user, token.agent_id)
    try:
        services.revoke_agent_token(token=token, actor=_actor(request))
    except DomainError as exc:
        return _domain_error_response(request, agent, exc)
    if is_partial(request):
        return _tokens_response(request, agent)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("agents:agent-detail", pk=agent.pk)


def _status_action(request: HttpRequest, pk: int, action, done: str) -> HttpResponse:
    agent = _visible_agent(request.user, pk)
    try:
        action(agent=agent, actor=_actor(request))
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    except NotFound as exc:
        raise Http404(exc.message) from None
    messages.success(request, done.format(name=agent.name))
    return redirect("agents:agent-detail", pk=agent.pk)


@login_required
@require_POST
def agent_suspend(request: HttpRequest, pk: int) -> HttpResponse:
    return _status_action(
        request, pk, services.suspend_agent, "“{name}” is suspended: all its tokens stopped."
    )


@login_required
@require_POST
def agent_resume(request: HttpRequest, pk: int) -> HttpResponse:
    return _status_action(request, pk, services.resume_agent, "“{name}” is active again.")


@login_required
@require_POST
def agent_delete(request: HttpRequest, pk: int) -> HttpResponse:
    agent = _visible_agent(request.user, pk)
    name = agent.name
    try:
        services.delete_agent(agent=agent, actor=_actor(request))
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None
    messages.success(request, f"Agent “{name}” deleted.")
    return redirect(reverse("agents:agent-list"))
