"""Search reads: who may see which documents, the ranked hits, and what a result shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils.safestring import SafeString

from activity.models import ActivityEvent
from agents.models import Agent
from boards.models import Board, Task
from core.models import Organization
from infra.exceptions import DomainError
from search import backends
from search.highlight import excerpt, mark, term_pattern
from search.models import SearchDocument, SearchKind
from search.query_syntax import QUERY_MAX_LENGTH
from webhooks.models import WebhookPayload

DEFAULT_LIMIT = 20
MAX_LIMIT = 50
# Rows behind each kind: a hit whose object is gone (a cascade, a prune) is dropped, not linked.
KIND_MODELS = {
    SearchKind.TASK: Task,
    SearchKind.AGENT: Agent,
    SearchKind.BOARD: Board,
    SearchKind.PAYLOAD: WebhookPayload,
    SearchKind.ACTIVITY: ActivityEvent,
}


@dataclass(frozen=True)
class SearchHit:
    kind: str
    kind_label: str
    object_id: int
    title: str
    title_html: SafeString
    excerpt_html: SafeString
    url: str
    organization: str
    board_id: int | None
    updated_at: datetime
    score: float


def clean_query(text: str | None) -> str:
    text = " ".join((text or "").split())
    if not text:
        raise DomainError("Type something to search for.", code="query_required")
    if len(text) > QUERY_MAX_LENGTH:
        raise DomainError(f"A search is at most {QUERY_MAX_LENGTH} characters.", code="query_too_long")
    return text


def clean_limit(raw: str | int | None) -> int:
    if raw in (None, ""):
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise DomainError(f"limit is a whole number from 1 to {MAX_LIMIT}.", code="invalid_limit")
    return limit


def documents_for_user(user) -> QuerySet[SearchDocument]:
    """Every member sees everything of their organizations (roles are per organization)."""
    organization_ids = list(Organization.objects.visible_to(user).values_list("pk", flat=True))
    return SearchDocument.objects.filter(organization_id__in=organization_ids)


def documents_for_agent(agent: Agent) -> QuerySet[SearchDocument]:
    """An agent sees what the agent API shows it: the boards it is on, and nothing org-wide."""
    board_ids = list(agent.boards.values_list("pk", flat=True))
    return SearchDocument.objects.filter(organization_id=agent.organization_id, board_id__in=board_ids)


def search_documents(
    documents: QuerySet[SearchDocument],
    text: str,
    *,
    kinds: list[str] | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[SearchHit]:
    """The best `limit` hits of `text` among `documents`, marked up for display.

    A fixed number of queries: the ranked ids, the documents, one existence check per kind found.
    """
    if kinds:
        documents = documents.filter(kind__in=kinds)
    ranked = backends.current().find(documents, text, limit)
    if not ranked:
        return []
    scores = dict(ranked)
    rows = {d.pk: d for d in SearchDocument.objects.filter(pk__in=scores).select_related("organization")}
    existing: dict[str, set[int]] = {}
    for kind in {d.kind for d in rows.values()}:
        ids = [d.object_id for d in rows.values() if d.kind == kind]
        existing[kind] = set(KIND_MODELS[kind].objects.filter(pk__in=ids).values_list("pk", flat=True))
    pattern = term_pattern(text)
    hits = []
    for pk, score in ranked:
        document = rows.get(pk)
        if document is None or document.object_id not in existing[document.kind]:
            continue
        hits.append(
            SearchHit(
                kind=document.kind,
                kind_label=SearchKind(document.kind).label,
                object_id=document.object_id,
                title=document.title,
                title_html=mark(document.title, pattern),
                excerpt_html=excerpt(document.body, pattern),
                url=document.url,
                organization=document.organization.name,
                board_id=document.board_id,
                updated_at=document.updated_at,
                score=float(score or 0.0),
            )
        )
    return hits


def backend_name() -> str:
    return backends.current().name
