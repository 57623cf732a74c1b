"""Admin for boards: every model searchable and filterable; the activity log is read-only.

Bulk actions go through boards.services so they record activity like any other change. The
staff member acts as a trusted (system-kind) actor whose user is kept on the event: staff need not
be a member of the organization they tidy up.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from agents.models import Agent
from boards import services
from boards.models import Approval, Board, BoardGroup, Comment, Tag, Task, TaskDependency
from core.actors import Actor, ActorKind
from core.models import Membership, Organization
from missioncontrol.exceptions import DomainError


def staff_actor(request: HttpRequest) -> Actor:
    return Actor(kind=ActorKind.SYSTEM, label=f"{request.user.get_username()} (admin)", user=request.user)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


def _save_membership(request: HttpRequest, membership: Membership, *, created: bool) -> None:
    """Member changes made in admin go through the services, so each is an audit event."""
    try:
        if created:
            saved = services.add_member(
                organization=membership.organization,
                actor=staff_actor(request),
                user=membership.user,
                role=membership.role,
            )
            membership.pk = saved.pk
        else:
            services.change_member_role(
                membership=membership, actor=staff_actor(request), role=membership.role
            )
    except DomainError as exc:  # e.g. demoting the last admin: nothing changed, say why
        messages.error(request, exc.message)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        memberships = formset.save(commit=False)
        for membership in formset.deleted_objects:
            try:
                services.remove_member(membership=membership, actor=staff_actor(request))
            except DomainError as exc:
                messages.error(request, exc.message)
        for membership in memberships:
            _save_membership(request, membership, created=membership.pk is None)
        return None


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    search_fields = ["user__username", "user__email", "organization__name"]
    autocomplete_fields = ["user", "organization"]
    list_select_related = ["user", "organization"]

    def save_model(self, request, obj, form, change):
        _save_membership(request, obj, created=not change)

    def delete_model(self, request, obj):
        self.delete_queryset(request, [obj])

    def delete_queryset(self, request, queryset):
        for membership in queryset:
            try:
                services.remove_member(membership=membership, actor=staff_actor(request))
            except DomainError as exc:
                messages.error(request, exc.message)


@admin.register(BoardGroup)
class BoardGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "organization"]
    list_filter = ["organization"]
    search_fields = ["name", "organization__name"]
    autocomplete_fields = ["organization"]


@admin.register(Board)
class BoardAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "organization",
        "group",
        "archived",
        "require_approval_for_done",
        "require_comment_for_review",
        "created_at",
    ]
    list_filter = ["archived", "require_approval_for_done", "require_comment_for_review", "organization"]
    search_fields = ["name", "slug", "description", "organization__name"]
    autocomplete_fields = ["organization", "group", "created_by"]
    list_select_related = ["organization", "group"]
    actions = ["archive_boards"]

    @admin.action(description="Archive the selected boards")
    def archive_boards(self, request: HttpRequest, queryset: QuerySet[Board]) -> None:
        archived = 0
        for board in queryset.filter(archived=False):
            services.archive_board(board=board, actor=staff_actor(request))
            archived += 1
        self.message_user(request, f"Archived {archived} board(s).", messages.SUCCESS)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "color"]
    list_filter = ["organization"]
    search_fields = ["name", "organization__name"]
    autocomplete_fields = ["organization"]


class ReassignForm(forms.Form):
    agent = forms.ModelChoiceField(queryset=Agent.objects.none(), required=False)
    user = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False)

    def __init__(self, *args, organization_ids: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = Agent.objects.filter(organization_id__in=organization_ids)
        self.fields["user"].queryset = (
            get_user_model().objects.filter(memberships__organization_id__in=organization_ids).distinct()
        )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("agent") and data.get("user"):
            raise forms.ValidationError("Pick an agent or a user, not both (neither unassigns).")
        return data


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "board",
        "status",
        "priority",
        "assignee_agent",
        "assignee_user",
        "due_date",
        "updated_at",
    ]
    list_filter = ["status", "priority", "board__organization", "board"]
    search_fields = ["title", "description", "board__name"]
    autocomplete_fields = ["board", "assignee_agent", "assignee_user", "tags"]
    list_select_related = ["board", "assignee_agent", "assignee_user"]
    readonly_fields = ["created_by_user", "created_by_agent", "created_at", "updated_at"]
    actions = ["reassign_tasks"]

    @admin.action(description="Reassign the selected tasks…")
    def reassign_tasks(self, request: HttpRequest, queryset: QuerySet[Task]):
        organization_ids = sorted(set(queryset.values_list("board__organization_id", flat=True)))
        form = ReassignForm(
            request.POST if "apply" in request.POST else None, organization_ids=organization_ids
        )
        if "apply" in request.POST and form.is_valid():
            done, failed = 0, []
            for task in queryset.select_related("board"):
                try:
                    services.assign_task(
                        task=task,
                        actor=staff_actor(request),
                        agent=form.cleaned_data["agent"],
                        user=form.cleaned_data["user"],
                    )
                    done += 1
                except DomainError as exc:
                    failed.append(f"{task.title}: {exc.message}")
            self.message_user(request, f"Reassigned {done} task(s).", messages.SUCCESS)
            for failure in failed:
                self.message_user(request, failure, messages.ERROR)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Reassign tasks",
            "form": form,
            "tasks": queryset,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "boards/admin_reassign.html", context)


@admin.register(TaskDependency)
class TaskDependencyAdmin(admin.ModelAdmin):
    list_display = ["task", "depends_on", "created_at"]
    search_fields = ["task__title", "depends_on__title"]
    autocomplete_fields = ["task", "depends_on"]
    list_select_related = ["task", "depends_on"]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["task", "author_user", "author_agent", "created_at"]
    list_filter = ["task__board__organization"]
    search_fields = ["body", "task__title"]
    autocomplete_fields = ["task", "author_user", "author_agent"]
    list_select_related = ["task", "author_user", "author_agent"]


@admin.register(Approval)
class ApprovalAdmin(admin.ModelAdmin):
    list_display = [
        "task",
        "status",
        "requested_by_user",
        "requested_by_agent",
        "decided_by",
        "created_at",
        "decided_at",
    ]
    list_filter = ["status", "task__board__organization"]
    search_fields = ["task__title", "reason"]
    autocomplete_fields = ["task", "requested_by_user", "requested_by_agent", "decided_by"]
    list_select_related = ["task", "requested_by_user", "requested_by_agent", "decided_by"]
