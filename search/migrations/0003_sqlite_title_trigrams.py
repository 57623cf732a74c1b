"""SQLite: `search_trigram`, an FTS5 table of document titles with the trigram tokenizer (SQLite
3.34+), so that a misspelled word finds a title on the embedded default as pg_trgm does on
PostgreSQL (search/backends.py). Filled from the titles already indexed. Without the tokenizer
(an older SQLite) nothing is created and search keeps its prefix fallback.
"""

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_trigram USING fts5(title, tokenize = 'trigram')",
    "INSERT INTO search_trigram (rowid, title) SELECT id, title FROM search_searchdocument",
]


def create_trigram_table(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        try:
            cursor.execute(SQLITE_FORWARD[0])
        except Exception:  # no FTS5 or no trigram tokenizer in this SQLite build
            return
        cursor.execute(SQLITE_FORWARD[1])


def drop_trigram_table(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS search_trigram")


class Migration(migrations.Migration):
    dependencies = [("search", "0002_text_indexes")]

    operations = [migrations.RunPython(create_trigram_table, drop_trigram_table)]
