"""/api/v1/gateways/ (+ commands, agents, link-agent), /api/v1/gateway-commands/<id>/,
/api/v1/gateway-approvals/ (+ answer)."""

from rest_framework.routers import SimpleRouter

from gateways.api import views

router = SimpleRouter()
router.register("gateways", views.GatewayViewSet, basename="gateway")
router.register("gateway-approvals", views.GatewayApprovalViewSet, basename="gateway-approval")
router.register("gateway-commands", views.GatewayCommandViewSet, basename="gateway-command")

urlpatterns = router.urls
