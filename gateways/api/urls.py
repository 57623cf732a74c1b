"""/api/v1/gateways/ (+ commands), /api/v1/gateway-commands/<id>/."""

from rest_framework.routers import SimpleRouter

from gateways.api import views

router = SimpleRouter()
router.register("gateways", views.GatewayViewSet, basename="gateway")
router.register("gateway-commands", views.GatewayCommandViewSet, basename="gateway-command")

urlpatterns = router.urls
