"""The standups API (members read, admins change settings; scoped, JSON errors with the right
status) and pages (by day, live today, opt-in for oneself, settings for admins)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from boards.services import create_task
from core.actors import Actor
from deliveries.models import Subscription
from standups import services
from standups.figures import local_today
from standups.models import Standup, StandupEmailOptIn, StandupSettings

pytestmark = [pytest.mark.django_db, pytest.mark.backend_independent]


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def today():
    return local_today(timezone.now(), "UTC")


def test_the_list_shows_only_the_callers_organizations(
    organization, other_organization, board, user, outsider
):
    yesterday = today() - timedelta(days=1)
    services.post_standup(organization=organization, board=board, day=yesterday)
    services.post_standup(organization=other_organization, day=yesterday)

    mine = client_for(user).get("/api/v1/standups/").json()["results"]
    theirs = client_for(outsider).get("/api/v1/standups/").json()["results"]

    assert [(row["organization"], row["board"]) for row in mine] == [(organization.pk, board.pk)]
    assert [(row["organization"], row["board"]) for row in theirs] == [(other_organization.pk, None)]
    other_id = Standup.objects.get(organization=other_organization).pk
    assert client_for(user).get(f"/api/v1/standups/{other_id}/").status_code == 404


def test_the_preview_takes_today_refuses_tomorrow_and_bad_dates(organization, board, user, outsider):
    create_task(board=board, actor=Actor.for_user(user), title="Triage", status="blocked")
    client = client_for(user)

    now = client.get(f"/api/v1/standups/preview/?board={board.pk}&date={today().isoformat()}")
    tomorrow = client.get(
        f"/api/v1/standups/preview/?board={board.pk}&date={(today() + timedelta(days=1)).isoformat()}"
    )
    malformed = client.get(f"/api/v1/standups/preview/?board={board.pk}&date=2026-13-01")
    foreign = client_for(outsider).get(f"/api/v1/standups/preview/?board={board.pk}")

    assert now.status_code == 200
    assert now.json()["id"] is None
    assert now.json()["figures"]["counts"]["blocked"] == 1
    assert now.json()["sentences"][2] == "1 task is blocked: \u2018Triage\u2019 (owner)."
    assert (tomorrow.status_code, tomorrow.json()["error"]["code"]) == (400, "future_date")
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "invalid_date")
    assert foreign.status_code == 404
    # With one organization and no board named, the preview is the organization's.
    assert client.get("/api/v1/standups/preview/").json()["board"] is None


def test_settings_members_read_admins_change_within_limits(
    organization, other_organization, user, teammate, outsider
):
    url = f"/api/v1/standup-settings/{organization.pk}/"
    admin = client_for(user)

    assert client_for(teammate).get(url).json()["hour"] == 9
    assert client_for(teammate).patch(url, {"hour": 7}, format="json").status_code == 403
    assert client_for(outsider).get(url).status_code == 404
    assert admin.patch(url, {"hour": 23, "time_zone": "Europe/Paris"}, format="json").status_code == 200
    too_late = admin.patch(url, {"hour": 24}, format="json")
    nowhere = admin.patch(url, {"time_zone": "Mars/Olympus_Mons"}, format="json")

    assert too_late.status_code == 400 and "error" in too_late.json()
    assert (nowhere.status_code, nowhere.json()["error"]["code"]) == (400, "invalid_time_zone")
    config = StandupSettings.objects.get(organization=organization)
    assert (config.hour, config.time_zone) == (23, "Europe/Paris")

    foreign = Subscription.objects.create(
        organization=other_organization, target_url="https://hooks.example.com/x"
    )
    assert admin.patch(url, {"subscription": foreign.pk}, format="json").status_code == 404


def test_the_pages_show_a_day_live_today_and_refuse_tomorrow(
    client, organization, board, user, outsider, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"  # the default install's
    create_task(board=board, actor=Actor.for_user(user), title="Triage", status="blocked")
    client.force_login(user)

    page = client.get("/standups/").content.decode()
    board_page = client.get(f"/standups/boards/{board.pk}/").content.decode()
    tomorrow = client.get(f"/standups/boards/{board.pk}/?date={(today() + timedelta(days=1)).isoformat()}")

    assert "Standup of Acme" in page and "1 task is blocked: \u2018Triage\u2019 (owner)." in page
    assert 'id="standup-figures" data-live-follows="task. approval. usage. standup."' in board_page
    assert f'data-live-url="/ws/boards/{board.pk}/"' in board_page
    assert "printed to the server's log" in board_page
    assert tomorrow.status_code == 400 and "has not begun" in tomorrow.content.decode()
    client.force_login(outsider)
    assert client.get(f"/standups/boards/{board.pk}/").status_code == 404


def test_a_member_opts_in_on_the_page_and_only_an_admin_saves_settings(
    client, organization, board, viewer, user
):
    client.force_login(viewer)

    response = client.post("/standups/email/", {"board": board.pk, "enabled": "1"})
    refused = client.post("/standups/settings/", {"hour": "7", "time_zone": "UTC", "enabled": "1"})
    client.force_login(user)
    saved = client.post("/standups/settings/", {"hour": "7", "time_zone": "Asia/Tokyo", "enabled": "1"})

    assert response.status_code == 302 and response["Location"].startswith(f"/standups/boards/{board.pk}/")
    assert list(StandupEmailOptIn.objects.values_list("user_id", "board_id")) == [(viewer.pk, board.pk)]
    assert refused.status_code == 403
    assert saved.status_code == 302
    config = StandupSettings.objects.get(organization=organization)
    assert (config.hour, config.time_zone, config.enabled, config.post_to_chat) == (
        7,
        "Asia/Tokyo",
        True,
        False,
    )


def test_the_per_person_chart_is_compact_bars(client, organization, board, user):
    """A few people's bars sit together: the chart's data asks for at most CHART_SLOT_PX per person
    (charts.js sizes the plot from it) and a count axis from zero."""
    from standups.figures import CHART_ID, CHART_SLOT_PX

    create_task(board=board, actor=Actor.for_user(user), title="Triage", status="blocked")
    client.force_login(user)
    html = client.get(f"/standups/boards/{board.pk}/").content.decode()
    block = html.split(f'<script id="{CHART_ID}" type="application/json">', 1)[1].split("</script>", 1)[0]
    data = json.loads(block)
    assert data["kind"] == "bars" and data["slot_px"] == CHART_SLOT_PX and data["y_zero"] is True
    assert data["x"] == ["owner"]
