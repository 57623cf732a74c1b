from django.urls import path

from webhook_rules import views

app_name = "webhook_rules"

urlpatterns = [
    path("<int:webhook_id>/rules/", views.webhook_rules, name="webhook-rules"),
    path("<int:webhook_id>/rules/presets/", views.preset_apply, name="preset-apply"),
    path("<int:webhook_id>/rules/tables/", views.mappings_save, name="mappings-save"),
    path("<int:webhook_id>/rules/<int:rule_id>/", views.rule_edit, name="rule-edit"),
    path("<int:webhook_id>/rules/<int:rule_id>/delete/", views.rule_delete, name="rule-delete"),
    path("payloads/<int:payload_id>/reapply-rules/", views.payload_reapply, name="payload-reapply"),
]
