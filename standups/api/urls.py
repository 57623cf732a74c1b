"""/api/v1/standups/ (+ preview), /api/v1/standup-settings/<organization id>/."""

from rest_framework.routers import SimpleRouter

from standups.api import views

router = SimpleRouter()
router.register("standups", views.StandupViewSet, basename="standup")
router.register("standup-settings", views.StandupSettingsViewSet, basename="standup-settings")

urlpatterns = router.urls
