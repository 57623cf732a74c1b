"""Template context shared by every page: the sidebar navigation."""

from __future__ import annotations

from typing import NamedTuple

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse


class NavItem(NamedTuple):
    """One sidebar link; `icon` names a symbol of static/icons/sprite.svg."""

    label: str
    url_name: str
    icon: str
    staff_only: bool = False


# Feature apps add one line each; the order is the sidebar's.
NAVIGATION = [
    NavItem("Overview", "overview:overview", "layout-dashboard"),
    NavItem("Boards", "boards:board-list", "square-kanban"),
    NavItem("Activity", "boards:activity", "activity"),
    NavItem("Agents", "agents:agent-list", "bot"),
    NavItem("Gateways", "gateways:gateway-list", "server"),
    NavItem("Webhooks", "webhooks:webhook-index", "webhook"),
    NavItem("Deliveries", "deliveries:dead-letters", "send"),
    NavItem("Alerts", "alerts:incident-list", "triangle-alert"),
    NavItem("Notifications", "notifications:list", "bell"),
    NavItem("Team", "teams:team", "users"),
    NavItem("API tokens", "boards:personal-tokens", "key-round"),
    NavItem("Operations", "ops-status", "shield-check", staff_only=True),
    NavItem("Usage", "usage:usage", "database"),
    NavItem("Standups", "standups:organization", "calendar"),
]


# A live count at the end of a sidebar link (its app keeps it current): unread notifications,
# firing incidents. In the item itself, not a separate header widget, so the sidebar is one list.
NAV_COUNTERS = {
    "notifications:list": "notifications/partials/nav_count.html",
    "alerts:incident-list": "alerts/partials/nav_count.html",
}


def _is_current(path: str, url: str) -> bool:
    if url == "/":  # Boards live at the root: the list and every /boards/... page.
        return path == "/" or path.startswith("/boards/")
    return path.startswith(url)


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    is_staff = bool(getattr(user, "is_staff", False))
    path = getattr(request, "path", "")
    items = []
    for item in NAVIGATION:
        if item.staff_only and not is_staff:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:  # an app that is not installed in this configuration
            continue
        items.append(
            {
                "label": item.label,
                "url": url,
                "icon": item.icon,
                "current": _is_current(path, url),
                "counter": NAV_COUNTERS.get(item.url_name, ""),
            }
        )
    return {"navigation": items}
