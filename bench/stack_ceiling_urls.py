"""The stack ceilings: the full Django + middleware stack with a view that inserts one payload
row and validates nothing, and a bare view that answers 202 with no I/O; then every product route."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def insert_one_row(request: HttpRequest, board_id: int, webhook_id: int) -> JsonResponse:
    from webhooks.models import WebhookPayload

    payload = WebhookPayload.objects.create(webhook_id=webhook_id, board_id=board_id, body=request.body)
    return JsonResponse({"id": str(payload.pk), "duplicate": False}, status=202)


def bare_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"id": "0", "duplicate": False}, status=202)


handler400 = "infra.errors.handler400"
handler403 = "infra.errors.handler403"
handler404 = "infra.errors.handler404"
handler500 = "infra.errors.handler500"

urlpatterns = [
    path("bench/insert/<int:board_id>/<int:webhook_id>", insert_one_row),
    path("bench/bare", bare_view),
    path("", include("missioncontrol.urls")),
]
