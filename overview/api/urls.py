"""/api/v1/metrics/… and /api/v1/exports/…, with or without a trailing slash."""

from django.urls import re_path

from overview.api import views

urlpatterns = [
    re_path(r"^metrics/kpis/?$", views.MetricsKpiViewSet.as_view({"get": "kpis"}), name="metrics-kpis"),
    re_path(
        r"^metrics/charts/?$", views.MetricsChartViewSet.as_view({"get": "charts"}), name="metrics-charts"
    ),
    re_path(r"^metrics/fleet/?$", views.MetricsFleetViewSet.as_view({"get": "fleet"}), name="metrics-fleet"),
    re_path(
        r"^exports/(?P<dataset>[a-z]+)/?$", views.ExportViewSet.as_view({"get": "export"}), name="export"
    ),
]
