"""`/mcp`: the Model Context Protocol endpoint (streamable HTTP), with the official `mcp` SDK.

Order of checks for every HTTP request, before the SDK sees it:
1. the Host header against ALLOWED_HOSTS (Django's rule; this app is not behind Django's checks);
   then the method: POST only (405 otherwise: a stateless server has no stream to offer on GET);
2. the agent's bearer token (`Authorization: Bearer`, or `X-Agent-Token`) through
   agents.authentication.verify_agent_credentials: the REST API's one lookup, failure lockout per
   address (AGENT_AUTH_RATE), per-agent call limit (AGENT_RATE) and failure log, so a token, a
   limit or a lockout means the same here as on `/api/v1/agent/…`;
3. the SDK's transport (JSON-RPC, protocol version, content types).
A failure answers in the API's JSON error shape (401 with `WWW-Authenticate: Bearer`, 403 for a
suspended agent, 429 with `Retry-After`); tool failures are MCP tool errors (`isError`) carrying
the REST API's code and message.

The session manager runs **stateless**: every POST is a complete exchange with no server-side
session, so any web process behind the proxy can answer any request (no sticky sessions) and
each request is authenticated on its own. The SDK needs a task group that outlives requests;
it is started on the first request, on the server's event loop (Channels' router does not
forward ASGI lifespan events).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from jsonschema import Draft202012Validator
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import McpError
from pydantic import AnyUrl
from rest_framework.exceptions import ValidationError
from rest_framework.utils.encoders import JSONEncoder

from agent_api import serializers as agent_serializers
from agent_mcp.tools import MAX_ROWS, TOOLS, TOOLS_BY_NAME, list_board_tasks
from agents.authentication import (
    AgentAuthenticationFailed,
    AgentRateLimited,
    client_ip_from_scope,
    token_from_request_headers,
    verify_agent_credentials,
)
from agents.models import Agent, AgentToken
from boards import conversation
from boards.models import Board, Task
from infra.exceptions import DomainError, NotFound, RateLimited
from infra.logs import current_request_id
from infra.middleware import incoming_request_id

logger = logging.getLogger(__name__)

SERVER_NAME = "mission-control"
AUTHENTICATED_SCOPE_KEY = "agent_mcp.agent_token"
REQUEST_ID_SCOPE_KEY = "agent_mcp.request_id"
BOARD_URI = re.compile(r"^missioncontrol://boards/(?P<id>\d+)$")
TASK_URI = re.compile(r"^missioncontrol://tasks/(?P<id>\d+)$")
MAX_TASK_COMMENTS = 50

INSTRUCTIONS = (
    "Mission Control: boards of tasks that people and agents work on together. Start with "
    "list_my_tasks or list_board_tasks(unassigned_only=true), claim_task, then move_task as the work "
    "goes (in_progress, review), comment_on_task and post_chat_message to keep people informed, "
    "read_board_memory for what the board pinned, report_usage after model calls, heartbeat while "
    "working. Errors carry a code and a message: read the message, it says what to change."
)


def _json_ready(value: Any) -> Any:
    """DRF serializer output (Decimals, dates, lazy strings) as plain JSON values."""
    return json.loads(json.dumps(value, cls=JSONEncoder))


def _error_result(code: str, message: str, **extra: Any) -> types.CallToolResult:
    body = {"error": {"code": code, "message": message, **extra}}
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps(body))],
        structuredContent=body,
        isError=True,
    )


def _schema_errors(schema: dict[str, Any], arguments: dict[str, Any]) -> dict[str, list[str]]:
    """The arguments' violations of a tool's JSON schema, by field, as the REST API lists them."""
    fields: dict[str, list[str]] = {}
    for error in Draft202012Validator(schema).iter_errors(arguments):
        field = str(error.path[0]) if error.path else "non_field_errors"
        fields.setdefault(field, []).append(error.message)
    return fields


def _request_id(server: Server) -> str:
    request = server.request_context.request
    return (request.scope.get(REQUEST_ID_SCOPE_KEY) if request is not None else None) or "-"


def _with_request_id(handler: Callable[[Agent, dict[str, Any]], Any], request_id: str):
    """`handler` run under the HTTP request's id, so that its events and log lines carry it (the
    SDK runs tools in its own task, outside the request's context)."""

    def run(agent: Agent, arguments: dict[str, Any]) -> Any:
        token = current_request_id.set(request_id)
        try:
            return handler(agent, arguments)
        finally:
            current_request_id.reset(token)

    return run


def _request_token(server: Server) -> AgentToken:
    """The token MCPEndpoint verified for the HTTP request that carries this JSON-RPC call."""
    request = server.request_context.request
    token = request.scope.get(AUTHENTICATED_SCOPE_KEY) if request is not None else None
    if token is None:  # MCPEndpoint never lets an unauthenticated request through
        raise McpError(types.ErrorData(code=types.INVALID_REQUEST, message="Not authenticated."))
    return token


# --- resources (sync: the ORM) ------------------------------------------------------------------------


def _board_resources(agent: Agent) -> list[types.Resource]:
    boards = Board.objects.for_agent(agent).order_by("name", "id")[:MAX_ROWS]
    return [
        types.Resource(
            uri=AnyUrl(f"missioncontrol://boards/{board.pk}"),
            name=f"board-{board.pk}",
            title=board.name,
            description=board.description[:200] or f"The board {board.name}, its rules and its tasks.",
            mimeType="application/json",
        )
        for board in boards
    ]


def _read_resource(agent: Agent, uri: str) -> dict[str, Any]:
    if match := BOARD_URI.match(uri):
        board = Board.objects.for_agent(agent).filter(pk=int(match["id"])).first()
        if board is None:
            raise NotFound("Board not found.")
        body = dict(agent_serializers.AgentBoardSerializer(board).data)
        body.update(list_board_tasks(agent, {"board_id": board.pk}))
        return body
    if match := TASK_URI.match(uri):
        task = Task.objects.for_agent(agent).prefetch_related("tags").filter(pk=int(match["id"])).first()
        if task is None:
            raise NotFound("Task not found.")
        body = dict(agent_serializers.AgentTaskSerializer(task).data)
        comments = conversation.task_messages(task=task).order_by("-created_at", "-id")[:MAX_TASK_COMMENTS]
        body["comments"] = agent_serializers.CommentOutSerializer(reversed(list(comments)), many=True).data
        return body
    raise NotFound("Unknown resource: use missioncontrol://boards/<id> or missioncontrol://tasks/<id>.")


def build_server() -> Server:
    """The MCP server: the tools of agent_mcp.tools and the board and task resources."""
    server: Server = Server(SERVER_NAME, instructions=INSTRUCTIONS)

    @server.list_tools()
    async def list_tools() -> list[types.Tool]:
        return [
            types.Tool(
                name=tool.name,
                title=tool.title,
                description=tool.description,
                inputSchema=tool.input_schema,
                annotations=types.ToolAnnotations(
                    title=tool.title, readOnlyHint=tool.read_only, destructiveHint=False
                ),
            )
            for tool in TOOLS
        ]

    # The SDK's own check answers in plain text; ours answers in the API's error shape.
    @server.call_tool(validate_input=False)
    async def call_tool(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        token = _request_token(server)
        tool = TOOLS_BY_NAME.get(name)
        if tool is None:
            return _error_result("unknown_tool", f"There is no tool named “{name}”.")
        fields = _schema_errors(tool.input_schema, arguments or {})
        if fields:
            return _error_result("invalid", "The request has invalid fields.", fields=fields)
        try:
            handler = _with_request_id(tool.handler, _request_id(server))
            result = await database_sync_to_async(handler)(token.agent, arguments or {})
        except RateLimited as exc:
            return _error_result(exc.code, exc.message, retry_after=exc.retry_after)
        except DomainError as exc:
            return _error_result(exc.code, exc.message)
        except ValidationError as exc:
            fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
            return _error_result("invalid", "The request has invalid fields.", fields=_json_ready(fields))
        except Exception:
            # No traceback or detail to the agent; the log has it, under the request id.
            logger.exception("MCP tool %s failed", name)
            return _error_result("server_error", "An unexpected error occurred.")
        structured = _json_ready(result)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(structured))],
            structuredContent=structured,
        )

    @server.list_resources()
    async def list_resources() -> list[types.Resource]:
        token = _request_token(server)
        return await database_sync_to_async(_board_resources)(token.agent)

    @server.list_resource_templates()
    async def list_resource_templates() -> list[types.ResourceTemplate]:
        return [
            types.ResourceTemplate(
                uriTemplate="missioncontrol://boards/{board_id}",
                name="board",
                description="A board this agent is on: its rules and its tasks.",
                mimeType="application/json",
            ),
            types.ResourceTemplate(
                uriTemplate="missioncontrol://tasks/{task_id}",
                name="task",
                description="A task on this agent's boards, with its latest comments.",
                mimeType="application/json",
            ),
        ]

    @server.read_resource()
    async def read_resource(uri: AnyUrl) -> list[ReadResourceContents]:
        token = _request_token(server)
        try:
            body = await database_sync_to_async(_read_resource)(token.agent, str(uri))
        except DomainError as exc:
            raise McpError(types.ErrorData(code=-32002, message=exc.message)) from None
        return [ReadResourceContents(content=json.dumps(_json_ready(body)), mime_type="application/json")]

    return server


# --- the ASGI endpoint ---------------------------------------------------------------------------------


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def _allowed_hosts() -> list[str]:
    # Django's own rule (HttpRequest.get_host): DEBUG with no ALLOWED_HOSTS allows the loopback names.
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        return [".localhost", "127.0.0.1", "[::1]"]
    return list(settings.ALLOWED_HOSTS)


async def _send_json(
    send, status: int, code: str, message: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _authenticate(scope: dict[str, Any], raw: str) -> AgentToken:
    return verify_agent_credentials(raw, client_ip=client_ip_from_scope(scope), path=scope.get("path", ""))


class MCPEndpoint:
    """ASGI app for `/mcp`: host check, agent token, then the SDK's stateless session manager."""

    def __init__(self) -> None:
        self.server = build_server()
        self._manager: StreamableHTTPSessionManager | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: asyncio.Task | None = None
        self._lock: asyncio.Lock | None = None

    async def _session_manager(self) -> StreamableHTTPSessionManager:
        """The manager running on this event loop, started on first use.

        A manager can run once and its task group belongs to one loop: a new loop (a test's) gets
        a new manager. Under uvicorn there is one loop per process, so this runs once.
        """
        loop = asyncio.get_running_loop()
        if self._loop is loop and self._manager is not None:
            return self._manager
        if self._loop is not loop:
            self._loop, self._lock, self._manager = loop, asyncio.Lock(), None
        async with self._lock:
            if self._manager is None:
                manager = StreamableHTTPSessionManager(app=self.server, stateless=True)
                started = asyncio.Event()

                async def run() -> None:
                    async with manager.run():
                        started.set()
                        await asyncio.Event().wait()  # until the process ends

                self._runner = loop.create_task(run())
                await started.wait()
                self._manager = manager
        return self._manager

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        request_id = incoming_request_id(_header(scope, b"x-request-id") or None)

        async def send_with_request_id(message) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())],
                }
            await send(message)

        token = current_request_id.set(request_id)
        try:
            await self._handle(scope, receive, send_with_request_id, request_id)
        finally:
            current_request_id.reset(token)

    async def _handle(self, scope, receive, send, request_id: str) -> None:
        host, _port = split_domain_port(_header(scope, b"host"))
        if not host or not validate_host(host, _allowed_hosts()):
            return await _send_json(send, 400, "bad_request", "This host is not served here.")
        if scope.get("method") != "POST":
            # Stateless: no session to resume or push from, so no GET stream (the spec's 405 for a
            # server without one) and no DELETE; a GET would otherwise hold an idle stream open.
            return await _send_json(
                send, 405, "method_not_allowed", "POST JSON-RPC messages to /mcp.", [(b"allow", b"POST")]
            )
        raw = token_from_request_headers(scope.get("headers") or [])
        challenge = [(b"www-authenticate", b'Bearer realm="mcp"')]
        if raw is None:
            return await _send_json(
                send,
                401,
                "authentication_failed",
                "Send the agent's token as Authorization: Bearer.",
                challenge,
            )
        try:
            token = await database_sync_to_async(_authenticate)(scope, raw)
        except AgentRateLimited as exc:
            return await _send_json(
                send, 429, exc.code, str(exc), [(b"retry-after", str(exc.retry_after).encode())]
            )
        except AgentAuthenticationFailed as exc:
            headers = challenge if exc.status_code == 401 else None
            return await _send_json(send, exc.status_code, exc.code, str(exc), headers)
        manager = await self._session_manager()
        # Read back by the tools (server.request_context.request.scope): the scope is per request.
        scope = {**scope, AUTHENTICATED_SCOPE_KEY: token, REQUEST_ID_SCOPE_KEY: request_id}
        await manager.handle_request(scope, receive, send)


mcp_endpoint = MCPEndpoint()
