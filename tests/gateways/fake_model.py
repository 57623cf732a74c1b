"""A deterministic OpenAI-compatible model for the gateway tests: a real HTTP server on a free port.

OpenClaw calls it as a custom provider (`api: "openai-completions"`), so runs, tool calls and
wake complete without any model key or network. It streams server-sent events like the real API.

What it answers, from the last real user text (OpenClaw's internal-context turns and its
timestamp / Runtime wrappers are stripped first, or a run would loop on them):
- a conversation that ends in a tool result → `TOOL RESULT SEEN: <first 60 chars>` (never another
  tool call, so a run always ends);
- text containing USE_TOOL → one call of the `ls` tool (or the first tool offered) on ".";
- text containing RUN_COMMAND: <cmd> → one call of the `exec` tool with that command;
- anything else → `ECHO: <text>`.
Every response reports usage (prompt tokens = characters / 4, completion = words).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL_ID = "echo-1"
INTERNAL_CONTEXT = "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>"
TIMESTAMP_PREFIX = re.compile(r"^\[[^\]]*\d{2}:\d{2}[^\]]*\]\s*")


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _is_real_user_turn(message: dict[str, Any]) -> bool:
    return message.get("role") == "user" and INTERNAL_CONTEXT not in _text_of(message.get("content"))


def user_text(messages: list[dict[str, Any]]) -> str:
    """The last user turn a person wrote, without OpenClaw's wrappers."""
    for message in reversed(messages):
        if _is_real_user_turn(message):
            text = TIMESTAMP_PREFIX.sub("", _text_of(message.get("content")).strip())
            return text.split("\n\nRuntime:")[0].strip()
    return ""


def plan_reply(body: dict[str, Any]) -> dict[str, Any]:
    """Either {"text": …} or {"tool": name, "arguments": {…}} for one request."""
    messages = body.get("messages") or []
    last_user = max((i for i, m in enumerate(messages) if _is_real_user_turn(m)), default=-1)
    # A tool already ran for this turn (OpenClaw may append its own turns after the result):
    # answer in text, never with another tool call, or the run would loop.
    tool_results = [m for m in messages[last_user + 1 :] if m.get("role") == "tool"]
    if tool_results:
        return {"text": f"TOOL RESULT SEEN: {_text_of(tool_results[-1].get('content'))[:60]}"}
    text = user_text(messages)
    tools = [t.get("function", {}).get("name") for t in body.get("tools") or []]
    if "RUN_COMMAND:" in text:
        command = text.split("RUN_COMMAND:", 1)[1].strip().splitlines()[0]
        return {"tool": "exec", "arguments": {"command": command}}
    if "USE_TOOL" in text and tools:
        name = "ls" if "ls" in tools else tools[0]
        return {"tool": name, "arguments": {"path": "."}}
    return {"text": f"ECHO: {text}"}


class FakeModelHandler(BaseHTTPRequestHandler):
    server: FakeModelServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the test output is the log
        return

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json({"object": "list", "data": [{"id": MODEL_ID, "object": "model", "owned_by": "tests"}]})
        else:
            self._json({"error": {"message": "not found"}}, status=404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._json({"error": {"message": "bad json"}}, status=400)
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json({"error": {"message": "not found"}}, status=404)
            return
        plan = plan_reply(body)
        self.server.requests.append({"plan": plan, "user_text": user_text(body.get("messages") or [])})
        prompt_tokens = max(1, len(json.dumps(body.get("messages") or [])) // 4)
        if body.get("stream"):
            self._stream(plan, prompt_tokens)
        else:
            self._complete(plan, prompt_tokens)

    def _json(self, payload: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        chunk: dict[str, Any] = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    def _stream(self, plan: dict[str, Any], prompt_tokens: int) -> None:
        self.completion_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        parts: list[bytes] = [self._chunk({"role": "assistant", "content": ""})]
        if "tool" in plan:
            call = {
                "index": 0,
                "id": f"call_{uuid.uuid4().hex[:8]}",
                "type": "function",
                "function": {"name": plan["tool"], "arguments": json.dumps(plan["arguments"])},
            }
            parts.append(self._chunk({"tool_calls": [call]}))
            finish, completion_tokens = "tool_calls", 5
        else:
            words = plan["text"].split(" ")
            for index, word in enumerate(words):
                parts.append(self._chunk({"content": word if index == 0 else " " + word}))
            finish, completion_tokens = "stop", len(words)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        parts.append(self._chunk({}, finish=finish))
        self.wfile.write(b"".join(parts))
        # Usage in its own chunk with empty choices, as the real API does with include_usage.
        usage_chunk = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": MODEL_ID,
            "choices": [],
            "usage": usage,
        }
        self.wfile.write(b"data: " + json.dumps(usage_chunk).encode() + b"\n\n")
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _complete(self, plan: dict[str, Any], prompt_tokens: int) -> None:
        message: dict[str, Any] = {"role": "assistant", "content": plan.get("text")}
        if "tool" in plan:
            message["tool_calls"] = [
                {
                    "id": f"call_{uuid.uuid4().hex[:8]}",
                    "type": "function",
                    "function": {"name": plan["tool"], "arguments": json.dumps(plan["arguments"])},
                }
            ]
        completion_tokens = len((plan.get("text") or "x").split(" "))
        self._json(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": MODEL_ID,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if "tool" in plan else "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )


class FakeModelServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), FakeModelHandler)
        self.requests: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self.serve_forever, name="fake-model", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def start(self) -> FakeModelServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
