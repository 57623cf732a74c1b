"""Websocket routes of the browser streams (consumers in boards.consumers)."""

from django.urls import path

from boards.consumers import BoardConsumer, OrganizationActivityConsumer

websocket_urlpatterns = [
    path("ws/boards/<int:board_id>/", BoardConsumer.as_asgi()),
    path("ws/activity/", OrganizationActivityConsumer.as_asgi()),
]
