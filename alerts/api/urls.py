"""/api/v1/alert-conditions/, /api/v1/alert-rules/ (+ preview, test), /api/v1/incidents/ (+ acknowledge,
snooze)."""

from rest_framework.routers import SimpleRouter

from alerts.api import views

router = SimpleRouter()
router.register("alert-conditions", views.AlertConditionViewSet, basename="alert-condition")
router.register("alert-rules", views.AlertRuleViewSet, basename="alert-rule")
router.register("incidents", views.IncidentViewSet, basename="incident")

urlpatterns = router.urls
