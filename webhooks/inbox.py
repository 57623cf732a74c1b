"""The inbox task of a webhook that `creates_task`: made for each payload inside the payload's
transaction, so that the `webhook.received` event names it (task_id, title) and a failed ingest
leaves no task behind.

Tasks are boards' to make, and boards is a domain app beside webhooks, which imports none of them.
The app above both that turns payloads into task changes (webhook_rules) registers the maker with
`register_inbox_task_maker()` in its AppConfig.ready(); webhooks.services calls it through
`make_inbox_task()`. There is one maker: a second registration replaces the first (a reload
registers again).
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model

from core.actors import Actor

# (board, actor, title, description) -> (task id, task title)
InboxTaskMaker = Callable[..., tuple[int, str]]

_maker: InboxTaskMaker | None = None


def register_inbox_task_maker(maker: InboxTaskMaker) -> None:
    global _maker
    _maker = maker


def make_inbox_task(*, board: Model, actor: Actor, title: str, description: str) -> tuple[int, str]:
    if _maker is None:
        raise ImproperlyConfigured("No inbox task maker is registered (webhook_rules is not installed).")
    return _maker(board=board, actor=actor, title=title, description=description)
