"""/api/v1/ routes for boards; kebab-case plural, with or without a trailing slash."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from boards.api import organization_views, views

router = SimpleRouter()
# Set after construction: the constructor only knows "/" or "" and clients send both.
router.trailing_slash = "/?"
router.register("boards", views.BoardViewSet, basename="board")
router.register("tags", views.TagViewSet, basename="tag")
router.register("tasks", views.TaskViewSet, basename="task")
router.register("approvals", views.ApprovalViewSet, basename="approval")
router.register("activity", views.ActivityViewSet, basename="activity")
router.register("personal-tokens", views.PersonalTokenViewSet, basename="personal-token")
router.register("board-groups", organization_views.BoardGroupViewSet, basename="board-group")

urlpatterns = [
    re_path(r"^roles/?$", organization_views.RoleListView.as_view(), name="role-list"),
    *router.urls,
]
