"""Websocket routes of every app."""

from agents.routing import websocket_urlpatterns as agent_routes
from boards.routing import websocket_urlpatterns as board_routes
from gateways.routing import websocket_urlpatterns as gateway_routes
from notifications.routing import websocket_urlpatterns as notification_routes

websocket_urlpatterns = [*board_routes, *agent_routes, *notification_routes, *gateway_routes]
