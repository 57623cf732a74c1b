"""The User admin with a "log out everywhere" action, and personal tokens (look and revoke only).

Logging a user out everywhere deletes every stored session that belongs to them. Rotating the
session auth hash would need a new password, which an admin does not know and should not set
just to end sessions; deleting the rows ends every browser session at its next request.
Agents are not users: their bearer tokens are revoked separately (agents admin / API).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from core import services as core_services
from core.models import PersonalToken


@transaction.atomic
def end_sessions_for_users(*, user_ids: set[int]) -> int:
    """Delete the unexpired sessions of these users; return how many were deleted.

    Sessions are signed blobs keyed by a random id, so finding a user's means decoding each
    live session; the admin action is rare, and expired rows are skipped by the filter.
    """
    wanted = {str(pk) for pk in user_ids}
    doomed = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) in wanted:
            doomed.append(session.session_key)
    if not doomed:
        return 0
    deleted, _ = Session.objects.filter(session_key__in=doomed).delete()
    return deleted


@admin.action(description="Log out everywhere (end all their sessions)", permissions=["change"])
def log_out_everywhere(modeladmin, request, queryset) -> None:
    count = end_sessions_for_users(user_ids=set(queryset.values_list("pk", flat=True)))
    modeladmin.message_user(request, f"Ended {count} session(s).", messages.SUCCESS)


def register() -> None:
    """Swap the registered User admin for a subclass of it that has the action (idempotent)."""
    user_model = get_user_model()
    current = admin.site._registry.get(user_model)
    base = type(current) if current is not None else UserAdmin
    if log_out_everywhere in (getattr(base, "actions", None) or []):
        return
    if current is not None:
        admin.site.unregister(user_model)
    attrs = {"actions": [*(base.actions or []), log_out_everywhere], "__module__": __name__}
    admin.site.register(user_model, type("MissionControlUserAdmin", (base,), attrs))


register()


@admin.register(PersonalToken)
class PersonalTokenAdmin(admin.ModelAdmin):
    """Tokens are issued on the Tokens page (shown once); here staff can only look and revoke."""

    list_display = ["name", "user", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username"]
    list_select_related = ["user"]
    fields = ["user", "name", "created_at", "last_used_at", "expires_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke_tokens"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens", permissions=["delete"])
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[PersonalToken]) -> None:
        for token in queryset.select_related("user"):
            core_services.revoke_personal_token(token=token, user=token.user)
        self.message_user(request, "Revoked.", messages.SUCCESS)
