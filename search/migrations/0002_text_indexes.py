"""The database-specific text indexes of SearchDocument (see search/backends.py).

PostgreSQL: a GIN index on the stored tsvector; pg_trgm (when the server has it and we may create
it) and a GIN trigram index on the title for misspelled and partial words.
SQLite: the FTS5 table `search_fts` (rowid = SearchDocument.id, porter stemming); a build without
FTS5 falls back to substring search, which needs nothing here.
"""

from django.db import migrations

POSTGRES_FORWARD = [
    # Serves `vector @@ websearch_to_tsquery(...)` of every search.
    "CREATE INDEX IF NOT EXISTS searchdoc_vector_gin ON search_searchdocument USING gin (vector)",
]
TRIGRAM_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # Serves `title %> 'query'`, the fallback when full-text search finds nothing.
    "CREATE INDEX IF NOT EXISTS searchdoc_title_trgm ON search_searchdocument USING gin (title gin_trgm_ops)",
]
SQLITE_FORWARD = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(title, body, tokenize = 'porter unicode61')"
)


def create_text_indexes(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for statement in POSTGRES_FORWARD:
                cursor.execute(statement)
            try:
                cursor.execute("SAVEPOINT search_trgm")
                for statement in TRIGRAM_FORWARD:
                    cursor.execute(statement)
                cursor.execute("RELEASE SAVEPOINT search_trgm")
            except Exception:  # no pg_trgm on this server, or no right to create it: no fallback index
                cursor.execute("ROLLBACK TO SAVEPOINT search_trgm")
        elif connection.vendor == "sqlite":
            try:
                cursor.execute(SQLITE_FORWARD)
            except Exception:  # SQLite built without FTS5: search falls back to substrings
                pass


def drop_text_indexes(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP INDEX IF EXISTS searchdoc_title_trgm")
            cursor.execute("DROP INDEX IF EXISTS searchdoc_vector_gin")
        elif connection.vendor == "sqlite":
            cursor.execute("DROP TABLE IF EXISTS search_fts")


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [migrations.RunPython(create_text_indexes, drop_text_indexes)]
