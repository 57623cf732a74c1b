from django.urls import re_path

from usage.api import views

urlpatterns = [
    re_path(r"^usage/?$", views.UsageTotalsView.as_view(), name="usage-totals"),
]
