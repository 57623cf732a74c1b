"""The two small languages of rules: JMESPath predicates and `${dotted.path}` templates.

Both only ever see the payload's parsed JSON (dicts, lists, strings, numbers, booleans, null),
never a Python object: there are no attributes to reach and no methods to call. A template
placeholder walks dict keys and list indexes and nothing else, so `${__class__}` or
`${settings.SECRET_KEY}` is simply a key the payload does not have, and renders as "".
Both are checked when a rule is saved; a bad one is refused with the position of the error.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError, LexerError, ParseError

from infra.exceptions import DomainError

MAX_RENDERED_LENGTH = 20000
# A placeholder: ${issue.title}, ${issue.labels.0.name}, ${repository.full-name}, or $action.
_PATH = r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*"


class ExpressionError(DomainError):
    """A rule's expression or template does not parse; says which field and where."""

    code = "invalid_expression"

    def __init__(self, field: str, message: str, position: int | None = None) -> None:
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"{field}: {message}{where}.", code=self.code)
        self.field = field
        self.position = position


class PayloadTemplate(string.Template):
    idpattern = _PATH
    braceidpattern = _PATH
    flags = re.ASCII


class _PayloadLookup(Mapping):
    """What a template's placeholders resolve against: dotted paths into plain JSON."""

    def __init__(self, document: Any) -> None:
        self.document = document

    def __getitem__(self, path: str) -> str:
        return as_text(lookup_path(self.document, path))

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0


def lookup_path(document: Any, path: str) -> Any:
    """Walk `a.b.0.c` through dicts (by key) and lists (by index); None when anything is missing."""
    value = document
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def as_text(value: Any) -> str:
    """A JSON value as template text: scalars as themselves, lists of scalars joined, else ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list):
        return ", ".join(as_text(item) for item in value if not isinstance(item, dict | list))
    return ""


def check_template(field: str, text: str) -> None:
    """Refuse a template with a `$` that is neither `$$`, `$name` nor `${dotted.path}`."""
    for match in PayloadTemplate.pattern.finditer(text):
        if match.group("invalid") is not None:
            raise ExpressionError(
                field,
                "a $ must start ${dotted.path} or $name (write $$ for a dollar sign)",
                match.start(),
            )


def render_template(text: str, document: Any, *, limit: int = MAX_RENDERED_LENGTH) -> str:
    if not text:
        return ""
    return PayloadTemplate(text).substitute(_PayloadLookup(document))[:limit]


@lru_cache(maxsize=512)
def compile_expression(text: str) -> Any:
    return jmespath.compile(text)


def check_expression(field: str, text: str) -> None:
    """Refuse a JMESPath expression that does not parse, saying where it stops making sense."""
    if not text.strip():
        return
    try:
        compile_expression(text)
    except LexerError as exc:
        raise ExpressionError(field, f"unexpected {exc.lexer_value!r}", exc.lexer_position) from None
    except ParseError as exc:
        token = "end of the expression" if exc.token_value in (None, "") else repr(exc.token_value)
        raise ExpressionError(field, f"unexpected {token}", exc.lex_position) from None
    except JMESPathError as exc:
        raise ExpressionError(field, str(exc).splitlines()[0]) from None


def search(text: str, document: Any) -> Any:
    """The expression's value over the payload; JMESPath runtime errors (a function given the
    wrong type) count as no value, so one odd payload cannot fail a whole rule set."""
    try:
        return compile_expression(text).search(document)
    except JMESPathError:
        return None


def is_truthy(value: Any) -> bool:
    """JMESPath's truth: false, null, "", [] and {} are false; everything else (even 0) is true."""
    return not (value is None or value is False or value in ("", [], {}))
