from django.urls import path
from rest_framework.routers import SimpleRouter

from agents.api import views

# Optional trailing slash: agents call /api/v1/agent/me and /api/v1/agent/me/ alike.
router = SimpleRouter()
router.trailing_slash = "/?"
router.register("agents", views.AgentViewSet, basename="agent")
router.register("agent-tokens", views.AgentTokenViewSet, basename="agent-token")

urlpatterns = [
    path("agent/me", views.AgentMeView.as_view(), name="agent-api-me"),
    path("agent/me/", views.AgentMeView.as_view()),
    path("agent/boards", views.AgentBoardListView.as_view(), name="agent-api-boards"),
    path("agent/boards/", views.AgentBoardListView.as_view()),
    path("agent/heartbeat", views.AgentHeartbeatView.as_view(), name="agent-api-heartbeat"),
    path("agent/heartbeat/", views.AgentHeartbeatView.as_view()),
    path("agent/tasks", views.AgentTaskListView.as_view(), name="agent-api-tasks"),
    path("agent/tasks/", views.AgentTaskListView.as_view()),
    path("agent/tasks/<int:task_id>", views.AgentTaskDetailView.as_view(), name="agent-api-task"),
    path("agent/tasks/<int:task_id>/", views.AgentTaskDetailView.as_view()),
    path("agent/tasks/<int:task_id>/claim", views.AgentTaskClaimView.as_view(), name="agent-api-task-claim"),
    path("agent/tasks/<int:task_id>/claim/", views.AgentTaskClaimView.as_view()),
    path(
        "agent/tasks/<int:task_id>/comments", views.AgentTaskCommentView.as_view(),
        name="agent-api-task-comments",
    ),
    path("agent/tasks/<int:task_id>/comments/", views.AgentTaskCommentView.as_view()),
    path(
        "agent/webhook-payloads/<int:payload_id>", views.AgentWebhookPayloadView.as_view(),
        name="agent-api-webhook-payload",
    ),
    path("agent/webhook-payloads/<int:payload_id>/", views.AgentWebhookPayloadView.as_view()),
    *router.urls,
]
