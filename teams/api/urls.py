"""/api/v1/ routes for teams; kebab-case plural, with or without a trailing slash."""

from rest_framework.routers import SimpleRouter

from teams.api import views

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("invitations", views.InvitationViewSet, basename="invitation")

urlpatterns = router.urls
