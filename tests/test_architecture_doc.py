"""docs/architecture.md counts the apps there are, has a row for each, and links only inside
the repository (the drill found "seven apps" for fifteen and a link to a file outside it)."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text()
NUMBERS = {
    11: "eleven",
    12: "twelve",
    13: "thirteen",
    14: "fourteen",
    15: "fifteen",
    16: "sixteen",
    17: "seventeen",
    18: "eighteen",
    19: "nineteen",
}


def project_apps() -> list[str]:
    return [
        app
        for app in settings.INSTALLED_APPS
        if (ROOT / app / "apps.py").exists() and app != "missioncontrol"
    ]


def test_the_app_count_and_the_app_table_match_installed_apps():
    apps = project_apps()
    assert f"{NUMBERS[len(apps)]} apps" in ARCHITECTURE
    rows = set(re.findall(r"^\| `([a-z_]+)/` \|", ARCHITECTURE, re.MULTILINE)) - {"missioncontrol"}
    assert rows == set(apps)


def test_every_link_stays_inside_the_repository():
    for doc in [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]:
        text = doc.read_text()
        assert "/work/shared" not in text and "../shared/" not in text, doc.name
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (doc.parent / target).resolve().is_relative_to(ROOT), f"{doc.name}: {target}"
            assert (doc.parent / target).exists(), f"{doc.name}: {target} does not exist"
