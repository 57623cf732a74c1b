"""Inbound webhooks: the ingest endpoint senders POST to, and the human API to manage them."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from webhooks.api.views import PayloadViewSet, WebhookViewSet
from webhooks.ingest import ingest_webhook

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("webhooks", WebhookViewSet, basename="webhook")

payload_list = PayloadViewSet.as_view({"get": "list"})
payload_detail = PayloadViewSet.as_view({"get": "retrieve"})
payload_replay = PayloadViewSet.as_view({"post": "replay"})

urlpatterns = [
    # No trailing slash, exactly as senders are told; APPEND_SLASH never redirects a POST here
    # because the path resolves as is.
    path("boards/<int:board_id>/webhooks/<int:webhook_id>", ingest_webhook, name="webhook-ingest"),
    path("webhooks/<int:webhook_pk>/payloads/", payload_list, name="webhook-payload-list"),
    path("webhooks/<int:webhook_pk>/payloads/<int:pk>/", payload_detail, name="webhook-payload-detail"),
    path(
        "webhooks/<int:webhook_pk>/payloads/<int:pk>/replay/", payload_replay, name="webhook-payload-replay"
    ),
    *router.urls,
]
