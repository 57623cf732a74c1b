"""Admin for boards: every model searchable and filterable; the activity log is read-only.

Every save, delete and bulk action goes through boards.services, so a change made in admin is
checked (transitions, names, assignees), recorded as an event and shown live like any other. The
staff member acts as a trusted (system-kind) actor whose user is kept on the event: staff need not
be a member of the organization they tidy up. A refusal rolls the whole form back and comes back
as an error message on the same form. Approvals and dependencies have their own workflow on the
board pages, so here they are read-only; so are the legacy comments (boards.Comment, copied into
the task threads and written by nothing: a task's comments are its chat thread's messages).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse

from agents.models import Agent
from boards import services
from boards.models import Approval, Board, BoardGroup, Comment, Tag, Task, TaskDependency
from core.actors import Actor, ActorKind
from infra.exceptions import DomainError


def staff_actor(request: HttpRequest) -> Actor:
    return Actor(kind=ActorKind.SYSTEM, label=f"{request.user.get_username()} (admin)", user=request.user)


class ServiceRefused(Exception):
    """A service said no while admin was saving: unwinds admin's transaction, then shown."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RefusalsAsMessages(admin.ModelAdmin):
    """A ServiceRefused raised while saving or deleting comes back as a message on the form."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as exc:
            # Raised inside admin's atomic block, so whatever the service began is rolled back.
            messages.error(request, exc.message)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceRefused as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(request.get_full_path())


class ThroughServicesAdmin(RefusalsAsMessages):
    """A ModelAdmin whose add, change and delete call services instead of Model.save/delete.

    Subclasses implement `create_through_services` and `change_through_services`, and
    `delete_through_services`. Django's own save of the object and of its many-to-many fields
    is skipped, so nothing reaches the table without the service's checks and event.
    """

    def create_through_services(self, request: HttpRequest, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def change_through_services(
        self, request: HttpRequest, current: Any, data: dict[str, Any], changed: set[str]
    ) -> Any:
        raise NotImplementedError

    def delete_through_services(self, request: HttpRequest, obj: Any) -> None:
        raise NotImplementedError

    def save_model(self, request, obj, form, change) -> None:
        try:
            if change:
                # The stored row, not `obj`: the form has already copied its values onto obj,
                # and the service compares against what is stored to know what changed.
                current = type(obj).objects.get(pk=obj.pk)
                saved = self.change_through_services(
                    request, current, form.cleaned_data, set(form.changed_data)
                )
            else:
                saved = self.create_through_services(request, form.cleaned_data)
        except DomainError as exc:
            raise ServiceRefused(exc.message) from exc
        obj.pk = saved.pk
        for field in obj._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))

    def save_related(self, request, form, formsets, change) -> None:
        # No form.save_m2m(): many-to-many values (tags) went through the service in save_model.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj) -> None:
        try:
            self.delete_through_services(request, obj)
        except DomainError as exc:
            raise ServiceRefused(exc.message) from exc

    def delete_queryset(self, request, queryset) -> None:
        deleted, failed = 0, []
        for obj in queryset:
            try:
                self.delete_through_services(request, obj)
                deleted += 1
            except DomainError as exc:
                failed.append(f"{obj}: {exc.message}")
        for failure in failed:
            messages.error(request, failure)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Looked at in admin; changed only through its own workflow on the board pages."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(BoardGroup)
class BoardGroupAdmin(ThroughServicesAdmin):
    list_display = ["name", "organization", "position"]
    list_filter = ["organization"]
    search_fields = ["name", "organization__name"]
    autocomplete_fields = ["organization"]
    fields = ["organization", "name", "position"]
    readonly_fields = ["position"]  # the order is set on the boards page (reorder_board_groups)

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "organization"] if obj else self.readonly_fields

    def create_through_services(self, request, data):
        return services.create_board_group(
            organization=data["organization"], actor=staff_actor(request), name=data["name"]
        )

    def change_through_services(self, request, current, data, changed):
        if "name" in changed:
            return services.rename_board_group(group=current, actor=staff_actor(request), name=data["name"])
        return current

    def delete_through_services(self, request, obj):
        services.delete_board_group(group=obj, actor=staff_actor(request))


BOARD_CREATE_FIELDS = [
    "name",
    "description",
    "slug",
    "group",
    "require_approval_for_done",
    "require_comment_for_review",
    "agents_can_create_tasks",
    "send_work_to_gateway_agents",
]


@admin.register(Board)
class BoardAdmin(ThroughServicesAdmin):
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
    fields = ["organization", *BOARD_CREATE_FIELDS, "archived", "created_by", "created_at", "updated_at"]
    # Archiving is the action (archive_board); the slug is the board's address once made.
    readonly_fields = ["archived", "created_by", "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "organization", "slug"] if obj else self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            # create_board makes a unique slug from the name when none is given.
            form.base_fields["slug"].required = False
        return form

    def create_through_services(self, request, data):
        return services.create_board(
            organization=data["organization"],
            actor=staff_actor(request),
            **{name: data[name] for name in BOARD_CREATE_FIELDS},
        )

    def change_through_services(self, request, current, data, changed):
        fields = {name: data[name] for name in changed if name in services.BOARD_UPDATABLE_FIELDS}
        return services.update_board(board=current, actor=staff_actor(request), **fields)

    def delete_through_services(self, request, obj):
        raise DomainError(
            "Boards are archived, not deleted: use the “Archive” action.", code="archive_instead"
        )

    def has_delete_permission(self, request, obj=None):
        return False  # nothing in the services deletes a board (its work and history stay)

    @admin.action(description="Archive the selected boards")
    def archive_boards(self, request: HttpRequest, queryset: QuerySet[Board]) -> None:
        archived = 0
        for board in queryset.filter(archived=False):
            services.archive_board(board=board, actor=staff_actor(request))
            archived += 1
        self.message_user(request, f"Archived {archived} board(s).", messages.SUCCESS)


@admin.register(Tag)
class TagAdmin(ThroughServicesAdmin):
    list_display = ["name", "organization", "color"]
    list_filter = ["organization"]
    search_fields = ["name", "organization__name"]
    autocomplete_fields = ["organization"]
    fields = ["organization", "name", "color"]

    def get_readonly_fields(self, request, obj=None):
        return ["organization"] if obj else []

    def create_through_services(self, request, data):
        return services.create_tag(
            organization=data["organization"],
            actor=staff_actor(request),
            name=data["name"],
            color=data["color"],
        )

    def change_through_services(self, request, current, data, changed):
        return services.update_tag(
            tag=current,
            actor=staff_actor(request),
            name=data["name"] if "name" in changed else None,
            color=data["color"] if "color" in changed else None,
        )

    def delete_through_services(self, request, obj):
        services.delete_tag(tag=obj, actor=staff_actor(request))


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


TASK_FIELDS_FOR_UPDATE = ["title", "description", "priority", "due_date", "progress_note"]


@admin.register(Task)
class TaskAdmin(ThroughServicesAdmin):
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
    fields = [
        "board",
        "title",
        "description",
        "status",
        "priority",
        "assignee_agent",
        "assignee_user",
        "due_date",
        "tags",
        "progress_note",
        "external_id",
        "external_url",
        "created_by_user",
        "created_by_agent",
        "created_at",
        "updated_at",
    ]
    readonly_fields = ["created_by_user", "created_by_agent", "created_at", "updated_at"]
    actions = ["reassign_tasks"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_readonly_fields(self, request, obj=None):
        # A task stays on its board; the external id belongs to the webhook rule that set it.
        return (
            [*self.readonly_fields, "board", "external_id", "external_url"] if obj else self.readonly_fields
        )

    def create_through_services(self, request, data):
        return services.create_task(
            board=data["board"],
            actor=staff_actor(request),
            title=data["title"],
            description=data["description"],
            priority=data["priority"],
            status=data["status"],
            assignee_agent=data["assignee_agent"],
            assignee_user=data["assignee_user"],
            due_date=data["due_date"],
            tag_names=[tag.name for tag in data["tags"]],
            external_id=data["external_id"],
            external_url=data["external_url"],
        )

    def change_through_services(self, request, current, data, changed):
        actor = staff_actor(request)
        fields: dict[str, Any] = {name: data[name] for name in TASK_FIELDS_FOR_UPDATE if name in changed}
        if "tags" in changed:
            fields["tag_names"] = [tag.name for tag in data["tags"]]
        if changed & {"assignee_agent", "assignee_user"}:
            fields["assignee_agent"] = data["assignee_agent"]
            fields["assignee_user"] = data["assignee_user"]
        task = services.update_task(task=current, actor=actor, **fields) if fields else current
        if "status" in changed:
            task = services.move_task(task=task, actor=actor, status=data["status"])
            if getattr(task, "approval_requested", None) is not None:
                messages.warning(
                    request,
                    "This board requires approval for done: the approval is requested, "
                    "the task stays where it was until someone approves it.",
                )
        return task

    def delete_through_services(self, request, obj):
        services.delete_task(task=obj, actor=staff_actor(request))

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
class TaskDependencyAdmin(ReadOnlyAdmin):
    list_display = ["task", "depends_on", "created_at"]
    search_fields = ["task__title", "depends_on__title"]
    autocomplete_fields = ["task", "depends_on"]
    list_select_related = ["task", "depends_on"]


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ["task", "author_user", "author_agent", "created_at"]
    list_filter = ["task__board__organization"]
    search_fields = ["body", "task__title"]
    autocomplete_fields = ["task", "author_user", "author_agent"]
    list_select_related = ["task", "author_user", "author_agent"]


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdmin):
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
