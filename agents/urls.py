from django.urls import path

from agents import views

app_name = "agents"

urlpatterns = [
    path("", views.agent_list, name="agent-list"),
    path("new/", views.agent_create, name="agent-create"),
    path("<int:pk>/", views.agent_detail, name="agent-detail"),
    path("<int:pk>/edit/", views.agent_edit, name="agent-edit"),
    path("<int:pk>/suspend/", views.agent_suspend, name="agent-suspend"),
    path("<int:pk>/resume/", views.agent_resume, name="agent-resume"),
    path("<int:pk>/delete/", views.agent_delete, name="agent-delete"),
    path("<int:pk>/tokens/", views.agent_token_issue, name="agent-token-issue"),
    path("tokens/<int:token_id>/rotate/", views.agent_token_rotate, name="agent-token-rotate"),
    path("tokens/<int:token_id>/revoke/", views.agent_token_revoke, name="agent-token-revoke"),
]
