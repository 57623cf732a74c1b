"""One "is this a partial request" signal: views ask core.partials.is_partial, nothing else.

Three had grown (django-htmx's request.htmx, an X-Requested-With header chat.js sent, and the
live fetches' own X-Requested-With); a view that reads another one again fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.test import RequestFactory

from core.partials import is_partial

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = {".venv", ".tools", "tests", "bench", "node_modules", "docs"}
HELPER = ROOT / "core" / "partials.py"
# What a view could read instead of the helper: the header (as Django spells it in headers and
# META), django-htmx's attribute, or a query parameter asking for a fragment.
OTHER_SIGNALS = re.compile(
    r"request\.htmx|HX-Request|HTTP_HX_REQUEST|X-Requested-With|HTTP_X_REQUESTED_WITH|is_ajax"
    r"|GET\.get\(\s*[\"'](?:partial|fragment|region)[\"']",
    re.IGNORECASE,
)


def python_sources() -> list[Path]:
    # Top-level folders first: walking .venv alone took seconds.
    folders = [
        p for p in ROOT.iterdir() if p.is_dir() and p.name not in SKIPPED and not p.name.startswith(".")
    ]
    return [
        path
        for path in [*ROOT.glob("*.py"), *(f for folder in folders for f in folder.rglob("*.py"))]
        if path != HELPER
    ]


def offending_lines(paths: list[Path], root: Path = ROOT) -> list[str]:
    return [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in paths
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if OTHER_SIGNALS.search(line)
    ]


def test_no_python_module_reads_a_partial_signal_but_the_helper():
    assert python_sources(), "the scan found no sources: it would pass on anything"
    assert offending_lines(python_sources()) == []


def test_no_script_sends_a_signal_of_its_own():
    scripts = [p for p in (ROOT / "static" / "js").glob("*.js")]
    assert [f"{p.name}: X-Requested-With" for p in scripts if "X-Requested-With" in p.read_text()] == []


def test_the_scan_catches_a_view_that_reads_another_signal(tmp_path):
    view = tmp_path / "views.py"
    view.write_text(
        "def page(request):\n"
        "    if request.headers.get('X-Requested-With') == 'chat':\n"
        "        pass\n"
        "    if request.htmx or request.GET.get('partial'):\n"
        "        pass\n"
    )
    assert len(offending_lines([view], root=tmp_path)) == 2


def test_is_partial_is_htmx_header_but_not_a_boosted_page():
    factory = RequestFactory()
    assert is_partial(factory.get("/", HTTP_HX_REQUEST="true"))
    assert not is_partial(factory.get("/"))
    assert not is_partial(factory.get("/", HTTP_X_REQUESTED_WITH="chat"))
    assert not is_partial(factory.get("/", HTTP_HX_REQUEST="true", HTTP_HX_BOOSTED="true"))
