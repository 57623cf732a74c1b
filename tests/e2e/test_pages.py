"""Every page as a person sees it: loads with no console error and no failed request, fits a
390 px phone (wide tables scroll inside themselves), and axe-core finds no serious or critical
violation, in light and in dark.

One server, one browser and one world for the whole sweep: 2 themes x ~25 pages in one test
keeps the CI budget (starting Chromium per page would cost more than the pages).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.activity.log import consumers_inline  # noqa: F401 - the fixture
from tests.e2e.conftest import PASSWORD, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("consumers_inline")]

PHONE = {"width": 390, "height": 844}
# Pages allowed to be wider than a phone: none (the overview's was a chart's hidden table).
KNOWN_OVERFLOW: set[str] = set()
BLOCKING_IMPACTS = {"serious", "critical"}


@dataclass
class World:
    ids: dict = field(default_factory=dict)

    def pages(self) -> list[tuple[str, str]]:
        i = self.ids
        return [
            ("overview", "/overview/"),
            ("boards", "/"),
            ("new board", "/boards/new/"),
            ("board", f"/boards/{i['board']}/"),
            ("board settings", f"/boards/{i['board']}/settings/"),
            ("board activity", f"/boards/{i['board']}/activity/"),
            ("task", f"/boards/{i['board']}/tasks/{i['task']}/"),
            ("activity", "/activity/"),
            ("activity filtered", "/activity/?verb=agent."),
            ("tokens", "/tokens/"),
            ("agents", "/agents/"),
            ("new agent", "/agents/new/"),
            ("agent", f"/agents/{i['agent']}/"),
            ("edit agent", f"/agents/{i['agent']}/edit/"),
            ("connect agent", f"/agents/{i['agent']}/connect/"),
            ("webhooks", "/webhooks/"),
            ("board webhooks", f"/webhooks/boards/{i['board']}/"),
            ("webhook", f"/webhooks/{i['webhook']}/"),
            ("payload", f"/webhooks/payloads/{i['payload']}/"),
            ("deliveries", "/deliveries/"),
            ("all deliveries", "/deliveries/?status=all"),
            ("delivery", f"/deliveries/{i['delivery']}/"),
            ("board deliveries", f"/deliveries/boards/{i['board']}/"),
            ("subscriptions", "/deliveries/subscriptions/"),
            ("subscription", f"/deliveries/subscriptions/{i['subscription']}/"),
            ("ops", "/ops/"),
            ("usage", "/usage/"),
            ("budgets and prices", "/usage/budgets/"),
            ("automations", f"/boards/{i['board']}/automations/"),
            ("new schedule", f"/boards/{i['board']}/automations/schedules/new/"),
            ("automation", f"/boards/{i['board']}/automations/{i['automation']}/"),
            ("new pipeline template", f"/boards/{i['board']}/automations/templates/pipeline/new/"),
            ("standup", "/standups/"),
            ("board standup", f"/standups/boards/{i['board']}/"),
            ("gateways", "/gateways/"),
            ("gateway", f"/gateways/{i['gateway']}/"),
            ("gateway session", f"/gateways/{i['gateway']}/session/?key=agent:main:main"),
            ("gateway agent files", f"/gateways/{i['gateway']}/agents/{i['gateway_agent']}/files/"),
            ("search", "/search/?q=load"),
            ("members", f"/organizations/{i['organization']}/members/"),
            ("organization settings", f"/organizations/{i['organization']}/settings/"),
            ("new organization", "/organizations/new/"),
            ("not found", "/no-such-page/"),
        ]


def build_world(base_url: str) -> World:
    """A board with work in it, an agent, a signed webhook payload and a dead delivery."""
    from django.utils import timezone

    from agents import services as agent_services
    from boards import services as board_services
    from core.actors import Actor
    from deliveries.models import Delivery, DeliveryStatus, Subscription
    from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
    from webhooks import services as webhook_services

    admin = UserFactory(username="ada", is_staff=True)
    organization = OrganizationFactory(name="Northwind")
    MembershipFactory(organization=organization, user=admin, role="admin")
    actor = Actor.for_user(admin)
    board = board_services.create_board(
        organization=organization,
        actor=actor,
        name="Release 2.0",
        description="Ship **2.0**: see the [runbook](https://example.com).",
    )
    agent = agent_services.create_agent(
        organization=organization, actor=actor, name="release-bot", boards=[board], is_board_lead=True
    )
    agent_services.issue_agent_token(agent=agent, actor=actor, name="worker")
    task = board_services.create_task(
        board=board,
        actor=actor,
        title="Run load test",
        tag_names=["perf"],
        assignee_agent=agent,
        description="p95 under **200 ms**",
    )
    board_services.create_task(board=board, actor=actor, title="Write the changelog")
    board_services.add_comment(task=task, actor=actor, body="@release-bot go ahead")
    webhook, secret = webhook_services.create_webhook(
        board=board, actor=actor, description="GitHub", target_agent=agent
    )
    body = json.dumps({"action": "opened"}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    response = httpx.post(
        f"{base_url}/api/v1/boards/{board.pk}/webhooks/{webhook.pk}",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature,
            "X-GitHub-Event": "issues",
        },
    )
    assert response.status_code == 202, response.text
    subscription = Subscription.objects.create(
        organization=organization,
        board=board,
        description="chat-relay",
        target_url="https://hooks.example.com/in",
        event_types=["task.created"],
    )
    delivery = Delivery.objects.create(
        organization=organization,
        board=board,
        subscription=subscription,
        target_url=subscription.target_url,
        event_type="task.created",
        payload={"type": "task.created"},
        status=DeliveryStatus.DEAD,
        attempt_count=5,
        last_status_code=500,
        updated_at=timezone.now(),
    )
    from automations import services as automation_services

    automation_services.create_schedule(
        board=board,
        actor=actor,
        name="Morning triage",
        cron_expression="0 9 * * 1-5",
        time_zone="Europe/Paris",
        actions=[{"action": "create_task", "title": "Triage {date}"}],
    )
    automation = automation_services.create_automation(
        board=board,
        actor=actor,
        name="Done → chat",
        trigger="task_done",
        conditions=[{"field": "task.priority", "op": "is", "value": "urgent"}],
        actions=[{"action": "post_chat", "body": "{task.title} is done"}],
    )
    release = automation_services.create_pipeline_template(
        board=board,
        actor=actor,
        name="Release train",
        steps=[{"key": "build", "title": "Build"}, {"key": "ship", "title": "Ship", "depends_on": ["build"]}],
    )
    # A pipeline under way: its progress strip on the board page, its outcome on the list.
    automation_services.instantiate_template(template=release, actor=actor)
    from gateways import services as gateway_services

    gateway = gateway_services.create_gateway(
        actor=actor, organization=organization, name="studio", url="ws://127.0.0.1:9/", token="studio-token"
    )
    # As the supervisor records a refusal: the error is shown on both pages.
    gateway_services.record_disconnected(
        gateway_id=gateway.pk,
        code="AUTH_TOKEN_MISMATCH",
        error="unauthorized: gateway token mismatch (provide gateway auth token)",
        refused=True,
    )
    # release-bot runs on the gateway: its page shows the panel (sessions, Stop, Reset, Wake).
    (gateway_agent,) = gateway_services.sync_gateway_agents(
        gateway_id=gateway.pk, listed={"agents": [{"id": "release-bot"}]}
    )
    gateway_services.link_gateway_agent(actor=actor, gateway_agent=gateway_agent, agent=agent)
    gateway_services.sync_gateway_sessions(
        gateway_id=gateway.pk,
        listed={
            "sessions": [
                {"key": "agent:release-bot:main", "label": "release work", "updatedAt": 1796654399622}
            ]
        },
    )
    return World(
        ids={
            "gateway": gateway.pk,
            "automation": automation.pk,
            "gateway_agent": gateway_agent.pk,
            "board": board.pk,
            "task": task.pk,
            "agent": agent.pk,
            "webhook": webhook.pk,
            "payload": webhook.payloads.get().pk,
            "delivery": delivery.pk,
            "subscription": subscription.pk,
            "username": admin.username,
            "organization": organization.pk,
        }
    )


def settle(page, pending: set, last_activity: list[float], quiet: float = 0.2, timeout: float = 10.0) -> None:
    """Wait until none of the page's requests is in flight and none started or ended for `quiet`
    seconds (its fragments and charts have loaded). Playwright's "networkidle" waits a fixed
    500 ms of silence on every page: 88 pages x 0.3 s more than this."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.wait_for_timeout(50)  # the listeners run while Playwright waits
        if not pending and time.monotonic() - last_activity[0] >= quiet:
            return


def problems_on(page, axe: Axe, name: str, url: str, expect_status: int) -> list[str]:
    console: list[str] = []
    failed: list[str] = []
    on_console = lambda msg: console.append(msg.text) if msg.type == "error" else None  # noqa: E731
    # Only this page's requests: the previous page's in-flight ones (a poll) are aborted by this
    # navigation, and were issued before the listeners below existed.
    issued: set = set()
    pending: set = set()
    last_activity = [time.monotonic()]

    def on_request(request) -> None:
        issued.add(request)
        pending.add(request)
        last_activity[0] = time.monotonic()

    def on_finished(request) -> None:
        pending.discard(request)
        last_activity[0] = time.monotonic()

    def on_failed(request) -> None:
        on_finished(request)
        if request in issued:
            failed.append(f"{request.method} {request.url} ({request.failure})")

    def on_response(response) -> None:
        if response.status >= 400 and not (response.url == url and response.status == expect_status):
            failed.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("request", on_request)
    page.on("requestfinished", on_finished)
    page.on("requestfailed", on_failed)
    page.on("response", on_response)
    try:
        response = page.goto(url)
        settle(page, pending, last_activity)
        found = []
        if response is None or response.status != expect_status:
            found.append(f"status {response.status if response else None}, expected {expect_status}")
        # An expected 404 logs "Failed to load resource" for the page itself; nothing else may.
        errors = [c for c in console if not (expect_status >= 400 and "status of 404" in c)]
        found += [f"console: {text}" for text in errors]
        found += [f"request: {text}" for text in failed]
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 1 and name.split("] ")[-1] not in KNOWN_OVERFLOW:
            found.append(f"the page is {overflow}px wider than the phone (a table or block does not scroll)")
        for violation in axe.run(page).response["violations"]:
            if violation["impact"] in BLOCKING_IMPACTS:
                targets = ", ".join(str(n["target"]) for n in violation["nodes"][:3])
                found.append(f"axe {violation['impact']} {violation['id']}: {violation['help']} ({targets})")
        return [f"{name}: {text}" for text in found]
    finally:
        page.remove_listener("console", on_console)
        page.remove_listener("requestfailed", on_failed)
        page.remove_listener("request", on_request)
        page.remove_listener("requestfinished", on_finished)
        page.remove_listener("response", on_response)


@pytest.mark.backend_independent  # pages, styles and scripts: CI runs it in the SQLite run only
def test_every_page_is_clean_accessible_and_fits_a_phone_in_light_and_dark(asgi_server, browser):
    world = build_world(asgi_server.url)
    axe = Axe()
    problems: list[str] = []
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport=PHONE, color_scheme=scheme)
        page = context.new_page()
        page.set_default_timeout(15_000)
        problems += problems_on(page, axe, f"[{scheme}] login", f"{asgi_server.url}/login/", 200)
        log_in(page, asgi_server.url, world.ids["username"], PASSWORD)
        for name, path in world.pages():
            status = 404 if name == "not found" else 200
            problems += problems_on(page, axe, f"[{scheme}] {name}", asgi_server.url + path, status)
        context.close()
    assert not problems, "\n".join(problems)


def test_a_viewer_gets_the_product_403_page_for_ops(asgi_server, page):
    from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

    viewer = UserFactory(username="vic")
    MembershipFactory(organization=OrganizationFactory(), user=viewer, role="viewer")
    log_in(page, asgi_server.url, "vic")
    response = page.goto(f"{asgi_server.url}/ops/")
    assert response.status == 403
    assert page.get_by_role("heading", name="No access").is_visible()
    assert "/admin/login" not in page.url
    assert page.locator("nav.nav").get_by_text("Operations").count() == 0
