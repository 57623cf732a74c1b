"""docs/operations.md says what beat runs and which processes production starts, truly.

The drill found the beat list missing three schedules and the start order naming one worker
where compose runs three.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from missioncontrol.celery import app

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()


def documented_beat_rows() -> dict[str, str]:
    table = OPERATIONS.split("<!-- beat-schedule -->", 1)[1].split("<!-- /beat-schedule -->", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \|", table, re.MULTILINE)
    return dict(rows)


def test_the_beat_table_is_the_beat_schedule():
    app.finalize()  # the schedule is set when the app finalizes (reads settings)
    schedule = {name: entry["task"] for name, entry in app.conf.beat_schedule.items()}
    assert len(schedule) >= 9
    assert documented_beat_rows() == schedule


def test_the_start_order_names_every_compose_service():
    services = set(yaml.safe_load((ROOT / "compose.yml").read_text())["services"])
    start_order = OPERATIONS.split("## Processes and start order", 1)[1].split("```", 2)[1]
    named = set(re.findall(r"^\s*(?:\d+\.\s+)?([a-z][a-z-]+)\s", start_order, re.MULTILINE))
    assert services - named == set(), "add these compose services to the start order"
    assert {"worker-deliveries", "worker-maintenance", "worker-backups"} <= named
