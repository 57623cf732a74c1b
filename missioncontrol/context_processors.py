"""Template context shared by every page: the navigation."""

from django.http import HttpRequest

NAVIGATION = [
    ("Overview", "overview:overview"),
    ("Boards", "boards:board-list"),
    ("Agents", "agents:agent-list"),
    ("Webhooks", "webhooks:webhook-index"),
    ("Deliveries", "deliveries:dead-letters"),
    ("Activity", "boards:activity"),
    ("Team", "teams:team"),
]


def navigation(request: HttpRequest) -> dict:
    return {"navigation": NAVIGATION}
