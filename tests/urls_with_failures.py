"""The real URL conf plus views that fail on purpose, for error-shape tests."""

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

from missioncontrol.urls import urlpatterns as real_urlpatterns


def plain_boom(request):
    raise RuntimeError("secret-detail-that-must-not-leak")


@api_view(["GET"])
@permission_classes([AllowAny])
def api_boom(request):
    raise RuntimeError("secret-detail-that-must-not-leak")


urlpatterns = [
    path("api/v1/test-plain-boom", plain_boom),
    path("api/v1/test-api-boom", api_boom),
    path("test-page-boom", plain_boom),
    *real_urlpatterns,
]

handler404 = "infra.errors.handler404"
handler500 = "infra.errors.handler500"
