"""The search box's syntax as FTS5 receives it: words, phrases, either/or, exclusions, literals only."""

from __future__ import annotations

import pytest

from search.highlight import excerpt, mark, term_pattern
from search.query_syntax import parse_query, to_fts5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("deploy failed", '"deploy" AND "failed"'),
        ('"deploy failed" api', '"deploy failed" AND "api"'),
        ("deploy or release", '("deploy" OR "release")'),
        ("deploy -staging", '"deploy" NOT "staging"'),
        ('-"old build" deploy', '"deploy" NOT "old build"'),
        ("-staging", ""),
        ("or", '"or"'),
        ("'; DROP TABLE x;--", '"drop" AND "table" AND "x"'),
        ('NEAR(a b) "unclosed', '"near a" AND "b" AND "unclosed"'),  # a token's words: a phrase
        ("   ", ""),
    ],
)
def test_the_fts5_expression_holds_only_quoted_words(text, expected):
    assert to_fts5(parse_query(text)) == expected


def test_prefix_mode_stars_single_words_only():
    assert to_fts5(parse_query('kubern "blue green"'), prefix=True) == '"kubern"* AND "blue green"'


def test_the_highlighter_marks_other_forms_of_the_word_and_escapes_the_rest():
    pattern = term_pattern("deploying")
    assert mark("Deployed <b>x</b> deploys", pattern) == (
        "<mark>Deployed</mark> &lt;b&gt;x&lt;/b&gt; <mark>deploys</mark>"
    )


def test_an_excerpt_starts_near_the_first_match():
    text = "filler " * 100 + "the zebracorn appears " + "tail " * 100
    snippet = excerpt(text, term_pattern("zebracorn"))
    assert snippet.startswith("…") and "<mark>zebracorn</mark>" in snippet and snippet.endswith("…")
