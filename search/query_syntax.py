"""The search box's syntax, the same on both databases: what `websearch_to_tsquery` accepts.

`deploy failed` (both words), `"deploy failed"` (the phrase), `deploy or release` (either),
`-staging` (not). PostgreSQL parses the raw text itself; SQLite's FTS5 gets the expression
`to_fts5` builds from the same parse, and the highlighter marks the same terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

QUERY_MAX_LENGTH = 200
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # more than one: a phrase
    negated: bool = False


def parse_query(text: str) -> list[list[Term]]:
    """AND of OR-groups of terms; empty when there is nothing to look for."""
    groups: list[list[Term]] = []
    join_next = False
    for match in _TOKEN.finditer(text or ""):
        negated, phrase, bare = match.group(1) == "-", match.group(2), match.group(3)
        if bare is not None and bare.lower() == "or" and groups:
            join_next = True
            continue
        if bare is not None and bare.startswith("-") and len(bare) > 1:
            negated, bare = True, bare[1:]
        words = tuple(w.lower() for w in _WORD.findall(phrase if phrase is not None else bare))
        if not words:
            continue
        term = Term(words=words, negated=negated)
        if join_next and not negated:
            groups[-1].append(term)
        else:
            groups.append([term])
        join_next = False
    return groups


def positive_terms(groups: list[list[Term]]) -> list[Term]:
    return [term for group in groups for term in group if not term.negated]


def _fts5_term(term: Term, *, prefix: bool) -> str:
    # Double quotes make every word a literal string to FTS5 (no operator injection); a quote in
    # the input cannot reach here (\w+ words only).
    quoted = '"' + " ".join(term.words) + '"'
    return quoted + "*" if prefix and len(term.words) == 1 else quoted


def to_fts5(groups: list[list[Term]], *, prefix: bool = False) -> str:
    """The FTS5 MATCH expression; "" when only negated terms are left (nothing to match)."""
    positives = []
    negatives = []
    for group in groups:
        alternatives = [_fts5_term(t, prefix=prefix) for t in group if not t.negated]
        negatives += [_fts5_term(t, prefix=False) for t in group if t.negated]
        if alternatives:
            positives.append(
                alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")"
            )
    if not positives:
        return ""
    return " AND ".join(positives) + "".join(f" NOT {n}" for n in negatives)
