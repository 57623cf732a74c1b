"""GET/POST /api/v1/agent/boards/<board_id>/chat/: an agent reads and writes a board's chat.

Only boards the agent is on (anything else is a 404). GET is cursor-paginated: newest first by
default (follow `next` back through history); with `since=<message id>` oldest first from just
after that id (follow `next` until it is null, then keep the last id for the next catch-up).
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from agent_api.views import AgentAPIView
from boards.models import Board, Task
from chat import services
from chat.api import serializers as s
from chat.models import ChatMessage
from core.ids import parse_id
from infra.exceptions import NotFound


class ChatCursorPagination(CursorPagination):
    page_size = 50
    max_page_size = 200
    page_size_query_param = "limit"

    def get_ordering(self, request, queryset, view) -> tuple[str, ...]:
        return ("id",) if "since" in request.query_params else ("-id",)


class AgentBoardChatView(AgentAPIView):
    serializer_class = s.ChatMessageSerializer
    pagination_class = ChatCursorPagination
    queryset = ChatMessage.objects.none()  # the schema generator's model; get() scopes to the agent

    def get_board(self, board_id: str) -> Board:
        board = Board.objects.for_agent(self.agent).filter(pk=parse_id(board_id) or 0).first()
        if board is None:
            raise NotFound("Board not found.")
        return board

    def get_thread_task(self, board: Board, task_id: int | None) -> Task | None:
        if task_id is None:
            return None
        task = Task.objects.filter(board=board, pk=task_id).first()
        if task is None:
            raise NotFound("Task not found.")
        return task

    def messages(self, board: Board, query: dict) -> QuerySet[ChatMessage]:
        task = self.get_thread_task(board, query.get("task"))
        messages = ChatMessage.objects.in_thread(board_id=board.pk, task_id=task.pk if task else None)
        if query.get("pinned"):
            messages = ChatMessage.objects.filter(board=board, pinned_at__isnull=False)
        if query.get("mentions") == "me":
            messages = messages.filter(mentions__agent=self.agent)
        if "since" in query:
            messages = messages.filter(id__gt=query["since"])
        return messages.with_authors()

    @extend_schema(
        parameters=[s.ChatQuerySerializer, OpenApiParameter("cursor", str), OpenApiParameter("limit", int)],
        responses=s.ChatMessageSerializer(many=True),
    )
    def get(self, request: Request, board_id: str) -> Response:
        board = self.get_board(board_id)
        query = s.ChatQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = self.paginate_queryset(self.messages(board, query.validated_data))
        return self.get_paginated_response(s.ChatMessageSerializer(page, many=True).data)

    @extend_schema(request=s.ChatPostSerializer, responses={201: s.ChatMessageSerializer})
    def post(self, request: Request, board_id: str) -> Response:
        board = self.get_board(board_id)
        data = s.ChatPostSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = self.get_thread_task(board, data.validated_data.get("task"))
        message = services.post_message(
            board=board, actor=self.actor, body=data.validated_data["body"], task=task
        )
        message = ChatMessage.objects.with_authors().get(pk=message.pk)
        return Response(s.ChatMessageSerializer(message).data, status=status.HTTP_201_CREATED)
