"""Rebuild static/icons/sprite.svg from the lucide-static npm package (ISC licence).

    npm pack lucide-static@0.460.0 && tar xzf lucide-static-0.460.0.tgz
    python docs/build_icon_sprite.py package/icons

Only the icons listed here ship; add a name, rerun, commit the sprite. Lucide's names are kept
as symbol ids, so `{% icon "bot" %}` is Lucide's "bot".
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

VERSION = "0.460.0"
ICONS = [
    "activity",
    "arrow-down",
    "arrow-left",
    "arrow-right",
    "arrow-up",
    "bell",
    "book-open",
    "bot",
    "braces",
    "calendar",
    "check",
    "chevron-down",
    "chevron-left",
    "chevron-right",
    "circle-alert",
    "circle-check",
    "circle-dot",
    "circle-x",
    "clock",
    "copy",
    "database",
    "ellipsis",
    "external-link",
    "eye",
    "file-text",
    "filter",
    "grip-vertical",
    "hard-drive",
    "hash",
    "inbox",
    "info",
    "kanban",
    "key-round",
    "layout-dashboard",
    "link",
    "list",
    "lock",
    "log-out",
    "menu",
    "message-square",
    "monitor",
    "moon",
    "move",
    "pause",
    "play",
    "plug",
    "plus",
    "radio",
    "refresh-cw",
    "rotate-ccw",
    "search",
    "send",
    "server",
    "settings",
    "shield-check",
    "sparkles",
    "square-kanban",
    "sun",
    "trash-2",
    "triangle-alert",
    "unplug",
    "user",
    "users",
    "webhook",
    "x",
    "zap",
]


def symbol(name: str, svg: str) -> str:
    inner = re.search(r"<svg[^>]*>(.*)</svg>", svg, re.S).group(1)
    inner = re.sub(r"\s*\n\s*", "", inner)
    return f'<symbol id="{name}" viewBox="0 0 24 24">{inner}</symbol>'


def main(source: Path) -> None:
    symbols = "".join(symbol(name, (source / f"{name}.svg").read_text()) for name in ICONS)
    sprite = (
        f"<!-- Lucide v{VERSION} (ISC licence, https://lucide.dev); built by docs/build_icon_sprite.py -->\n"
        '<svg xmlns="http://www.w3.org/2000/svg" fill="none" stroke="currentColor" stroke-width="2" '
        f'stroke-linecap="round" stroke-linejoin="round">{symbols}</svg>\n'
    )
    (Path(__file__).resolve().parents[1] / "static" / "icons" / "sprite.svg").write_text(sprite)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
