"""The inbox task of a webhook that `creates_task`: made for each payload inside the payload's
transaction, so that the `webhook.received` event names it (task_id, title) and a failed ingest
leaves no task behind.

Tasks are boards' to make, and boards is a domain app beside webhooks, which imports none of them.
The app above both that turns payloads into task changes (webhook_rules) provides the maker, named
by its dotted path in settings.WEBHOOK_INBOX_TASK_MAKER (the settings style of every seam);
webhooks.services calls it through `make_inbox_task()`. There is one maker.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model
from django.utils.module_loading import import_string

from core.actors import Actor

# (board, actor, title, description) -> (task id, task title)
InboxTaskMaker = Callable[..., tuple[int, str]]


@cache
def _maker(path: str) -> InboxTaskMaker:
    return import_string(path)


def inbox_task_maker() -> InboxTaskMaker:
    """The maker settings.WEBHOOK_INBOX_TASK_MAKER names; ImproperlyConfigured when it names none."""
    path = settings.WEBHOOK_INBOX_TASK_MAKER
    if not path:
        raise ImproperlyConfigured("No inbox task maker is configured (settings.WEBHOOK_INBOX_TASK_MAKER).")
    return _maker(path)


def make_inbox_task(*, board: Model, actor: Actor, title: str, description: str) -> tuple[int, str]:
    return inbox_task_maker()(board=board, actor=actor, title=title, description=description)
