"""Pages for webhooks. (Placeholder views until the webhooks feature lands.)"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def webhook_index(request: HttpRequest) -> HttpResponse:
    return render(request, "webhooks/index.html", {})
