from django.apps import AppConfig


class AgentMcpConfig(AppConfig):
    """The MCP endpoint (/mcp). Named agent_mcp, not mcp: that name is the official SDK's."""

    name = "agent_mcp"
    verbose_name = "MCP endpoint"
