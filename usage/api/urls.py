from django.urls import re_path

from usage.api import views

urlpatterns = [
    # Optional trailing slash, like the rest of the agent API.
    re_path(r"^agent/usage/?$", views.AgentUsageView.as_view(), name="agent-api-usage"),
    re_path(r"^usage/?$", views.UsageTotalsView.as_view(), name="usage-totals"),
]
