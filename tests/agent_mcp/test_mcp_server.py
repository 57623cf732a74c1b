"""/mcp with the official MCP client (streamable HTTP) against uvicorn serving the real ASGI app:
the same tokens, scoping, services, events and limits as the agent REST API."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from django.test import Client
from mcp import types
from websockets.sync.client import connect

from agents import services as agent_services
from agents.models import AgentStatus
from boards.models import Approval, TaskStatus
from chat import services as chat_services
from chat.models import ChatMessage
from core.actors import Actor
from tests.agent_mcp.conftest import INITIALIZE, MCP_HEADERS, call_tool, with_mcp_session
from tests.agents.factories import agent_with_token
from tests.factories import BoardFactory, TaskFactory
from usage.models import UsageReport

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("serial")]

EXPECTED_TOOLS = {
    "whoami",
    "list_boards",
    "list_my_tasks",
    "list_board_tasks",
    "get_task",
    "claim_task",
    "move_task",
    "request_approval",
    "comment_on_task",
    "post_chat_message",
    "read_board_memory",
    "report_usage",
    "heartbeat",
}


@pytest.fixture
def worker(organization, board):
    return agent_with_token(organization=organization, name="builder", boards=[board])


def _body(result: types.CallToolResult) -> dict:
    assert result.content and result.content[0].type == "text"
    return json.loads(result.content[0].text)


def test_it_initializes_and_lists_every_tool_with_a_schema(mcp_server, worker):
    _agent, _token, raw = worker

    async def action(session):
        return await session.list_tools()

    tools = with_mcp_session(mcp_server.url, raw, action).tools
    assert {tool.name for tool in tools} == EXPECTED_TOOLS
    for tool in tools:
        assert tool.description and tool.inputSchema["type"] == "object", tool.name
    claim = next(tool for tool in tools if tool.name == "claim_task")
    assert claim.inputSchema["required"] == ["task_id"]


def test_it_claims_a_task_and_the_claim_reaches_the_board_live(mcp_server, worker, user, board):
    agent, _token, raw = worker
    task = TaskFactory(board=board, title="Ship the release")
    browser = Client()
    browser.force_login(user)
    port = mcp_server.url.rsplit(":", 1)[1]
    headers = {"Origin": mcp_server.url, "Cookie": f"sessionid={browser.cookies['sessionid'].value}"}
    with connect(f"ws://127.0.0.1:{port}/ws/boards/{board.pk}/", additional_headers=headers) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
        result = call_tool(mcp_server.url, raw, "claim_task", {"task_id": task.pk})
        assert not result.isError, result.content
        assert result.structuredContent["assignee_agent"] == agent.pk
        deadline = time.monotonic() + 10
        while True:
            message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message["type"] == "event" and message["event"]["verb"] == "task.claimed":
                break
    assert message["event"]["actor"] == {**message["event"]["actor"], "kind": "agent", "agent_id": agent.pk}
    task.refresh_from_db()
    assert task.assignee_agent_id == agent.pk


def test_it_comments_moves_and_posts_to_chat_through_the_services(mcp_server, worker, board):
    agent, _token, raw = worker
    task = TaskFactory(board=board, assignee_agent=agent, status=TaskStatus.INBOX)

    async def action(session):
        comment = await session.call_tool("comment_on_task", {"task_id": task.pk, "body": "Started."})
        moved = await session.call_tool("move_task", {"task_id": task.pk, "status": "in_progress"})
        chat = await session.call_tool("post_chat_message", {"board_id": board.pk, "body": "On it."})
        return comment, moved, chat

    comment, moved, chat = with_mcp_session(mcp_server.url, raw, action)
    assert not comment.isError and not moved.isError and not chat.isError
    # The comment is a message of the task's thread (its one conversation).
    commented = ChatMessage.objects.get(task=task)
    assert (commented.author_agent_id, commented.body) == (agent.pk, "Started.")
    assert comment.structuredContent["id"] == commented.pk
    assert moved.structuredContent["status"] == "in_progress"
    message = ChatMessage.objects.get(board=board, task=None)
    assert (message.author_agent_id, message.body) == (agent.pk, "On it.")
    assert chat.structuredContent["id"] == message.pk


def test_it_reports_usage_once_per_idempotency_key(mcp_server, worker):
    agent, _token, raw = worker
    report = {
        "model": "claude-sonnet",
        "input_tokens": 1200,
        "output_tokens": 300,
        "idempotency_key": "run-1",
    }

    async def action(session):
        first = await session.call_tool("report_usage", {"reports": [report]})
        again = await session.call_tool("report_usage", {"reports": [report]})
        return first, again

    first, again = with_mcp_session(mcp_server.url, raw, action)
    assert (first.structuredContent["accepted"], again.structuredContent["duplicates"]) == (1, 1)
    assert UsageReport.objects.filter(agent=agent).count() == 1


def test_a_tool_error_carries_the_api_code_and_message(mcp_server, worker, organization, board):
    agent, _token, raw = worker
    mine = TaskFactory(board=board, assignee_agent=agent, status=TaskStatus.INBOX)
    taken_by_another = TaskFactory(board=board, assignee_agent=agent_with_token(organization=organization)[0])

    async def action(session):
        return (
            await session.call_tool("claim_task", {"task_id": taken_by_another.pk}),
            await session.call_tool("move_task", {"task_id": mine.pk, "status": "done"}),
            await session.call_tool("comment_on_task", {"task_id": mine.pk, "body": "x" * 20001}),
        )

    claimed, moved, too_long = with_mcp_session(mcp_server.url, raw, action)
    assert claimed.isError and _body(claimed)["error"] == {
        "code": "already_claimed",
        "message": "This task is already claimed.",
    }
    assert moved.isError and _body(moved)["error"] == {
        "code": "invalid_transition",
        "message": "A task cannot move from inbox to done. It must pass through review first.",
    }
    assert too_long.isError and _body(too_long)["error"]["code"] == "invalid"
    assert "body" in _body(too_long)["error"]["fields"]


def test_another_organizations_board_and_task_are_not_found(mcp_server, worker, other_organization):
    _agent, _token, raw = worker
    foreign_board = BoardFactory(organization=other_organization)
    foreign_task = TaskFactory(board=foreign_board)

    async def action(session):
        return (
            await session.call_tool("claim_task", {"task_id": foreign_task.pk}),
            await session.call_tool("post_chat_message", {"board_id": foreign_board.pk, "body": "hi"}),
            await session.call_tool("list_board_tasks", {"board_id": foreign_board.pk}),
        )

    for result in with_mcp_session(mcp_server.url, raw, action):
        assert result.isError
        assert _body(result)["error"]["code"] == "not_found"
    foreign_task.refresh_from_db()
    assert foreign_task.assignee_agent_id is None
    assert not ChatMessage.objects.filter(board=foreign_board).exists()


def test_it_asks_for_approval_on_a_board_that_requires_it(mcp_server, organization, user):
    board = BoardFactory(organization=organization, require_approval_for_done=True)
    agent, _token, raw = agent_with_token(organization=organization, boards=[board])
    task = TaskFactory(board=board, assignee_agent=agent, status=TaskStatus.REVIEW)
    result = call_tool(mcp_server.url, raw, "request_approval", {"task_id": task.pk, "note": "All green."})
    assert not result.isError, result.content
    approval = Approval.objects.get(task=task)
    assert result.structuredContent["approval"] == {"id": approval.pk, "status": approval.status}
    task.refresh_from_db()
    assert task.status == TaskStatus.REVIEW


def test_it_reads_board_memory_heartbeats_and_resources(mcp_server, worker, user, board):
    agent, _token, raw = worker
    task = TaskFactory(board=board, title="Readable")
    pinned = chat_services.post_message(
        board=board, actor=Actor.for_user(user), body="Deploy on Fridays: no."
    )
    chat_services.set_pinned(message=pinned, actor=Actor.for_user(user), pinned=True)
    chat_services.post_message(board=board, actor=Actor.for_user(user), body="not pinned")
    chat_services.post_message(board=board, actor=Actor.for_user(user), body="Use the blue rack", task=task)

    async def action(session):
        memory = await session.call_tool("read_board_memory", {"board_id": board.pk})
        beat = await session.call_tool("heartbeat", {"status_text": "reading", "current_task_id": task.pk})
        listed = await session.list_resources()
        board_resource = await session.read_resource(f"missioncontrol://boards/{board.pk}")
        task_resource = await session.read_resource(f"missioncontrol://tasks/{task.pk}")
        return memory, beat, listed, board_resource, task_resource

    memory, beat, listed, board_resource, task_resource = with_mcp_session(mcp_server.url, raw, action)
    assert [m["body"] for m in memory.structuredContent["messages"]] == ["Deploy on Fridays: no."]
    assert beat.structuredContent["status_text"] == "reading"
    assert [str(r.uri) for r in listed.resources] == [f"missioncontrol://boards/{board.pk}"]
    assert json.loads(board_resource.contents[0].text)["tasks"][0]["id"] == task.pk
    read_task = json.loads(task_resource.contents[0].text)
    # The task's latest comments are its thread's messages.
    assert read_task["title"] == "Readable" and [c["body"] for c in read_task["comments"]] == [
        "Use the blue rack"
    ]
    agent.refresh_from_db()
    assert agent.status_text == "reading"


# --- refused before the SDK sees the request -----------------------------------------------------------


def _initialize(url: str, token: str | None) -> httpx.Response:
    headers = dict(MCP_HEADERS)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{url}/mcp", json=INITIALIZE, headers=headers, timeout=10)


def test_it_refuses_a_missing_a_wrong_and_a_revoked_token(mcp_server, worker):
    _agent, token, raw = worker
    missing = _initialize(mcp_server.url, None)
    wrong = _initialize(mcp_server.url, raw[:-4] + "AAAA")
    assert _initialize(mcp_server.url, raw).status_code == 200
    agent_services.revoke_agent_token(token=token, actor=Actor.system())
    revoked = _initialize(mcp_server.url, raw)
    for response in (missing, wrong, revoked):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="mcp"'
        assert response.json()["error"]["code"] == "authentication_failed"
        assert raw[-8:] not in response.text
    with pytest.raises(Exception):
        call_tool(mcp_server.url, raw, "whoami")


def test_a_suspended_agent_is_refused_with_403(mcp_server, worker):
    agent, _token, raw = worker
    agent.status = AgentStatus.SUSPENDED
    agent.save(update_fields=["status"])
    response = _initialize(mcp_server.url, raw)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "agent_suspended"


def test_failed_tokens_lock_the_address_out_like_the_rest_api(mcp_server, settings, worker):
    settings.AGENT_AUTH_RATE = "3/60s"
    _agent, _token, raw = worker
    statuses = [_initialize(mcp_server.url, f"mca_{'0' * 16}_{'x' * 43}").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429], statuses
    locked = _initialize(mcp_server.url, raw)
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) >= 1


def test_the_agent_call_limit_applies_per_request(mcp_server, settings, worker):
    settings.AGENT_RATE = "2/60s"
    _agent, _token, raw = worker
    statuses = [_initialize(mcp_server.url, raw).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_an_unknown_host_is_refused(mcp_server, worker):
    _agent, _token, raw = worker
    response = httpx.post(
        f"{mcp_server.url}/mcp",
        json=INITIALIZE,
        headers={**MCP_HEADERS, "Authorization": f"Bearer {raw}", "Host": "evil.example"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "bad_request", "message": "This host is not served here."}


def test_a_tool_call_is_audited_under_the_http_request_id(mcp_server, worker, board):
    from activity.models import ActivityEvent

    _agent, _token, raw = worker
    task = TaskFactory(board=board)
    response = httpx.post(
        f"{mcp_server.url}/mcp",
        json={
            "jsonrpc": "2.0",
            "id": 7,
            "method": "tools/call",
            "params": {"name": "claim_task", "arguments": {"task_id": task.pk}},
        },
        headers={
            **MCP_HEADERS,
            "Authorization": f"Bearer {raw}",
            "MCP-Protocol-Version": "2025-06-18",
            "X-Request-ID": "mcp-audit-0001",
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == "mcp-audit-0001"
    assert ActivityEvent.objects.get(verb="task.claimed").request_id == "mcp-audit-0001"


def test_a_persons_token_is_not_an_agent_token(mcp_server, user):
    from core.services import create_personal_token

    _token, raw = create_personal_token(user=user, name="script")
    as_token = httpx.post(
        f"{mcp_server.url}/mcp",
        json=INITIALIZE,
        headers={**MCP_HEADERS, "Authorization": f"Token {raw}"},
        timeout=10,
    )
    as_bearer = _initialize(mcp_server.url, raw)
    assert (as_token.status_code, as_bearer.status_code) == (401, 401)


def test_approval_on_a_board_without_it_and_a_foreign_resource_are_clear_errors(
    mcp_server, worker, board, other_organization
):
    from mcp.shared.exceptions import McpError

    _agent, _token, raw = worker
    task = TaskFactory(board=board, status=TaskStatus.REVIEW)
    foreign_board = BoardFactory(organization=other_organization)

    async def action(session):
        approval = await session.call_tool("request_approval", {"task_id": task.pk})
        try:
            await session.read_resource(f"missioncontrol://boards/{foreign_board.pk}")
        except McpError as exc:
            return approval, exc.error.message
        return approval, None

    approval, resource_error = with_mcp_session(mcp_server.url, raw, action)
    assert approval.isError and _body(approval)["error"]["code"] == "approval_not_required"
    assert resource_error == "Board not found."
    assert not Approval.objects.exists()


def test_get_and_delete_are_405_a_stateless_server_has_no_stream(mcp_server, worker):
    _agent, _token, raw = worker
    headers = {"Authorization": f"Bearer {raw}", "Accept": "text/event-stream"}
    for method in ("GET", "DELETE"):
        response = httpx.request(method, f"{mcp_server.url}/mcp", headers=headers, timeout=10)
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        assert response.json()["error"]["code"] == "method_not_allowed"


def test_it_lists_my_tasks_and_a_boards_claimable_tasks(mcp_server, worker, organization, board):
    agent, _token, raw = worker
    mine = TaskFactory(board=board, assignee_agent=agent, status=TaskStatus.IN_PROGRESS)
    mine_done = TaskFactory(board=board, assignee_agent=agent, status=TaskStatus.DONE)
    free = TaskFactory(board=board)
    others = TaskFactory(board=board, assignee_agent=agent_with_token(organization=organization)[0])
    elsewhere = TaskFactory(board=BoardFactory(organization=organization), assignee_agent=agent)

    async def action(session):
        return (
            await session.call_tool("list_my_tasks", {}),
            await session.call_tool("list_my_tasks", {"status": ["in_progress"]}),
            await session.call_tool("list_board_tasks", {"board_id": board.pk}),
            await session.call_tool("list_board_tasks", {"board_id": board.pk, "unassigned_only": True}),
            await session.call_tool("list_my_tasks", {"status": ["doing"]}),
        )

    my_tasks, in_progress, board_tasks, claimable, bad_status = with_mcp_session(mcp_server.url, raw, action)
    ids = lambda result: {task["id"] for task in result.structuredContent["tasks"]}  # noqa: E731
    assert ids(my_tasks) == {mine.pk, mine_done.pk}  # not the task on a board the agent is not on
    assert elsewhere.pk not in ids(my_tasks)
    assert ids(in_progress) == {mine.pk}
    assert ids(board_tasks) == {mine.pk, mine_done.pk, free.pk, others.pk}
    assert ids(claimable) == {free.pk}
    assert my_tasks.structuredContent["truncated"] is False
    assert bad_status.isError
    assert _body(bad_status)["error"]["code"] == "invalid"
    assert _body(bad_status)["error"]["fields"]["status"] == [
        "'doing' is not one of ['inbox', 'in_progress', 'review', 'done', 'blocked']"
    ]


def test_a_chat_rate_limit_is_a_tool_error_with_retry_after(mcp_server, settings, worker, board):
    settings.CHAT_POST_RATE = "1/60s"
    _agent, _token, raw = worker

    async def action(session):
        return (
            await session.call_tool("post_chat_message", {"board_id": board.pk, "body": "one"}),
            await session.call_tool("post_chat_message", {"board_id": board.pk, "body": "two"}),
        )

    first, second = with_mcp_session(mcp_server.url, raw, action)
    assert not first.isError
    error = _body(second)["error"]
    assert second.isError and error["code"] == "rate_limited" and error["retry_after"] >= 1
    assert ChatMessage.objects.filter(board=board).count() == 1
