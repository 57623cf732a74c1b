"""A standup's figures match the activity log for a fixed history (tests/standups/history.py), in
the organization's time zone, per person and agent; the sections' item limit."""

from __future__ import annotations

import pytest
from django.utils import timezone

from activity.models import ActivityEvent
from boards.models import Board
from boards.services import create_task, move_task
from core.actors import Actor
from standups import figures
from standups.figures import Scope, compute, day_bounds
from tests.standups.history import DAY, TIME_ZONE, build, clock, utc

pytestmark = pytest.mark.django_db


def titles(section: list[dict]) -> list[str]:
    return [item["title"] for item in section]


def test_the_organization_figures_match_the_log_for_a_fixed_history(organization, board, user, teammate):
    history = build(organization=organization, board=board, user=user, teammate=teammate)

    result = compute(Scope(organization.pk, None, TIME_ZONE), DAY)

    assert result["counts"] == {"done": 2, "in_progress": 2, "blocked": 2, "waiting": 1}
    assert titles(result["done"]) == ["Write release notes", "Ship 2.0"]
    assert [(item["title"], item.get("status")) for item in result["in_progress"]] == [
        ("Rotate keys", "review"),
        ("Late task", "in_progress"),
    ]
    assert titles(result["blocked"]) == ["Old blocker", "Fix login"]
    assert titles(result["waiting"]) == ["Rotate keys"]
    # Finished through an approval: credited to the agent that asked, not the approver.
    assert {item["title"]: item["by"]["label"] for item in result["done"]} == {
        "Write release notes": "release-bot",
        "Ship 2.0": "release-bot",
    }
    assert result["spend"] == {
        "total_micros": 1_500_000,
        "unpriced_reports": 1,
        "by_agent": [{"agent_id": history.agent.pk, "name": "release-bot", "micros": 1_500_000}],
    }
    people = {row["label"]: row for row in result["people"]}
    assert {
        name: (r["done"], r["in_progress"], r["blocked"], r["waiting"]) for name, r in people.items()
    } == {
        "release-bot": (2, 1, 0, 1),
        "teammate": (0, 1, 1, 0),
        "owner": (0, 0, 1, 0),
    }
    assert people["release-bot"]["spend_micros"] == 1_500_000

    # The same done set straight from the log: moves to done inside the local day, not reopened.
    start, end = day_bounds(DAY, TIME_ZONE)
    moved_to_done = {
        int(e.target_id)
        for e in ActivityEvent.objects.filter(
            verb="task.status_changed", created_at__gte=start, created_at__lt=end, detail__to="done"
        )
    }
    assert {item["task_id"] for item in result["done"]} == moved_to_done

    # The same figures as sentences (page, chat, mail and API say these).
    lines = figures.sentences(result)

    assert lines[0] == (
        "2 tasks were finished: \u2018Write release notes\u2019 (release-bot), "
        "\u2018Ship 2.0\u2019 (release-bot)."
    )
    assert "1 task is waiting for approval: \u2018Rotate keys\u2019 (release-bot)." in lines
    assert lines[-1] == "Agents spent $1.50: release-bot $1.50. 1 report has no price."
    bot = next(row for row in result["people"] if row["label"] == "release-bot")
    assert figures.person_sentence(bot) == (
        "release-bot finished 2, has 1 in progress, waits for 1 approval and spent $1.50."
    )


@pytest.mark.backend_independent  # the same fold as the organization's, which runs on both
def test_a_board_standup_counts_only_that_board(organization, board, user, teammate):
    build(organization=organization, board=board, user=user, teammate=teammate)

    result = compute(Scope(organization.pk, board.pk, TIME_ZONE), DAY)

    assert result["counts"] == {"done": 1, "in_progress": 1, "blocked": 2, "waiting": 0}
    assert titles(result["done"]) == ["Write release notes"]
    assert titles(result["in_progress"]) == ["Late task"]
    assert result["spend"]["total_micros"] == 500_000
    assert result["spend"]["unpriced_reports"] == 1

    # In UTC the notes were finished on Dec 2; in Paris on Dec 3, and only there.
    in_utc = compute(Scope(organization.pk, board.pk, "UTC"), DAY)

    assert titles(in_utc["done"]) == ["Late task"]  # 00:10 on Dec 4 in Paris, 23:10 on Dec 3 in UTC
    assert titles(in_utc["in_progress"]) == []
    assert in_utc["spend"]["total_micros"] == 5_000_000  # the "after" report, 23:30 UTC


@pytest.mark.backend_independent
def test_a_section_lists_at_most_max_items_and_counts_them_all(organization, board, user, monkeypatch):
    for n in range(3):
        create_task(board=board, actor=Actor.for_user(user), title=f"Blocked {n}", status="blocked")
    scope = Scope(organization.pk, board.pk, "UTC")
    today = figures.local_today(timezone.now(), "UTC")

    monkeypatch.setattr(figures, "MAX_ITEMS", 3)
    at_the_limit = compute(scope, today)
    monkeypatch.setattr(figures, "MAX_ITEMS", 2)
    over_it = compute(scope, today)

    assert at_the_limit["counts"]["blocked"] == over_it["counts"]["blocked"] == 3
    assert len(at_the_limit["blocked"]) == 3
    assert titles(over_it["blocked"]) == ["Blocked 0", "Blocked 1"]
    assert (
        "3 tasks are blocked: \u2018Blocked 0\u2019 (owner), \u2018Blocked 1\u2019 (owner) and 1 more."
        in (figures.sentences(over_it))
    )


@pytest.mark.backend_independent
def test_work_untouched_since_before_the_day_still_counts_when_it_is_open(organization, board, user):
    """The fold reads only open work and what moved since the day began: an approval asked for
    days earlier and a task blocked since then still count; a task finished earlier does not."""
    owner = Actor.for_user(user)
    Board.objects.filter(pk=board.pk).update(require_approval_for_done=True)
    board.refresh_from_db()
    with clock(utc(11, 20, 10)):
        waiting = create_task(board=board, actor=owner, title="Sign the contract")
        for status in ("in_progress", "review", "done"):
            waiting = move_task(task=waiting, actor=owner, status=status)
        create_task(board=board, actor=owner, title="Vendor", status="blocked")

    result = compute(Scope(organization.pk, board.pk, "UTC"), DAY)

    assert titles(result["waiting"]) == ["Sign the contract"]
    assert titles(result["blocked"]) == ["Vendor"]
    assert [(item["title"], item["status"]) for item in result["in_progress"]] == [
        ("Sign the contract", "review")
    ]
    assert result["counts"]["done"] == 0
