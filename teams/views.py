"""Pages for organizations: create, settings (rename, board groups), members, invitations, leave.

Reads are scoped by membership (another organization's id is a 404); writes go through
teams.services (organizations, members, invitations) and boards.services (board groups), whose
role checks are the gate (templates only hide controls). Domain errors come back as a message on
the page, never a 500.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.db.models import Count, Max, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from boards import services as board_services
from boards.models import BoardGroup
from core.access import CURRENT_ORGANIZATION_SESSION_KEY, current_organization, membership_for
from core.actors import Actor
from core.ids import parse_id
from core.models import Membership, Organization, Role
from core.time_zones import MAX_TIME_ZONE_LENGTH
from infra.exceptions import DomainError
from teams import services
from teams.models import Invitation


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=services.ORGANIZATION_NAME_MAX)


class TimeZoneForm(forms.Form):
    time_zone = forms.CharField(
        max_length=MAX_TIME_ZONE_LENGTH,
        label="Time zone",
        help_text="An IANA name such as Europe/Paris. New schedules and standup settings start in it; "
        "those already made keep their own.",
    )


class BoardGroupForm(forms.Form):
    name = forms.CharField(max_length=board_services.BOARD_GROUP_NAME_MAX, label="Group name")


class InvitationForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class SignupForm(UserCreationForm):
    """Username and password (Django's validators); the email is the invitation's."""


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user)


def _membership_or_404(request: HttpRequest, organization_id: int) -> Membership:
    membership = membership_for(request.user, organization_id)
    if membership is None:
        raise Http404("Not found.")
    return membership


def _use_organization(request: HttpRequest, organization: Organization) -> None:
    request.session[CURRENT_ORGANIZATION_SESSION_KEY] = organization.pk


# --- organizations -----------------------------------------------------------------------------------


@login_required
@require_GET
def team(request: HttpRequest) -> HttpResponse:
    """The nav's "Team" link: the current organization's members, or a new organization."""
    organization = current_organization(request)
    if organization is None:
        return redirect("teams:organization-create")
    return redirect("teams:members", organization_id=organization.pk)


@login_required
@require_http_methods(["GET", "POST"])
def organization_create(request: HttpRequest) -> HttpResponse:
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = services.create_organization(user=request.user, name=form.cleaned_data["name"])
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            _use_organization(request, organization)
            messages.success(request, f"“{organization.name}” created. Invite your team from Members.")
            return redirect("teams:members", organization_id=organization.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "teams/organization_form.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def organization_settings(request: HttpRequest, organization_id: int) -> HttpResponse:
    """Admins: the name, the time zone and the board groups (create, rename, order, delete)."""
    membership = _membership_or_404(request, organization_id)
    organization = membership.organization
    if not membership.has_role(Role.ADMIN):
        return render(request, "teams/admins_only.html", {"organization": organization}, status=403)
    rename_form = OrganizationForm(initial={"name": organization.name})
    time_zone_form = TimeZoneForm(initial={"time_zone": organization.time_zone})
    group_form = BoardGroupForm()
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "rename":
                rename_form = OrganizationForm(request.POST)
                if rename_form.is_valid():
                    services.rename_organization(
                        organization=organization,
                        actor=_actor(request),
                        name=rename_form.cleaned_data["name"],
                    )
                    messages.success(request, "Organization renamed.")
                    return redirect("teams:settings", organization_id=organization.pk)
            elif action == "time-zone":
                time_zone_form = TimeZoneForm(request.POST)
                if time_zone_form.is_valid():
                    services.set_organization_time_zone(
                        organization=organization,
                        actor=_actor(request),
                        time_zone=time_zone_form.cleaned_data["time_zone"].strip(),
                    )
                    messages.success(request, "Time zone saved.")
                    return redirect("teams:settings", organization_id=organization.pk)
            elif action == "create-group":
                group_form = BoardGroupForm(request.POST)
                if group_form.is_valid():
                    board_services.create_board_group(
                        organization=organization, actor=_actor(request), name=group_form.cleaned_data["name"]
                    )
                    messages.success(request, "Board group created.")
                    return redirect("teams:settings", organization_id=organization.pk)
            elif action in ("rename-group", "move-group", "delete-group"):
                _change_group(request, organization, action)
                return redirect("teams:settings", organization_id=organization.pk)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("teams:settings", organization_id=organization.pk)
    groups = list(BoardGroup.objects.filter(organization=organization).annotate(board_count=Count("boards")))
    return render(
        request,
        "teams/organization_settings.html",
        {
            "organization": organization,
            "rename_form": rename_form,
            "time_zone_form": time_zone_form,
            "group_form": group_form,
            "groups": groups,
        },
        status=400 if request.method == "POST" else 200,
    )


def _change_group(request: HttpRequest, organization: Organization, action: str) -> None:
    group = get_object_or_404(
        BoardGroup.objects.filter(organization=organization), pk=parse_id(request.POST.get("group"))
    )
    if action == "rename-group":
        board_services.rename_board_group(
            group=group, actor=_actor(request), name=request.POST.get("name", "")
        )
        messages.success(request, "Board group renamed.")
    elif action == "delete-group":
        board_services.delete_board_group(group=group, actor=_actor(request))
        messages.success(request, f"Board group “{group.name}” deleted; its boards are ungrouped.")
    else:
        order = list(BoardGroup.objects.filter(organization=organization).values_list("pk", flat=True))
        index = order.index(group.pk)
        other = index - 1 if request.POST.get("direction") == "up" else index + 1
        if 0 <= other < len(order):
            order[index], order[other] = order[other], order[index]
            board_services.reorder_board_groups(
                organization=organization, actor=_actor(request), group_ids=order
            )


@login_required
@require_POST
def organization_leave(request: HttpRequest, organization_id: int) -> HttpResponse:
    membership = _membership_or_404(request, organization_id)
    try:
        services.leave_organization(organization=membership.organization, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("teams:members", organization_id=organization_id)
    request.session.pop(CURRENT_ORGANIZATION_SESSION_KEY, None)
    messages.success(request, f"You left {membership.organization.name}.")
    return redirect("boards:board-list")


# --- members and invitations ---------------------------------------------------------------------


def members_with_activity(organization: Organization):
    """Memberships with the person's last sign-in, last token use and live token count: one query."""
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .annotate(
            token_count=Count(
                "user__personal_tokens",
                filter=Q(user__personal_tokens__revoked_at__isnull=True),
                distinct=True,
            ),
            token_last_used=Max("user__personal_tokens__last_used_at"),
        )
        .order_by("user__username")
    )


@login_required
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest, organization_id: int) -> HttpResponse:
    """Everyone sees who is in; admins change roles, remove people and manage invitations."""
    membership = _membership_or_404(request, organization_id)
    organization = membership.organization
    is_admin = membership.has_role(Role.ADMIN)
    if request.method == "POST":
        if not is_admin:
            return render(request, "teams/admins_only.html", {"organization": organization}, status=403)
        _change_member(request, organization)
        return redirect("teams:members", organization_id=organization.pk)
    rows = list(members_with_activity(organization))
    for row in rows:
        seen = [t for t in (row.user.last_login, row.token_last_used) if t is not None]
        row.last_seen = max(seen) if seen else None
    invitations = list(Invitation.objects.filter(organization=organization)[:50]) if is_admin else []
    return render(
        request,
        "teams/members.html",
        {
            "organization": organization,
            "membership": membership,
            "members": rows,
            "is_admin": is_admin,
            "roles": Role.choices,
            "invitations": invitations,
            "invitation_form": InvitationForm(),
        },
    )


def _change_member(request: HttpRequest, organization: Organization) -> None:
    target = (
        Membership.objects.filter(organization=organization, pk=parse_id(request.POST.get("membership")))
        .select_related("user")
        .first()
    )
    if target is None:
        messages.error(request, "That person is not a member of this organization.")
        return
    try:
        if request.POST.get("action") == "remove":
            services.remove_member(membership=target, actor=_actor(request))
            messages.success(request, f"{target.user.get_username()} removed.")
        else:
            membership = services.change_member_role(
                membership=target, actor=_actor(request), role=request.POST.get("role", "")
            )
            messages.success(request, f"{target.user.get_username()} is now {membership.get_role_display()}.")
    except DomainError as exc:
        messages.error(request, exc.message)


@login_required
@require_POST
def invitation_create(request: HttpRequest, organization_id: int) -> HttpResponse:
    membership = _membership_or_404(request, organization_id)
    organization = membership.organization
    if not membership.has_role(Role.ADMIN):
        return render(request, "teams/admins_only.html", {"organization": organization}, status=403)
    form = InvitationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter a valid email address and role.")
        return redirect("teams:members", organization_id=organization.pk)
    try:
        invitation, raw = services.create_invitation(
            organization=organization, actor=_actor(request), **form.cleaned_data
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("teams:members", organization_id=organization.pk)
    response = render(
        request,
        "teams/invitation_created.html",
        {
            "organization": organization,
            "invitation": invitation,
            "link": services.invitation_url(raw),
            "emailed": services.invitations_are_emailed(),
        },
        status=201,
    )
    response["Cache-Control"] = "no-store"  # the one response that carries the link
    return response


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, organization_id: int, invitation_id: int) -> HttpResponse:
    membership = _membership_or_404(request, organization_id)
    invitation = get_object_or_404(
        Invitation.objects.filter(organization_id=membership.organization_id), pk=invitation_id
    )
    try:
        services.revoke_invitation(invitation=invitation, actor=_actor(request))
    except DomainError as exc:
        if exc.status_code == 403:
            return render(
                request, "teams/admins_only.html", {"organization": membership.organization}, status=403
            )
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Invitation for {invitation.email} revoked; its link no longer works.")
    return redirect("teams:members", organization_id=membership.organization_id)


@login_required
@require_POST
def invitation_reissue(request: HttpRequest, organization_id: int, invitation_id: int) -> HttpResponse:
    """A new link for the same role, to the same or a corrected address; the old link stops."""
    membership = _membership_or_404(request, organization_id)
    organization = membership.organization
    invitation = get_object_or_404(
        Invitation.objects.filter(organization_id=organization.pk), pk=invitation_id
    )
    if not membership.has_role(Role.ADMIN):
        return render(request, "teams/admins_only.html", {"organization": organization}, status=403)
    email = (request.POST.get("email") or "").strip()
    try:
        new, raw = services.reissue_invitation(invitation=invitation, actor=_actor(request), email=email)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("teams:members", organization_id=organization.pk)
    return _no_store(
        render(
            request,
            "teams/invitation_created.html",
            {
                "organization": organization,
                "invitation": new,
                "link": services.invitation_url(raw),
                "emailed": services.invitations_are_emailed(),
            },
            status=201,
        )
    )


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest) -> HttpResponse:
    """The link's page: who invited you where; join with this account, or create one.

    Unusable links (invalid, expired, revoked, used) get a page that says which, with 404/410.
    """
    raw = request.POST.get("token") or request.GET.get("token") or ""
    try:
        invitation = services.find_invitation(raw)
    except services.InvitationUnusable as exc:
        status = 404 if exc.state == "invalid" else 410
        return _no_store(
            render(
                request,
                "teams/invitation_unusable.html",
                {"state": exc.state, "message": exc.message},
                status=status,
            )
        )
    signup_form = SignupForm(request.POST if request.POST.get("action") == "signup" else None)
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "join" and request.user.is_authenticated:
                membership = services.accept_invitation(raw_token=raw, user=request.user)
                return _joined(request, membership)
            if request.POST.get("action") == "signup" and signup_form.is_valid():
                account = services.accept_invitation_with_new_account(
                    raw_token=raw,
                    username=signup_form.cleaned_data["username"],
                    password=signup_form.cleaned_data["password1"],
                )
                login(request, account.user, backend=settings.AUTHENTICATION_BACKENDS[0])
                return _joined(request, account.membership)
        except services.InvitationUnusable as exc:
            return _no_store(
                render(
                    request,
                    "teams/invitation_unusable.html",
                    {"state": exc.state, "message": exc.message},
                    status=410,
                )
            )
        except services.InvitationForSomeoneElse:
            status = 403  # the page below says whose invitation it is
        except DomainError as exc:
            messages.error(request, exc.message)
            status = 400
        else:
            status = 400
    already_member = request.user.is_authenticated and membership_for(
        request.user, invitation.organization_id
    )
    wrong_account = (
        request.user.is_authenticated
        and not already_member
        and not services.invitation_is_for(invitation, request.user)
    )
    if wrong_account:
        status = 403
    return _no_store(
        render(
            request,
            "teams/invitation_accept.html",
            {
                "invitation": invitation,
                "token": raw,
                "signup_form": signup_form,
                "already_member": bool(already_member),
                "wrong_account": wrong_account,
                "login_next": request.get_full_path(),
            },
            status=status,
        )
    )


def _joined(request: HttpRequest, membership: Membership) -> HttpResponse:
    _use_organization(request, membership.organization)
    messages.success(
        request,
        f"Welcome to {membership.organization.name}: you joined as {Role(membership.role).label.lower()}.",
    )
    return redirect("boards:board-list")


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    # The token is in this page's URL: never sent to another site. Not "no-referrer": Chromium then
    # sends `Origin: null` with the page's own form, which Django's CSRF check refuses.
    response["Referrer-Policy"] = "same-origin"
    return response
