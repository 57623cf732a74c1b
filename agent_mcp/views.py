"""The "Connect your agent" page: issue a token and paste a ready configuration into an MCP client.

The token is issued by agents.services.issue_agent_token (the token service every other page and
the API use) and appears only in the response that issued it, with `Cache-Control: no-store`.
The connection indicator is a live region: the token's first call records
`agent.token_first_used`, the page's activity stream delivers it, and live.js re-renders the
region from this view.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from agent_mcp.configs import client_configs
from agent_mcp.tools import TOOLS
from agents import services
from agents.models import Agent, AgentToken
from core.access import membership_for
from core.actors import Actor
from core.models import Role
from infra.exceptions import DomainError, NotFound, PermissionDenied

DEFAULT_TOKEN_NAME = "mcp"  # noqa: S105 - a label for the token, not a secret


def _visible_agent(user, pk: int) -> Agent:
    agent = Agent.objects.visible_to(user).select_related("organization").filter(pk=pk).first()
    if agent is None:
        raise Http404("No such agent.")
    return agent


@login_required
@require_http_methods(["GET", "POST"])
def agent_connect(request: HttpRequest, pk: int) -> HttpResponse:
    agent = _visible_agent(request.user, pk)
    membership = membership_for(request.user, agent.organization_id)
    is_admin = membership is not None and membership.has_role(Role.ADMIN)
    raw_token, error = "", ""
    if request.method == "POST":
        name = (request.POST.get("name") or DEFAULT_TOKEN_NAME).strip()[:80] or DEFAULT_TOKEN_NAME
        try:
            _token, raw_token = services.issue_agent_token(
                agent=agent, actor=Actor.for_user(request.user), name=name
            )
        except NotFound as exc:
            raise Http404(exc.message) from None
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from None
        except DomainError as exc:
            error = exc.message
    # The newest token is the one the indicator waits for: the one this page just issued, or the
    # one issued the last time someone connected this agent.
    watched = (
        AgentToken.objects.filter(agent=agent, revoked_at__isnull=True).order_by("-created_at", "-id").first()
    )
    mcp_url = request.build_absolute_uri("/mcp")
    context = {
        "agent": agent,
        "is_admin": is_admin,
        "new_token": raw_token,
        "token_error": error,
        "watched_token": watched,
        "mcp_url": mcp_url,
        "configs": client_configs(mcp_url=mcp_url, token=raw_token),
        "tools": TOOLS,
    }
    response = render(request, "agent_mcp/connect.html", context, status=400 if error else 200)
    response["Cache-Control"] = "no-store"
    return response
