"""GET /api/v1/event-types/: the registry, so API clients pick subscription types by name."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from activity import registry

EventTypeSerializer = inline_serializer(
    "EventType",
    {
        "name": serializers.CharField(),
        "category": serializers.CharField(),
        "category_label": serializers.CharField(),
        "label": serializers.CharField(),
        "on_board_feed": serializers.BooleanField(),
    },
    many=True,
)


@extend_schema(responses=EventTypeSerializer, summary="Every event type, with its category and label")
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def event_types(request: Request) -> Response:
    return Response(
        [
            {
                "name": t.name,
                "category": t.category,
                "category_label": t.category_label,
                "label": t.label,
                "on_board_feed": t.on_board_feed,
            }
            for t in registry.event_types()
        ]
    )
