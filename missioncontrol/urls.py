"""Top-level routes. Each app owns its pages (`<app>/urls.py`) and API (`<app>/api/urls.py`)."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from activity import api as activity_api
from agents.streams import agent_event_stream
from infra import favicon, health, redoc_bundle
from infra.login_protection import ThrottledLoginView
from ops import metrics_view
from ops import status as ops_status

api_v1 = [
    # The agent SSE stream: a plain async Django view, not DRF (see agents.streams).
    path("agent/events/stream", agent_event_stream, name="agent-event-stream"),
    path("", include("boards.api.urls")),
    path("", include("agent_api.urls")),
    path("", include("usage.api.urls")),
    path("", include("webhooks.api.urls")),
    path("", include("deliveries.api.urls")),
    path("", include("alerts.api.urls")),
    path("", include("chat.api.urls")),
    path("", include("webhook_rules.api.urls")),
    path("", include("automations.api.urls")),
    path("", include("search.api.urls")),
    path("", include("overview.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("teams.api.urls")),
    path("", include("gateways.api.urls")),
    path("", include("standups.api.urls")),
    path("status", ops_status.status_api, name="ops-status-api"),
    path("event-types/", activity_api.event_types, name="event-types"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("redoc/redoc.standalone.js", redoc_bundle.redoc_bundle, name="api-redoc-bundle"),
]

urlpatterns = [
    path("favicon.ico", favicon.favicon, name="favicon"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view.metrics, name="metrics"),
    path("ops/", ops_status.ops_page, name="ops-status"),
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("agents/", include("agents.urls")),
    path("agents/", include("agent_mcp.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("webhooks/", include("webhook_rules.urls")),
    path("deliveries/", include("deliveries.urls")),
    path("alerts/", include("alerts.urls")),
    path("", include("notifications.urls")),
    path("", include("chat.urls")),
    path("search/", include("search.urls")),
    path("organizations/", include("teams.urls")),
    path("overview/", include("overview.urls")),
    path("usage/", include("usage.urls")),
    path("gateways/", include("gateways.urls")),
    path("", include("automations.urls")),
    path("standups/", include("standups.urls")),
    path("", include("boards.urls")),
]

handler400 = "infra.errors.handler400"
handler403 = "infra.errors.handler403"
handler404 = "infra.errors.handler404"
handler500 = "infra.errors.handler500"
