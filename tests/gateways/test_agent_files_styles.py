"""The agent files page lists its files as a row of links: the list is a cluster, and a list laid
out as a cluster has no bullets (they sat over the end of the previous file name)."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

APP_CSS = Path(settings.BASE_DIR) / "static" / "css" / "app.css"


def test_the_file_list_is_a_cluster_and_clusters_have_no_bullets():
    template = (Path(settings.BASE_DIR) / "templates" / "gateways" / "agent_files.html").read_text()
    assert re.search(r'<ul class="[^"]*\bcluster\b[^"]*" id="gateway-file-list"', template)
    css = APP_CSS.read_text()
    rule = re.search(r"ul\.cluster[^{]*\{([^}]*)\}", css)
    assert rule, "no rule for ul.cluster"
    assert "list-style: none" in rule.group(1)
    assert "padding: 0" in rule.group(1)
