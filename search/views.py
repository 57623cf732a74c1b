"""The search page behind the box in the app shell (`/` or Ctrl-K focuses it)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from infra.exceptions import DomainError
from search.models import SearchKind
from search.queries import clean_query, documents_for_user, search_documents

PAGE_RESULTS = 50


@login_required
@require_GET
def search_page(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("q", "")
    kind = request.GET.get("kind", "")
    kind = kind if kind in SearchKind.values else ""
    hits, error = [], ""
    if raw.strip():
        try:
            text = clean_query(raw)
            hits = search_documents(
                documents_for_user(request.user), text, kinds=[kind] if kind else None, limit=PAGE_RESULTS
            )
        except DomainError as exc:
            error = exc.message
    return render(
        request,
        "search/results.html",
        {
            "query": raw,
            "search_query": raw,
            "kind": kind,
            "kinds": SearchKind.choices,
            "hits": hits,
            "error": error,
        },
        status=400 if error else 200,
    )
