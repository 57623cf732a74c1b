"""The database-specific half of search: how a document's text is indexed and how a query ranks.

- PostgreSQL: the stored `vector` column (GIN), `websearch_to_tsquery`, `ts_rank`; when full-text
  finds nothing (a misspelling, a fragment), pg_trgm word similarity on the title (GIN trigram).
- SQLite with FTS5 (the embedded default): the `search_fts` table, porter stemming, bm25; when
  that finds nothing, the same terms as prefixes; when that finds nothing either (a misspelling),
  the titles sharing trigrams with the words (`search_trigram`, FTS5's trigram tokenizer), kept
  when every word is as similar to a title word as pg_trgm's threshold (0.3) asks.
- SQLite without FTS5 (rare builds): every term as a case-insensitive substring of title or body.
Each returns document ids with a score, best first; search.queries does scoping and display.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Protocol

from django.conf import settings
from django.contrib.postgres.lookups import TrigramWordSimilar
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector, TrigramWordSimilarity
from django.db import connection, transaction
from django.db.models import Case, F, FloatField, Q, QuerySet, Subquery, Value, When
from django.db.models.expressions import RawSQL

from search.models import SearchDocument
from search.query_syntax import parse_query, positive_terms, to_fts5

# An event repeats the names of the object it changed: the object itself should come first.
KIND_WEIGHTS = {"activity": 0.5}


def kind_weight() -> Case:
    return Case(
        *(When(kind=kind, then=Value(weight)) for kind, weight in KIND_WEIGHTS.items()),
        default=Value(1.0),
        output_field=FloatField(),
    )


# PostgreSQL ranks at most this many matches, the most recent ones (see PostgresBackend.fulltext).
RANK_CANDIDATES = 2000


class SearchBackend(Protocol):
    name: str

    def store(self, *, kind: str, object_id: int, title: str, body: str) -> None: ...

    def forget(self, document_ids: list[int]) -> None: ...

    def find(self, documents: QuerySet[SearchDocument], text: str, limit: int) -> list[tuple[int, float]]: ...


class PostgresBackend:
    name = "postgresql"

    @property
    def config(self) -> str:
        return settings.SEARCH_TEXT_CONFIG

    def vector(self) -> SearchVector:
        """Title words weigh more than body words in the rank (A over B)."""
        return SearchVector("title", weight="A", config=self.config) + SearchVector(
            "body", weight="B", config=self.config
        )

    def store(self, *, kind: str, object_id: int, title: str, body: str) -> None:
        SearchDocument.objects.filter(kind=kind, object_id=object_id).update(vector=self.vector())

    def forget(self, document_ids: list[int]) -> None:
        """The vector lives in the row: deleting the row is enough."""

    def fulltext(self, documents: QuerySet[SearchDocument], text: str) -> QuerySet[SearchDocument]:
        """`vector @@ websearch_to_tsquery(text)`, best rank first, among the RANK_CANDIDATES most
        recent matches.

        Ranking reads every matching vector: a word in a fifth of 200,000 documents took 460 ms
        to rank in full, 27 ms capped (bench/search.py). The planner picks the GIN index for rare
        words and a newest-first walk of the primary key for common ones.
        """
        query = SearchQuery(text, search_type="websearch", config=self.config)
        candidates = documents.filter(vector=query).order_by("-pk").values("pk")[:RANK_CANDIDATES]
        return (
            SearchDocument.objects.filter(pk__in=Subquery(candidates))
            .annotate(score=SearchRank(F("vector"), query) * kind_weight())
            .order_by("-score", "-updated_at", "-pk")
        )

    def similar_titles(self, documents: QuerySet[SearchDocument], text: str) -> QuerySet[SearchDocument]:
        """`title %> text` (the trigram GIN index), most similar first; run inside lowered_threshold()."""
        return (
            documents.filter(TrigramWordSimilar(F("title"), Value(text)))
            .annotate(score=TrigramWordSimilarity(Value(text), "title"))
            .order_by("-score", "-updated_at", "-pk")
        )

    @staticmethod
    def lowered_threshold() -> None:
        """The default word-similarity threshold (0.6) misses a swapped letter in a short word.
        SET LOCAL: only for the caller's transaction."""
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL pg_trgm.word_similarity_threshold = 0.3")

    def find(self, documents: QuerySet[SearchDocument], text: str, limit: int) -> list[tuple[int, float]]:
        hits = list(self.fulltext(documents, text).values_list("pk", "score")[:limit])
        if hits or not has_trigram() or not positive_terms(parse_query(text)):
            return hits
        with transaction.atomic():
            self.lowered_threshold()
            return list(self.similar_titles(documents, text).values_list("pk", "score")[:limit])


# pg_trgm's word-similarity threshold as PostgresBackend sets it: one swapped letter in a short word.
TRIGRAM_THRESHOLD = 0.3
# Titles sharing a trigram with the words, read to score them; the best by bm25 first.
TRIGRAM_CANDIDATES = 500


def trigrams(word: str) -> set[str]:
    """pg_trgm's trigrams of one word: lower-cased, two spaces before and one after."""
    padded = f"  {word.lower()} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def word_similarity(word: str, title: str) -> float:
    """How close `word` is to its closest word of `title` (shared trigrams over all of both)."""
    wanted = trigrams(word)
    best = 0.0
    for candidate in re.findall(r"\w+", title):
        theirs = trigrams(candidate)
        best = max(best, len(wanted & theirs) / len(wanted | theirs))
    return best


class SqliteFtsBackend:
    name = "sqlite-fts5"

    def store(self, *, kind: str, object_id: int, title: str, body: str) -> None:
        documents = SearchDocument.objects.filter(kind=kind, object_id=object_id)
        document_id = documents.values_list("pk", flat=True)[0]
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM search_fts WHERE rowid = %s", [document_id])
            cursor.execute(
                "INSERT INTO search_fts (rowid, title, body) VALUES (%s, %s, %s)", [document_id, title, body]
            )
            if _sqlite_has_trigram_table():
                cursor.execute("DELETE FROM search_trigram WHERE rowid = %s", [document_id])
                cursor.execute(
                    "INSERT INTO search_trigram (rowid, title) VALUES (%s, %s)",
                    [document_id, title],
                )

    def forget(self, document_ids: list[int]) -> None:
        with connection.cursor() as cursor:
            # One statement per id: a few per write, and no SQL assembled from strings.
            cursor.executemany("DELETE FROM search_fts WHERE rowid = %s", [[pk] for pk in document_ids])
            if _sqlite_has_trigram_table():
                rows = [[pk] for pk in document_ids]
                cursor.executemany("DELETE FROM search_trigram WHERE rowid = %s", rows)

    def similar_titles(
        self, documents: QuerySet[SearchDocument], text: str, limit: int
    ) -> list[tuple[int, float]]:
        """Titles close to every word of the query (misspellings), most similar first."""
        words = [word for term in positive_terms(parse_query(text)) for word in term.words if len(word) >= 3]
        if not words or not _sqlite_has_trigram_table():
            return []
        # The trigram tokenizer indexes every three characters; a word's inner trigrams (no padding)
        # find the candidates, each quoted as an FTS5 string ("" escapes a quote inside).
        inner = sorted({word.lower()[i : i + 3] for word in words for i in range(len(word) - 2)})
        expression = " OR ".join('"' + gram.replace('"', '""') + '"' for gram in inner)
        matching = RawSQL(
            "SELECT rowid FROM search_trigram WHERE search_trigram MATCH %s ORDER BY rank LIMIT %s",
            [expression, TRIGRAM_CANDIDATES],
        )
        scored = []
        for pk, kind, title in documents.filter(pk__in=matching).values_list("pk", "kind", "title"):
            similarity = min(word_similarity(word, title) for word in words)
            if similarity >= TRIGRAM_THRESHOLD:
                scored.append((pk, similarity * KIND_WEIGHTS.get(kind, 1.0)))
        scored.sort(key=lambda hit: -hit[1])
        return scored[:limit]

    def find(self, documents: QuerySet[SearchDocument], text: str, limit: int) -> list[tuple[int, float]]:
        groups = parse_query(text)
        for prefix in (False, True):
            expression = to_fts5(groups, prefix=prefix)
            if not expression:
                return []
            # bm25 is lower-is-better; negated so that, as on PostgreSQL, higher is better. Title
            # matches weigh ten times body matches. The user's text is only ever a parameter.
            score = RawSQL(
                "SELECT -bm25(search_fts, 10.0, 1.0) FROM search_fts "
                "WHERE search_fts MATCH %s AND rowid = search_searchdocument.id",
                [expression],
                output_field=FloatField(),
            )
            matching = RawSQL("SELECT rowid FROM search_fts WHERE search_fts MATCH %s", [expression])
            hits = list(
                documents.filter(pk__in=matching)
                .annotate(score=score * kind_weight())
                .order_by("-score", "-updated_at", "-pk")
                .values_list("pk", "score")[:limit]
            )
            if hits:
                return hits
        return self.similar_titles(documents, text, limit)


class SubstringBackend:
    name = "substring"

    def store(self, *, kind: str, object_id: int, title: str, body: str) -> None:
        """Nothing beyond the row."""

    def forget(self, document_ids: list[int]) -> None:
        """Nothing beyond the row."""

    def find(self, documents: QuerySet[SearchDocument], text: str, limit: int) -> list[tuple[int, float]]:
        terms = positive_terms(parse_query(text))
        if not terms:
            return []
        for term in terms:
            phrase = " ".join(term.words)
            documents = documents.filter(Q(title__icontains=phrase) | Q(body__icontains=phrase))
        return [
            (pk, 1.0) for pk in documents.order_by("-updated_at", "-pk").values_list("pk", flat=True)[:limit]
        ]


@cache
def has_trigram() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        return cursor.fetchone() is not None


@cache
def _sqlite_has_fts_table() -> bool:
    return "search_fts" in connection.introspection.table_names()


@cache
def _sqlite_has_trigram_table() -> bool:
    return "search_trigram" in connection.introspection.table_names()


def current() -> SearchBackend:
    if connection.vendor == "postgresql":
        return PostgresBackend()
    if _sqlite_has_fts_table():
        return SqliteFtsBackend()
    return SubstringBackend()
