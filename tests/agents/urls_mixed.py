"""A route that accepts a session or an agent token, beside the real URLconf, for the tests."""

from django.urls import include, path
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from agents.authentication import AGENT_OR_SESSION_AUTHENTICATION


@api_view(["GET"])
@authentication_classes(AGENT_OR_SESSION_AUTHENTICATION)
@permission_classes([IsAuthenticated])
def whoami(request):
    return Response({"who": str(request.user)})


urlpatterns = [
    path("mixed/whoami", whoami),
    path("", include("missioncontrol.urls")),
]
