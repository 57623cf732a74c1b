"""The sidebar: live counts sit at the end of their links (no separate bell, no ad hoc "Firing"
item), and the product draws icons from its sprite, never emoji (boxes without an emoji font)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import timezone

from alerts.models import Incident, IncidentState
from alerts.services import create_rule
from core.actors import Actor

ROOT = Path(__file__).resolve().parents[1]
# Pictographic emoji and the symbols browsers draw from an emoji font, as characters or entities.
EMOJI = re.compile(
    r"[\U0001F000-\U0001FAFF\u2600-\u26FF\u2700-\u27BF\u2B50\u2B55]|&#(?:x1F[0-9a-f]{3}|1[2-3][0-9]{4});",
    re.IGNORECASE,
)


def nav_link(html: str, label: str) -> str:
    match = re.search(r'<a class="nav-item"[^>]*>(?:(?!</a>).)*?' + re.escape(label) + r".*?</a>", html, re.S)
    assert match, label
    return match.group(0)


def test_no_template_script_or_stylesheet_draws_an_emoji():
    files = [
        *ROOT.joinpath("templates").rglob("*.html"),
        *(p for p in ROOT.joinpath("static/js").rglob("*.js") if "vendor" not in p.parts),
        *ROOT.joinpath("static/css").rglob("*.css"),
    ]
    assert len(files) > 50
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in files
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if EMOJI.search(line)
    ]
    assert found == []
    assert EMOJI.search("&#128276;") and EMOJI.search("\U0001f514")  # the old bell, both ways


@pytest.mark.django_db
def test_the_unread_count_ends_the_notifications_link_with_the_sprites_bell(client, user):
    client.force_login(user)
    html = client.get("/overview/").content.decode()
    link = nav_link(html, "Notifications")
    assert "sprite.svg#bell" in link
    assert 'id="notification-count"' in link and 'id="notification-count-label"' in link
    assert html.count('id="notification-count"') == 1
    assert 'id="notification-bell"' not in html


@pytest.mark.django_db
def test_the_firing_count_ends_the_alerts_link_and_there_is_no_firing_item(client, user, organization):
    client.force_login(user)
    html = client.get("/overview/").content.decode()
    assert 'id="alerts-badge"' in nav_link(html, "Alerts")
    rule = create_rule(
        actor=Actor.for_user(user),
        organization=organization,
        name="quiet",
        condition="agent_offline",
        params={"minutes": 5},
    )
    Incident.objects.create(
        organization=organization,
        rule=rule,
        subject_key="agent:1",
        subject_label="release-bot",
        state=IncidentState.FIRING,
        opened_at=timezone.now(),
    )
    badge = client.get("/alerts/badge/").content.decode()
    assert 'data-firing="1"' in badge and "nav-item" not in badge and "Firing" not in badge
    assert "firing:" in badge  # read out after the link's name: "Alerts, firing: 1"


@pytest.mark.django_db
def test_the_sidebar_lists_the_boards_under_their_groups_and_marks_the_current_one(
    client, user, organization
):
    from boards.models import BoardGroup
    from tests.factories import BoardFactory

    product = BoardGroup.objects.create(organization=organization, name="Product", position=0)
    ops = BoardGroup.objects.create(organization=organization, name="Operations", position=1)
    roadmap = BoardFactory(organization=organization, name="Roadmap", group=product)
    BoardFactory(organization=organization, name="On-call", group=ops)
    BoardFactory(organization=organization, name="Scratch")
    BoardFactory(organization=organization, name="Old", archived=True)
    client.force_login(user)
    html = client.get(f"/boards/{roadmap.pk}/").content.decode()
    nav = html[html.index('aria-label="Boards by group"') :]
    nav = nav[: nav.index("</nav>")]
    titles = re.findall(r'<summary class="nav-label">([^<]+)</summary>', nav)
    assert titles == ["Product", "Operations", "Other boards"]
    names = re.findall(r'<span class="truncate">([^<]+)</span>', nav)
    assert names == ["Roadmap", "On-call", "Scratch"]  # in group order; archived left out
    assert re.search(r'aria-current="page"><span class="truncate">Roadmap<', nav)
    assert (
        'aria-current="page"'
        not in client.get("/overview/").content.decode().split("Boards by group")[1].split("</nav>")[0]
    )
