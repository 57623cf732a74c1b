"""/api/v1/ routes for teams; kebab-case plural, with or without a trailing slash."""

from rest_framework.routers import SimpleRouter

from teams.api import views

router = SimpleRouter()
router.trailing_slash = "/?"
# /organizations/ lives here, not in boards.api: its writes are teams' services (teams sits above boards).
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("members", views.MembershipViewSet, basename="member")
router.register("invitations", views.InvitationViewSet, basename="invitation")

urlpatterns = router.urls
