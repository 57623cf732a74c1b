"""/api/v1/ routes for notifications; kebab-case plural, with or without a trailing slash."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from notifications.api import views

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("notifications", views.NotificationViewSet, basename="notification")

urlpatterns = [
    re_path(r"^boards/(?P<board_id>\d+)/mute/?$", views.BoardMuteView.as_view(), name="board-mute"),
    re_path(r"^tasks/(?P<task_id>\d+)/watch/?$", views.TaskWatchView.as_view(), name="task-watch"),
    *router.urls,
]
