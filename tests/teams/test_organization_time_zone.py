"""The organization's time zone: admins set it (page, API, admin), only IANA names are taken, and
new schedules and standup settings start in it while the ones already made keep their own."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from activity.models import ActivityEvent
from automations import services as automation_services
from core.actors import Actor
from core.models import Organization
from infra.exceptions import DomainError, PermissionDenied
from standups import selectors as standup_selectors
from standups import services as standup_services
from teams import services

pytestmark = pytest.mark.django_db


def _api(person) -> APIClient:
    client = APIClient()
    client.force_login(person)
    return client


def test_a_new_organization_is_on_utc(organization):
    assert Organization.objects.get(pk=organization.pk).time_zone == "UTC"


@pytest.mark.parametrize("name", ["Mars/Olympus", "europe/paris", "", " UTC", "Europe/Paris\n", 5, None])
def test_only_iana_names_are_taken(organization, user, name):
    with pytest.raises(DomainError) as refused:
        services.set_organization_time_zone(
            organization=organization, actor=Actor.for_user(user), time_zone=name
        )
    assert refused.value.code == "invalid_time_zone"
    organization.time_zone = name
    with pytest.raises(ValidationError):  # the model's validator: admin's form and full_clean
        organization.full_clean()


def test_an_admin_sets_it_once_recorded_and_others_are_refused(organization, user, teammate):
    services.set_organization_time_zone(
        organization=organization, actor=Actor.for_user(user), time_zone="Europe/Paris"
    )
    services.set_organization_time_zone(
        organization=organization, actor=Actor.for_user(user), time_zone="Europe/Paris"
    )
    assert Organization.objects.get(pk=organization.pk).time_zone == "Europe/Paris"
    event = ActivityEvent.objects.get(verb="organization.time_zone_changed")
    assert event.detail == {"time_zone": "Europe/Paris", "from": "UTC"}
    with pytest.raises(PermissionDenied):
        services.set_organization_time_zone(
            organization=organization, actor=Actor.for_user(teammate), time_zone="Asia/Tokyo"
        )


def test_the_api_reads_and_patches_it_with_a_clear_error(organization, user, teammate):
    url = f"/api/v1/organizations/{organization.pk}/"
    assert _api(user).get(url).json()["time_zone"] == "UTC"
    both = _api(user).patch(url, {"name": "Acme Paris", "time_zone": "Europe/Paris"}, format="json")
    assert both.status_code == 200 and (both.json()["name"], both.json()["time_zone"]) == (
        "Acme Paris",
        "Europe/Paris",
    )
    bad = _api(user).patch(url, {"name": "Not saved", "time_zone": "Mars/Olympus"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_time_zone"
    assert _api(user).patch(url, {}, format="json").status_code == 400
    assert _api(teammate).patch(url, {"time_zone": "Asia/Tokyo"}, format="json").status_code == 403
    organization.refresh_from_db()
    assert (organization.name, organization.time_zone) == ("Acme Paris", "Europe/Paris")  # all or nothing


def test_the_settings_page_sets_it(organization, user, client):
    client.force_login(user)
    url = f"/organizations/{organization.pk}/settings/"
    assert 'name="time_zone"' in client.get(url).content.decode()
    assert client.post(url, {"action": "time-zone", "time_zone": "Asia/Tokyo"}).status_code == 302
    client.post(url, {"action": "time-zone", "time_zone": "Nowhere/Else"})
    organization.refresh_from_db()
    assert organization.time_zone == "Asia/Tokyo"


def test_new_schedules_start_in_it_and_keep_their_own(organization, user, board, client):
    actor = Actor.for_user(user)
    action = [{"action": "create_task", "title": "Check"}]
    before = automation_services.create_schedule(
        board=board, actor=actor, name="Before", cron_expression="0 9 * * *", actions=action
    )
    services.set_organization_time_zone(organization=organization, actor=actor, time_zone="Asia/Tokyo")
    board.organization.refresh_from_db()
    after = automation_services.create_schedule(
        board=board, actor=actor, name="After", cron_expression="0 9 * * *", actions=action
    )
    chosen = automation_services.create_schedule(
        board=board, actor=actor, name="Chosen", cron_expression="0 9 * * *", actions=action, time_zone="UTC"
    )
    before.refresh_from_db()
    assert (before.time_zone, after.time_zone, chosen.time_zone) == ("UTC", "Asia/Tokyo", "UTC")
    client.force_login(user)
    page = client.get(f"/boards/{board.pk}/automations/schedules/new/").content.decode()
    assert 'value="Asia/Tokyo"' in page


def test_standup_settings_start_in_it_unless_it_is_utc_and_the_installation_says_otherwise(
    organization, user, settings
):
    settings.STANDUP_TIME_ZONE = "America/New_York"
    assert standup_selectors.settings_for(organization.pk).time_zone == "America/New_York"
    services.set_organization_time_zone(
        organization=organization, actor=Actor.for_user(user), time_zone="Europe/Berlin"
    )
    assert standup_selectors.settings_for(organization.pk).time_zone == "Europe/Berlin"
    organization.refresh_from_db()
    config = standup_services.update_standup_settings(
        actor=Actor.for_user(user), organization=organization, hour=8
    )
    assert (config.hour, config.time_zone) == (8, "Europe/Berlin")  # the saved row starts there
    services.set_organization_time_zone(
        organization=organization, actor=Actor.for_user(user), time_zone="UTC"
    )
    assert standup_selectors.settings_for(organization.pk).time_zone == "Europe/Berlin"  # keeps its own
