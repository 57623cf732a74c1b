from django.urls import path

from gateways import views

app_name = "gateways"

urlpatterns = [
    path("", views.gateway_list, name="gateway-list"),
    path("<int:pk>/", views.gateway_detail, name="gateway-detail"),
    path("<int:pk>/delete", views.gateway_delete, name="gateway-delete"),
    path("<int:pk>/session/", views.gateway_session, name="gateway-session"),
    path("<int:pk>/agents/<int:agent_pk>/link", views.gateway_agent_link, name="gateway-agent-link"),
    path("<int:pk>/agents/<int:agent_pk>/send", views.gateway_agent_send, name="gateway-agent-send"),
    path("<int:pk>/agents/<int:agent_pk>/wake", views.gateway_agent_wake, name="gateway-agent-wake"),
    path("<int:pk>/agents/<int:agent_pk>/files/", views.gateway_agent_files, name="gateway-agent-files"),
    path("<int:pk>/sessions/stop", views.gateway_session_stop, name="gateway-session-stop"),
    path("<int:pk>/sessions/reset", views.gateway_session_reset, name="gateway-session-reset"),
    path(
        "<int:pk>/approvals/<int:approval_pk>/answer",
        views.gateway_approval_answer,
        name="gateway-approval-answer",
    ),
]
