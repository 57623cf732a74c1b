"""Pages for agents. (Placeholder views until the agents feature lands.)"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from agents.models import Agent


@login_required
def agent_list(request: HttpRequest) -> HttpResponse:
    agents = Agent.objects.visible_to(request.user)
    return render(request, "agents/agent_list.html", {"agents": agents})
