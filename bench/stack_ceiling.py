"""The stack ceiling: the full Django + middleware stack with a view that inserts one payload
row and validates nothing. Served by uvicorn with DJANGO_SETTINGS_MODULE=bench.stack_ceiling."""

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from missioncontrol.settings import *  # noqa: F403  (the production settings, one route more)

ROOT_URLCONF = "bench.stack_ceiling"


@csrf_exempt
def insert_one_row(request: HttpRequest, board_id: int, webhook_id: int) -> JsonResponse:
    from webhooks.models import WebhookPayload

    payload = WebhookPayload.objects.create(webhook_id=webhook_id, board_id=board_id, body=request.body)
    return JsonResponse({"id": str(payload.pk), "duplicate": False}, status=202)


urlpatterns = [path("bench/insert/<int:board_id>/<int:webhook_id>", insert_one_row)]
