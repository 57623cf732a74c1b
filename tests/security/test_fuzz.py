"""Schemathesis against /api/v1/schema/ through the real ASGI server, as an admin and as an agent.

Strict: no response is a 5xx. Reported, not asserted: responses that do not match the schema
(serializers' documentation drifts; the list is printed so it can be fixed) -- set
FUZZ_STRICT_SCHEMA=1 to make those fail too. Examples per operation are bounded (FUZZ_EXAMPLES,
default 6) and each mode stops generating after FUZZ_BUDGET_SECONDS (default 45) so CI stays fast.
Path ids are pinned to the first organization's objects, so requests reach real rows instead of
404-ing on random numbers; DELETEs run last so they do not pull the rows from under the rest.
"""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from schemathesis.checks import response_schema_conformance
from schemathesis.core.failures import FailureGroup

from tests.security.world import World, build_world

pytestmark = [pytest.mark.e2e, pytest.mark.runs_long]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
BUDGET_SECONDS = float(os.environ.get("FUZZ_BUDGET_SECONDS", "45"))
STRICT_SCHEMA = os.environ.get("FUZZ_STRICT_SCHEMA") == "1"

# Which object an `{id}` stands for, by the path's first segment under /api/v1/.
ID_OBJECTS = {
    "organizations": "organization",
    "boards": "board",
    "tags": "tag",
    "tasks": "task",
    "approvals": "approval",
    "activity": "event",
    "agents": "agent",
    "agent-tokens": "agent_token",
    "webhooks": "webhook",
    "subscriptions": "subscription",
    "deliveries": "delivery",
    "personal-tokens": "personal_token",
    "standups": "standup",
    "standup-settings": "organization",
}
NAMED = {
    "task_id": "task",
    "webhook_pk": "webhook",
    "payload_id": "payload",
    "depends_on_id": "other_task",
    "board_id": "board",
    "webhook_id": "webhook",
}


def _object_id(world: World, attr: str):
    obj = world.extra.get(attr) or getattr(world, attr, None)
    return getattr(obj, "pk", None)


def pinned_path_parameters(path: str, world: World) -> dict:
    values = {}
    segment = path.removeprefix("/api/v1/").split("/", 1)[0]
    if "{id}" in path and segment in ID_OBJECTS:
        values["id"] = _object_id(world, ID_OBJECTS[segment])
    for name, attr in NAMED.items():
        if "{" + name + "}" in path:
            values[name] = _object_id(world, attr)
    if "{id}" in path and "/payloads/{id}" in path:
        values["id"] = world.payload.pk
    return {k: v for k, v in values.items() if v is not None}


def _run_mode(asgi_server, settings, *, mode: str) -> tuple[list[str], Counter, int]:
    # Limits are tested elsewhere; here they would turn the fuzz into a wall of 429s.
    settings.AGENT_RATE = "1000000/60s"
    settings.AGENT_AUTH_RATE = "1000000/60s"
    settings.WEBHOOK_INGEST_RATE = "1000000/60s"
    world = build_world()
    if mode == "agent":
        headers = {"Authorization": f"Bearer {world.agent_raw_token}"}
    else:
        assert world.personal_raw_token, "the admin mode authenticates with a personal API token"
        headers = {"Authorization": f"Token {world.personal_raw_token}"}
    spec = requests.get(
        f"{asgi_server.url}/api/v1/schema/", params={"format": "json"}, headers=headers, timeout=30
    ).json()
    spec["servers"] = [{"url": asgi_server.url}]
    schema = schemathesis.openapi.from_dict(spec)
    operations = [result.ok() for result in schema.get_all_operations()]
    if mode == "agent":
        operations = [op for op in operations if op.path.startswith("/api/v1/agent/")]
    else:
        operations = [op for op in operations if not op.path.startswith("/api/v1/agent/")]
    operations = [op for op in operations if not op.path.endswith("/events/stream")]  # an endless stream
    # DELETEs last, and revoking the personal token this mode authenticates with the very last.
    operations.sort(key=lambda op: (op.method.upper() == "DELETE", "personal-tokens" in op.path))

    server_errors: list[str] = []
    conformance: Counter = Counter()
    calls = 0
    started = time.monotonic()
    for operation in operations:
        if time.monotonic() - started > BUDGET_SECONDS:
            break
        strategy = operation.as_strategy(path_parameters=pinned_path_parameters(operation.path, world))

        @given(case=strategy)
        @hsettings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case):
            nonlocal calls
            operation = case.operation
            response = case.call(base_url=asgi_server.url, headers=headers, timeout=15)
            calls += 1
            if response.status_code >= 500:
                server_errors.append(
                    f"{operation.method.upper()} {operation.path} -> {response.status_code} "
                    f"({case.path_parameters}, {case.query}, {str(case.body)[:200]})"
                )
                return
            try:
                case.validate_response(response, checks=[response_schema_conformance])
            except FailureGroup as group:  # a BaseExceptionGroup of the schema violations
                first_line = _summary(group)
                label = f"{operation.method.upper()} {operation.path} {response.status_code}"
                conformance[f"{label}: {first_line}"] += 1

        exercise()
    return server_errors, conformance, calls


def _summary(group: FailureGroup) -> str:
    messages = []
    for failure in group.exceptions:
        text = str(getattr(failure, "message", "") or failure).strip().splitlines()
        messages.append(text[0][:140] if text else type(failure).__name__)
    return "; ".join(sorted(set(messages)))


def _report(mode: str, conformance: Counter, calls: int) -> None:
    print(f"\nfuzz {mode}: {calls} calls; {len(conformance)} schema-conformance findings")
    for line, count in sorted(conformance.items()):
        print(f"  [{count}x] {line}")


def test_fuzzing_the_human_api_as_an_admin_finds_no_server_error(asgi_server, settings):
    server_errors, conformance, calls = _run_mode(asgi_server, settings, mode="admin")
    _report("admin", conformance, calls)
    assert calls >= 50
    assert not server_errors, "\n".join(server_errors)
    if STRICT_SCHEMA:
        assert not conformance


def test_fuzzing_the_agent_api_as_an_agent_finds_no_server_error(asgi_server, settings):
    server_errors, conformance, calls = _run_mode(asgi_server, settings, mode="agent")
    _report("agent", conformance, calls)
    assert calls >= 20
    assert not server_errors, "\n".join(server_errors)
    if STRICT_SCHEMA:
        assert not conformance
