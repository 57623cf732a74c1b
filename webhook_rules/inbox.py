"""The inbox task webhooks make for each payload of a webhook that `creates_task`
(webhooks.inbox, named in settings.WEBHOOK_INBOX_TASK_MAKER): a task in the board's inbox, made by
boards.services.create_task like every other task."""

from __future__ import annotations

from boards import services as board_services
from boards.models import Board
from core.actors import Actor


def make_inbox_task(*, board: Board, actor: Actor, title: str, description: str) -> tuple[int, str]:
    task = board_services.create_task(board=board, actor=actor, title=title, description=description)
    return task.pk, task.title
