"""Live regions are declared one way: `{% live_region %}` (core/templatetags/live_regions.py).

A region names what it follows and where htmx refreshes it from; one that follows events but has
no source would never change (static/js/live.js refuses it at run time), so it fails here first.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.test import RequestFactory

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
OPENING_TAG = re.compile(r"<[a-z][a-z0-9-]*\s(?:[^<>]|\{%[^%]*%\}|\{\{[^}]*\}\})*>")
LIVE_MARKERS = ("data-live-follows", "live-refresh", "data-live-region", "data-live-refresh")


def hand_written_regions(path: Path) -> list[str]:
    """Opening tags that make an element live without the tag that gives it a source."""
    text = path.read_text()
    return [
        f"{path.relative_to(path.parents[1])}: {tag.group(0)[:80]}"
        for tag in OPENING_TAG.finditer(text)
        if any(marker in tag.group(0) for marker in LIVE_MARKERS) and "{% live_region" not in tag.group(0)
    ]


def render(source: str, request=None) -> str:
    context = Context({})
    context.request = request
    return Template("{% load live_regions %}" + source).render(context)


def test_every_live_region_in_the_templates_comes_from_the_tag():
    assert any("{% live_region" in path.read_text() for path in TEMPLATES)
    assert [line for path in TEMPLATES for line in hand_written_regions(path)] == []


def test_the_scan_catches_a_region_without_a_source(tmp_path):
    page = tmp_path / "templates" / "page.html"
    page.parent.mkdir()
    page.write_text('<div id="numbers" data-live-follows="task." class="{% if x %}a{% endif %}"></div>')
    assert len(hand_written_regions(page)) == 1


def test_a_region_refreshes_from_its_page_and_keeps_only_itself():
    html = render(
        '<div {% live_region "usage-top" follows="usage." %}>',
        RequestFactory().get("/usage/?days=7&stack=agent"),
    )
    assert 'id="usage-top"' in html and 'data-live-follows="usage."' in html
    assert 'hx-get="/usage/?days=7&amp;stack=agent"' in html and 'hx-select="#usage-top"' in html
    assert 'hx-swap="outerHTML"' in html and 'hx-trigger="live-refresh"' in html


def test_a_region_with_its_own_source_swaps_its_inside():
    html = render('<div {% live_region "fleet" follows="agent." source="/overview/fleet/?a=1" board=3 %}>')
    assert 'hx-get="/overview/fleet/?a=1" hx-swap="innerHTML"' in html and "hx-select" not in html
    assert 'data-live-board="3"' in html


@pytest.mark.parametrize(
    "source",
    [
        '{% live_region "fleet" follows="agent." %}',  # no request to refresh from, no source
        '{% live_region "fleet" follows="" source="/x/" %}',  # follows nothing
    ],
)
def test_a_region_without_a_source_or_events_is_refused(source):
    with pytest.raises(TemplateSyntaxError):
        render(source)
