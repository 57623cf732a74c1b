"""Websocket route of the agent stream (token auth; consumer in agents.consumers)."""

from django.urls import path

from agents.consumers import AgentStreamConsumer

websocket_urlpatterns = [
    path("ws/agent/", AgentStreamConsumer.as_asgi()),
]
