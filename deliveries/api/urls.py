"""/api/v1/subscriptions/, /api/v1/deliveries/ (+ replay), /api/v1/agent-signing-secrets/."""

from rest_framework.routers import SimpleRouter

from deliveries.api import views as delivery_views

router = SimpleRouter()
router.register("subscriptions", delivery_views.SubscriptionViewSet, basename="subscription")
router.register("deliveries", delivery_views.DeliveryViewSet, basename="delivery")
router.register(
    "agent-signing-secrets", delivery_views.AgentSigningSecretViewSet, basename="agent-signing-secret"
)

urlpatterns = router.urls
