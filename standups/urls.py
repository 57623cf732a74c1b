from django.urls import path

from standups import views

app_name = "standups"

urlpatterns = [
    path("", views.organization_standup, name="organization"),
    path("boards/<int:board_id>/", views.board_standup, name="board"),
    path("email/", views.email_preference, name="email"),
    path("settings/", views.settings_update, name="settings"),
]
