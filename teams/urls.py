from django.urls import path

from teams import views

app_name = "teams"

urlpatterns = [
    path("", views.team, name="team"),
    path("new/", views.organization_create, name="organization-create"),
    path("<int:organization_id>/settings/", views.organization_settings, name="settings"),
    path("<int:organization_id>/leave/", views.organization_leave, name="leave"),
    path("<int:organization_id>/members/", views.members, name="members"),
    path("<int:organization_id>/invitations/", views.invitation_create, name="invitation-create"),
    path(
        "<int:organization_id>/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation-revoke",
    ),
    path(
        "<int:organization_id>/invitations/<int:invitation_id>/reissue/",
        views.invitation_reissue,
        name="invitation-reissue",
    ),
    path("invitations/accept/", views.invitation_accept, name="invitation-accept"),
]
