"""Websocket route of a gateway session's live transcript (consumer in gateways.consumers)."""

from django.urls import path

from gateways.consumers import GatewaySessionConsumer

websocket_urlpatterns = [path("ws/gateways/<int:gateway_id>/session/", GatewaySessionConsumer.as_asgi())]
