"""Pages for boards. (Placeholder views until the boards feature lands.)"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from boards.models import Board


@login_required
def board_list(request: HttpRequest) -> HttpResponse:
    boards = Board.objects.visible_to(request.user).filter(archived=False)
    return render(request, "boards/board_list.html", {"boards": boards})


@login_required
def activity_feed(request: HttpRequest) -> HttpResponse:
    return render(request, "boards/activity.html", {})
