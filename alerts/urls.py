from django.urls import path

from alerts import views

app_name = "alerts"

urlpatterns = [
    path("", views.incident_list, name="incident-list"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident-detail"),
    path("incidents/<int:pk>/acknowledge/", views.incident_acknowledge, name="incident-acknowledge"),
    path("incidents/<int:pk>/snooze/", views.incident_snooze, name="incident-snooze"),
    path("badge/", views.badge, name="badge"),
    path("rules/", views.rule_list, name="rule-list"),
    path("rules/new/", views.rule_create, name="rule-create"),
    path("rules/preview/", views.rule_preview, name="rule-preview"),
    path("rules/<int:pk>/", views.rule_edit, name="rule-edit"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule-delete"),
    path("rules/<int:pk>/test/", views.rule_test, name="rule-test"),
]
