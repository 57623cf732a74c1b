"""Rules API under /api/v1/webhooks/{webhook_pk}/ (nested routes written out, like payloads)."""

from django.urls import path

from webhook_rules.api.views import (
    PayloadRuleOutcomeViewSet,
    PresetViewSet,
    RuleMappingsViewSet,
    WebhookRuleViewSet,
)

rule_list = WebhookRuleViewSet.as_view({"get": "list", "post": "create"})
rule_detail = WebhookRuleViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)

urlpatterns = [
    path("webhook-rule-presets/", PresetViewSet.as_view({"get": "list"}), name="webhook-rule-preset-list"),
    path("webhooks/<int:webhook_pk>/rules/", rule_list, name="webhook-rule-list"),
    path(
        "webhooks/<int:webhook_pk>/rules/presets/",
        WebhookRuleViewSet.as_view({"post": "presets"}),
        name="webhook-rule-presets",
    ),
    path(
        "webhooks/<int:webhook_pk>/rules/dry-run/",
        WebhookRuleViewSet.as_view({"post": "dry_run"}),
        name="webhook-rule-dry-run",
    ),
    path("webhooks/<int:webhook_pk>/rules/<int:pk>/", rule_detail, name="webhook-rule-detail"),
    path(
        "webhooks/<int:webhook_pk>/rule-mappings/",
        RuleMappingsViewSet.as_view({"get": "retrieve", "put": "update"}),
        name="webhook-rule-mappings",
    ),
    path(
        "webhooks/<int:webhook_pk>/payloads/<int:pk>/rule-outcomes/",
        PayloadRuleOutcomeViewSet.as_view({"get": "list"}),
        name="webhook-payload-rule-outcomes",
    ),
    path(
        "webhooks/<int:webhook_pk>/payloads/<int:pk>/reapply-rules/",
        PayloadRuleOutcomeViewSet.as_view({"post": "reapply"}),
        name="webhook-payload-reapply-rules",
    ),
]
