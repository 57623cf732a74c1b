"""`GET /api/v1/search/?q=` for people (session or personal token) and agents (bearer token)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from agents.authentication import HUMAN_OR_AGENT_AUTHENTICATION, AgentPrincipal
from core.api.views import HumanViewSet
from search.api.serializers import SearchResultSerializer
from search.models import SearchKind
from search.queries import (
    MAX_LIMIT,
    backend_name,
    clean_limit,
    clean_query,
    documents_for_agent,
    documents_for_user,
    search_documents,
)
from search.query_syntax import QUERY_MAX_LENGTH


class SearchViewSet(HumanViewSet):
    """Tasks (title, description, comments), agents, boards, webhook payloads and activity."""

    # The human base, widened to agents: each caller searches only what it may read.
    authentication_classes = HUMAN_OR_AGENT_AUTHENTICATION
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="search",
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                required=True,
                description=(
                    f'Up to {QUERY_MAX_LENGTH} characters: words (all must match, stemmed), "a phrase", '
                    "either or other, -excluded."
                ),
            ),
            OpenApiParameter(
                "kind",
                OpenApiTypes.STR,
                many=True,
                enum=SearchKind.values,
                description="Only these kinds (repeat the parameter for several).",
            ),
            OpenApiParameter("limit", OpenApiTypes.INT, description=f"1 to {MAX_LIMIT}, default 20."),
        ],
        responses=SearchResultSerializer,
    )
    def search(self, request: Request) -> Response:
        text = clean_query(request.query_params.get("q"))
        limit = clean_limit(request.query_params.get("limit"))
        kinds = [k for k in request.query_params.getlist("kind") if k in SearchKind.values] or None
        user = request.user
        if isinstance(user, AgentPrincipal):
            documents = documents_for_agent(user.agent)
        elif isinstance(user, get_user_model()):
            documents = documents_for_user(user)
        else:  # pragma: no cover - IsAuthenticated lets nothing else through
            documents = documents_for_user(None)
        hits = search_documents(documents, text, kinds=kinds, limit=limit)
        return Response(
            SearchResultSerializer({"query": text, "backend": backend_name(), "results": hits}).data
        )
