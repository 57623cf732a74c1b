"""Django admin for agents and tokens. Every write goes through agents.services.

A token's digest and public id are never shown. New tokens (issue, rotate) are displayed once in
a message on the next page; the admin must copy them then.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from agents import presence, services
from agents.models import Agent, AgentToken
from core.access import require_role
from core.actors import Actor
from core.models import Role
from infra.exceptions import DomainError

# Raw tokens travel to the next page in the messages cookie; a handful keeps it small (and out of
# the session fallback, which is stored server-side).
MAX_TOKENS_PER_ACTION = 5


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user)


class AgentAdminForm(forms.ModelForm):
    request: HttpRequest | None = None
    callback_url = forms.URLField(required=False, max_length=500, assume_scheme="https")

    class Meta:
        model = Agent
        fields = [
            "organization",
            "name",
            "description",
            "boards",
            "is_board_lead",
            "callback_url",
            "capabilities",
        ]

    def clean_callback_url(self) -> str:
        # The service checks it too; here the refusal lands on the field it is about.
        try:
            return services.clean_callback_url(self.cleaned_data.get("callback_url") or "")
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean(self):
        cleaned = super().clean()
        organization = cleaned.get("organization") or getattr(self.instance, "organization", None)
        if organization is None:
            return cleaned
        boards = cleaned.get("boards") or []
        if any(board.organization_id != organization.pk for board in boards):
            self.add_error("boards", "Choose boards of the agent's organization.")
        user = self.request.user if self.request is not None else None
        if user is not None and not user.is_superuser:
            try:
                require_role(user=user, organization=organization, role=Role.ADMIN)
            except DomainError as exc:
                raise ValidationError(exc.message) from None
        return cleaned


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    form = AgentAdminForm
    list_display = ["name", "organization", "status", "presence_now", "is_board_lead", "last_seen_at"]
    list_filter = ["status", "is_board_lead", "organization"]
    search_fields = ["name", "description"]
    list_select_related = ["organization"]
    filter_horizontal = ["boards"]
    readonly_fields = [
        "status",
        "last_seen_at",
        "presence",
        "status_text",
        "current_task",
        "created_by",
        "created_at",
    ]
    actions = ["suspend_selected", "resume_selected", "issue_token"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "organization"] if obj is not None else fields

    @admin.display(description="Presence")
    def presence_now(self, agent: Agent) -> str:
        return presence.presence_for(agent.last_seen_at)

    def save_model(self, request, obj: Agent, form, change: bool) -> None:
        data = form.cleaned_data
        fields = {
            "name": data["name"],
            "description": data.get("description", ""),
            "boards": data.get("boards", []),
            "is_board_lead": data.get("is_board_lead", False),
            "callback_url": data.get("callback_url", ""),
            "capabilities": data.get("capabilities") or [],
        }
        if change:
            current = Agent.objects.get(pk=obj.pk)
            services.update_agent(agent=current, actor=_actor(request), **fields)
            return
        agent = services.create_agent(organization=data["organization"], actor=_actor(request), **fields)
        # The admin continues with `obj` (redirects, the log entry): give it the saved row's identity.
        obj.pk = agent.pk
        obj.created_at = agent.created_at
        obj._state.adding = False
        obj._state.db = agent._state.db

    def save_related(self, request, form, formsets, change: bool) -> None:
        """Boards were set by the service; the form must not write them a second time."""

    def delete_model(self, request, obj: Agent) -> None:
        services.delete_agent(agent=obj, actor=_actor(request))

    def delete_queryset(self, request, queryset: QuerySet[Agent]) -> None:
        for agent in queryset:
            services.delete_agent(agent=agent, actor=_actor(request))

    @admin.action(description="Suspend selected agents (blocks all their tokens)")
    def suspend_selected(self, request, queryset: QuerySet[Agent]) -> None:
        for agent in queryset:
            services.suspend_agent(agent=agent, actor=_actor(request))
        self.message_user(request, f"Suspended {queryset.count()} agent(s).", messages.SUCCESS)

    @admin.action(description="Resume selected agents")
    def resume_selected(self, request, queryset: QuerySet[Agent]) -> None:
        for agent in queryset:
            services.resume_agent(agent=agent, actor=_actor(request))
        self.message_user(request, f"Resumed {queryset.count()} agent(s).", messages.SUCCESS)

    @admin.action(description="Issue a new token to each selected agent (shown once)")
    def issue_token(self, request, queryset: QuerySet[Agent]) -> None:
        agents = list(queryset[: MAX_TOKENS_PER_ACTION + 1])
        if len(agents) > MAX_TOKENS_PER_ACTION:
            self.message_user(
                request, f"Select at most {MAX_TOKENS_PER_ACTION} agents to issue tokens.", messages.ERROR
            )
            return
        for agent in agents:
            try:
                _token, raw = services.issue_agent_token(agent=agent, actor=_actor(request), name="admin")
            except DomainError as exc:
                self.message_user(request, f"{agent.name}: {exc.message}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"New token for “{agent.name}” (copy it now, it is not shown again): {raw}",
                messages.WARNING,
            )


@admin.register(AgentToken)
class AgentTokenAdmin(admin.ModelAdmin):
    """Read-only rows (the digest and public id are never displayed); revoke and rotate as actions."""

    list_display = ["name", "agent", "created_at", "last_used_at", "expires_at", "revoked_at", "is_active"]
    list_filter = ["revoked_at"]
    list_select_related = ["agent"]
    search_fields = ["name", "agent__name"]
    fields = ["agent", "name", "created_at", "last_used_at", "expires_at", "revoked_at", "created_by"]
    readonly_fields = fields
    actions = ["revoke_selected", "rotate_selected"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # issue from the Agent admin (or the agent page), where the token is shown once

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the row stays for the audit trail

    @admin.display(boolean=True, description="Active")
    def is_active(self, token: AgentToken) -> bool:
        if token.revoked_at is not None:
            return False
        return token.expires_at is None or token.expires_at > timezone.now()

    @admin.action(description="Revoke selected tokens now")
    def revoke_selected(self, request, queryset: QuerySet[AgentToken]) -> None:
        for token in queryset.select_related("agent"):
            services.revoke_agent_token(token=token, actor=_actor(request))
        self.message_user(request, f"Revoked {queryset.count()} token(s).", messages.SUCCESS)

    @admin.action(description="Rotate selected tokens (old ones stop now; new ones shown once)")
    def rotate_selected(self, request, queryset: QuerySet[AgentToken]) -> None:
        tokens = list(queryset.select_related("agent")[: MAX_TOKENS_PER_ACTION + 1])
        if len(tokens) > MAX_TOKENS_PER_ACTION:
            self.message_user(request, f"Select at most {MAX_TOKENS_PER_ACTION} tokens.", messages.ERROR)
            return
        for token in tokens:
            try:
                new, raw = services.rotate_agent_token(token=token, actor=_actor(request))
            except DomainError as exc:
                self.message_user(request, f"{token}: {exc.message}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"New token for “{new.agent.name}” (copy it now, it is not shown again): {raw}",
                messages.WARNING,
            )
