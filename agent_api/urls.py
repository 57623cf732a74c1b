from django.urls import re_path
from rest_framework.routers import SimpleRouter

from agent_api import schema, views  # noqa: F401 - schema registers the OpenAPI auth scheme

# Optional trailing slash: agents call /api/v1/agent/me and /api/v1/agent/me/ alike.
router = SimpleRouter()
router.trailing_slash = "/?"
router.register("agents", views.AgentViewSet, basename="agent")
router.register("agent-tokens", views.AgentTokenViewSet, basename="agent-token")


def _route(pattern: str, view, name: str):
    # One route per endpoint with an optional trailing slash: agents call /agent/me and /agent/me/.
    return re_path(rf"^{pattern}/?$", view, name=name)


urlpatterns = [
    _route("agent/me", views.AgentMeView.as_view(), "agent-api-me"),
    _route("agent/boards", views.AgentBoardListView.as_view(), "agent-api-boards"),
    _route("agent/heartbeat", views.AgentHeartbeatView.as_view(), "agent-api-heartbeat"),
    _route("agent/tasks", views.AgentTaskListView.as_view(), "agent-api-tasks"),
    _route(r"agent/tasks/(?P<task_id>\d+)", views.AgentTaskDetailView.as_view(), "agent-api-task"),
    _route(r"agent/tasks/(?P<task_id>\d+)/claim", views.AgentTaskClaimView.as_view(), "agent-api-task-claim"),
    _route(
        r"agent/tasks/(?P<task_id>\d+)/comments",
        views.AgentTaskCommentView.as_view(),
        "agent-api-task-comments",
    ),
    _route("agent/usage", views.AgentUsageView.as_view(), "agent-api-usage"),
    _route(
        r"agent/webhook-payloads/(?P<payload_id>\d+)",
        views.AgentWebhookPayloadView.as_view(),
        "agent-api-webhook-payload",
    ),
    *router.urls,
]
