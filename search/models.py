"""One row per searchable thing (task, agent, board, webhook payload, activity event).

The rows are a derived index, rebuilt at will (`manage.py search_reindex`); the domain tables
stay the truth. Kept in step by search.indexing, which follows every activity event.
PostgreSQL: `vector` is a stored tsvector (title weight A, body weight B) with a GIN index, and
`title` has a trigram GIN index when pg_trgm is available (both made in migration 0001).
SQLite: an FTS5 table `search_fts` (rowid = this row's id) mirrors title and body.
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchVectorField
from django.db import models

from core.querysets import OrganizationScopedQuerySet


class SearchKind(models.TextChoices):
    TASK = "task", "Task"
    AGENT = "agent", "Agent"
    BOARD = "board", "Board"
    PAYLOAD = "payload", "Webhook payload"
    ACTIVITY = "activity", "Activity"


class SearchDocumentQuerySet(OrganizationScopedQuerySet):
    """Documents of the organizations the user belongs to (every member sees every board)."""


class SearchDocument(models.Model):
    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    # Set for board-scoped things: agents searching see only the boards they are on.
    board = models.ForeignKey(
        "boards.Board", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=SearchKind.choices)
    object_id = models.BigIntegerField()
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300)
    updated_at = models.DateTimeField(auto_now=True)
    vector = SearchVectorField(null=True, editable=False)

    objects = SearchDocumentQuerySet.as_manager()

    class Meta:
        constraints = [
            # One document per object: re-indexing is an upsert on this pair.
            models.UniqueConstraint(fields=["kind", "object_id"], name="searchdocument_unique_object"),
        ]
        indexes = [
            # The SQLite fallback and the stale-row sweep: documents of an organization by kind.
            models.Index(fields=["organization", "kind"], name="searchdoc_org_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.object_id} {self.title}"
