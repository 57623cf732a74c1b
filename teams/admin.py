"""Admin for organizations and their memberships.

Every member change made here (the inline on an organization, or a membership's own form) goes
through teams.services, so it is checked (the last admin stays), recorded as an event and shown
live like any other; a refusal comes back as a message on the same form. The shared admin
machinery (staff actor, refusals as messages, saving through services) is boards.admin's.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from boards.admin import RefusalsAsMessages, ServiceRefused, ThroughServicesAdmin, staff_actor
from core.models import Membership, Organization
from infra.exceptions import DomainError
from teams import services as member_services


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


def _save_membership(request: HttpRequest, membership: Membership, *, created: bool) -> Membership:
    """Member changes made in admin go through the services, so each is an audit event."""
    try:
        if created:
            return member_services.add_member(
                organization=membership.organization,
                actor=staff_actor(request),
                user=membership.user,
                role=membership.role,
            )
        return member_services.change_member_role(
            membership=membership, actor=staff_actor(request), role=membership.role
        )
    except DomainError as exc:  # e.g. demoting the last admin: nothing changes, the form says why
        raise ServiceRefused(exc.message) from exc


@admin.register(Organization)
class OrganizationAdmin(RefusalsAsMessages):
    list_display = ["name", "slug", "time_zone", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        memberships = formset.save(commit=False)
        for membership in formset.deleted_objects:
            try:
                member_services.remove_member(membership=membership, actor=staff_actor(request))
            except DomainError as exc:
                raise ServiceRefused(exc.message) from exc
        for membership in memberships:
            saved = _save_membership(request, membership, created=membership.pk is None)
            membership.pk = saved.pk
        return None


@admin.register(Membership)
class MembershipAdmin(ThroughServicesAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    search_fields = ["user__username", "user__email", "organization__name"]
    autocomplete_fields = ["user", "organization"]
    list_select_related = ["user", "organization"]

    def get_readonly_fields(self, request, obj=None):
        # A membership is one person in one organization; another pair is another membership.
        return ["user", "organization"] if obj else []

    def create_through_services(self, request, data):
        return member_services.add_member(
            organization=data["organization"],
            actor=staff_actor(request),
            user=data["user"],
            role=data["role"],
        )

    def change_through_services(self, request, current, data, changed):
        return member_services.change_member_role(
            membership=current, actor=staff_actor(request), role=data["role"]
        )

    def delete_through_services(self, request, obj):
        member_services.remove_member(membership=obj, actor=staff_actor(request))
