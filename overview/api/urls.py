"""/api/v1/metrics/… and /api/v1/exports/…, with or without a trailing slash."""

from django.urls import re_path

from overview.api import views

urlpatterns = [
    re_path(r"^metrics/kpis/?$", views.MetricsKpiView.as_view(), name="metrics-kpis"),
    re_path(r"^metrics/charts/?$", views.MetricsChartView.as_view(), name="metrics-charts"),
    re_path(r"^metrics/fleet/?$", views.MetricsFleetView.as_view(), name="metrics-fleet"),
    re_path(r"^exports/(?P<dataset>[a-z]+)/?$", views.ExportView.as_view(), name="export"),
]
