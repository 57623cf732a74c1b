"""Ready-to-paste client configurations for the "Connect your agent" page (and docs/mcp.md).

Each one points a known MCP client at this server's `/mcp` with the agent's bearer token. When the
page has just issued a token it is filled in (the response is not cached); otherwise a
placeholder stands where it goes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

SERVER_KEY = "mission-control"
TOKEN_PLACEHOLDER = "<AGENT_TOKEN>"  # noqa: S105 - where the token goes, not a secret


@dataclass(frozen=True)
class ClientConfig:
    slug: str
    title: str
    where: str
    text: str


def client_configs(*, mcp_url: str, token: str = "") -> list[ClientConfig]:
    """The configurations, in the order the page shows them."""
    token = token or TOKEN_PLACEHOLDER
    bearer = f"Bearer {token}"
    cursor = {"mcpServers": {SERVER_KEY: {"url": mcp_url, "headers": {"Authorization": bearer}}}}
    openclaw = {"url": mcp_url, "transport": "streamable-http", "headers": {"Authorization": bearer}}
    tools_list = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    python = (
        "import asyncio\n"
        "import httpx\n"
        "from mcp import ClientSession\n"
        "from mcp.client.streamable_http import streamable_http_client\n\n"
        f'URL = "{mcp_url}"\n'
        f'HEADERS = {{"Authorization": "{bearer}"}}\n\n\n'
        "async def main():\n"
        "    async with (\n"
        "        httpx.AsyncClient(headers=HEADERS) as http,\n"
        "        streamable_http_client(URL, http_client=http) as (read, write, _),\n"
        "        ClientSession(read, write) as session,\n"
        "    ):\n"
        "        await session.initialize()\n"
        '        print(await session.call_tool("whoami", {}))\n\n\n'
        "asyncio.run(main())\n"
    )
    return [
        ClientConfig(
            "claude-code",
            "Claude Code",
            "Run in a terminal",
            f'claude mcp add --transport http {SERVER_KEY} {mcp_url} --header "Authorization: {bearer}"',
        ),
        ClientConfig(
            "codex",
            "Codex",
            "~/.codex/config.toml (Codex reads the token from the environment variable MC_AGENT_TOKEN)",
            f'[mcp_servers.{SERVER_KEY}]\nurl = "{mcp_url}"\nbearer_token_env_var = "MC_AGENT_TOKEN"\n\n'
            f"# in the shell that starts Codex:\n# export MC_AGENT_TOKEN='{token}'",
        ),
        ClientConfig("cursor", "Cursor", ".cursor/mcp.json in the project", json.dumps(cursor, indent=2)),
        ClientConfig(
            "openclaw",
            "OpenClaw agent",
            "Run on the gateway's host (writes mcp.servers in ~/.openclaw/openclaw.json)",
            f"openclaw mcp set {SERVER_KEY} '{json.dumps(openclaw)}'",
        ),
        ClientConfig(
            "curl",
            "curl",
            "Any shell: lists the tools (JSON-RPC in a POST)",
            f"curl -sS {mcp_url} \\\n"
            f'  -H "Authorization: {bearer}" \\\n'
            "  -H 'Content-Type: application/json' \\\n"
            "  -H 'Accept: application/json, text/event-stream' \\\n"
            f"  -d '{tools_list}'",
        ),
        ClientConfig("python", "Python", "pip install mcp, then run", python),
    ]
