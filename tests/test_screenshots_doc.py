"""docs/screenshots.py photographs every page the browser sweep visits (tests/e2e/test_pages.py),
except the few it says it leaves out, and the gallery shows every picture it takes."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from docs import screenshots
from tests.e2e.test_pages import World

ROOT = Path(__file__).resolve().parent.parent
IDS = defaultdict(lambda: 1, gateway_session="agent:main:main")


def test_every_page_of_the_sweep_is_photographed_or_listed_as_left_out():
    swept = {name for name, _ in World(ids=IDS).pages()}
    shot = {page.name for page in screenshots.pages(IDS)}
    assert set(screenshots.NOT_SHOWN) <= swept, "NOT_SHOWN names a page the sweep no longer visits"
    assert not set(screenshots.NOT_SHOWN) & shot
    assert swept - shot == set(screenshots.NOT_SHOWN), "photograph the new page or add it to NOT_SHOWN"


def test_the_gallery_shows_every_picture_and_each_is_committed():
    gallery = (ROOT / "docs" / "screenshots.md").read_text()
    linked = set(re.findall(r'src="(screenshots/[^"]+\.png)"', gallery))
    slugs = [page.slug for page in screenshots.pages(IDS)]
    assert len(set(slugs)) == len(slugs)
    expected = {f"screenshots/{slug}{suffix}.png" for slug in slugs for _, _, suffix in screenshots.VARIANTS}
    assert linked == expected
    missing = [path for path in sorted(expected) if not (ROOT / "docs" / path).is_file()]
    assert not missing, f"run python -m docs.screenshots: {missing}"
    committed = {f"screenshots/{p.name}" for p in (ROOT / "docs" / "screenshots").glob("*.png")}
    assert committed == expected, f"stale pictures: {sorted(committed - expected)}"
