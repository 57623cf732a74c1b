"""What the search API returns for one hit (the highlighted title and excerpt are HTML)."""

from __future__ import annotations

from rest_framework import serializers

from search.models import SearchKind


class SearchHitSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SearchKind.choices)
    object_id = serializers.IntegerField()
    title = serializers.CharField()
    title_html = serializers.CharField(help_text="The title, escaped, with matches in <mark>.")
    excerpt_html = serializers.CharField(help_text="A short excerpt of the body, escaped, matches in <mark>.")
    url = serializers.CharField(help_text="The page of the object in the app.")
    organization = serializers.CharField()
    board_id = serializers.IntegerField(allow_null=True)
    updated_at = serializers.DateTimeField()
    score = serializers.FloatField()


class SearchResultSerializer(serializers.Serializer):
    query = serializers.CharField()
    backend = serializers.CharField(help_text="postgresql, sqlite-fts5 or substring.")
    results = SearchHitSerializer(many=True)
