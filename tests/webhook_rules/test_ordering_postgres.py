"""Two workers, events about one issue out of order: the task ends as the last event says.

Real PostgreSQL, real row locks, one thread per worker (each with its own connection).
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from boards.models import Task, TaskStatus
from tests.conftest import requires_postgres
from tests.webhook_rules import github
from tests.webhook_rules.conftest import store
from webhook_rules import services
from webhook_rules.models import OutcomeStatus, PayloadRuleOutcome

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _worker(payload_id: int, errors: list) -> threading.Thread:
    def run() -> None:
        try:
            services.apply_rules(payload_id=payload_id)
        except Exception as exc:  # pragma: no cover - surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    return threading.Thread(target=run)


def test_closed_then_reopened_never_ends_closed_when_the_reopen_is_applied_first(
    github_webhook, board, monkeypatch
):
    services.apply_rules(payload_id=store(github_webhook, github.OPENED).pk)
    closed = store(github_webhook, github.closed())
    reopened = store(github_webhook, github.reopened())
    inside_reopen = threading.Event()
    release_reopen = threading.Event()
    real_update = services._update_task

    def slow_update(plan, task, actor):
        # The reopen's worker holds the task's row lock while the close's worker arrives.
        if plan.action == "reopen_task":
            inside_reopen.set()
            assert release_reopen.wait(10)
        return real_update(plan, task, actor)

    monkeypatch.setattr(services, "_update_task", slow_update)
    errors: list = []
    reopen_worker, close_worker = _worker(reopened.pk, errors), _worker(closed.pk, errors)
    reopen_worker.start()
    assert inside_reopen.wait(10)
    close_worker.start()
    close_worker.join(0.5)
    assert close_worker.is_alive(), "the close must wait for the reopen's lock"
    release_reopen.set()
    reopen_worker.join(10)
    close_worker.join(10)

    assert errors == []
    assert Task.objects.get(board=board).status == TaskStatus.INBOX
    statuses = dict(
        PayloadRuleOutcome.objects.filter(payload__in=[closed, reopened]).values_list("payload", "status")
    )
    # The reopen found the task still open (nothing to change); the close came later, as stale.
    assert statuses == {reopened.pk: OutcomeStatus.UNCHANGED, closed.pk: OutcomeStatus.STALE}


def test_two_workers_racing_on_many_issues_always_end_with_the_last_event(github_webhook, board):
    last_events = {}
    pairs = []
    for number in range(1, 9):
        opened = github.issues_event(
            "opened", issue={"number": number, "html_url": f"https://github.com/o/r/issues/{number}"}
        )
        services.apply_rules(payload_id=store(github_webhook, opened).pk)
        first, second = (
            (github.closed(), github.reopened()) if number % 2 else (github.reopened(), github.closed())
        )
        for body in (first, second):
            body["issue"]["number"] = number
        pairs.append((store(github_webhook, first).pk, store(github_webhook, second).pk))
        last_events[number] = TaskStatus.INBOX if number % 2 else TaskStatus.DONE

    errors: list = []
    # Each issue's later event goes to the first worker, its earlier one to the second.
    workers = [
        threading.Thread(target=lambda ids=[later for _, later in pairs]: _apply_all(ids, errors)),
        threading.Thread(target=lambda ids=[earlier for earlier, _ in pairs]: _apply_all(ids, errors)),
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)

    assert errors == []
    for number, expected in last_events.items():
        task = Task.objects.get(board=board, external_id=f"octo-org/octo-repo#{number}")
        assert task.status == expected, f"issue {number}"


def _apply_all(payload_ids: list[int], errors: list) -> None:
    try:
        for payload_id in payload_ids:
            services.apply_rules(payload_id=payload_id)
    except Exception as exc:  # pragma: no cover
        errors.append(exc)
    finally:
        connection.close()
