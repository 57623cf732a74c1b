"""Secrets hygiene: a token or secret is readable in its creation response and nowhere else.

The flow test drives the main paths through the API (agent + token, rotate, webhook + secret,
rotate, subscription + secret, rotate, agent signing secret, personal token, failed auth,
signed ingest) while capturing every log record at DEBUG, then searches the logs, every later
response, the Django admin pages and the OpenAPI schema for each secret: in full, and for any
8-character slice of its random part (the public id of a token, `mca_<public id>_…`, is an
identifier shown on purpose and is not searched for).

The repository test scans tracked files for token-shaped strings and long high-entropy
literals, except the documented placeholders below.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import re
import subprocess
from collections import Counter
from pathlib import Path

from django.test import Client

from core.signing import sha256_signature
from tests.factories import UserFactory
from tests.security.world import build_world

REPO = Path(__file__).resolve().parents[2]
SLICE = 8


def secret_part(value: str) -> str:
    """The random part: without the `mca_<public id>_` / `mcp_<public id>_` / `whsec_` prefixes."""
    match = re.match(r"^(mca|mcp)_[0-9a-f]+_(?P<secret>.+)$", value)
    if match:
        return match.group("secret")
    return value.removeprefix("whsec_")


def leaks(secret: str, haystack: str) -> list[str]:
    """The full secret or any SLICE-long piece of its random part found in haystack."""
    found = []
    if secret in haystack:
        found.append("the whole value")
    random_part = secret_part(secret)
    for start in range(0, max(0, len(random_part) - SLICE + 1)):
        piece = random_part[start : start + SLICE]
        if piece in haystack:
            found.append(f"slice {piece!r}")
            break
    return found


class Recorder:
    """Collects every response after a secret's creation response."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def keep(self, label: str, response) -> None:
        if getattr(response, "streaming", False):
            return
        self.texts.append((label, response.content.decode(errors="replace") + "\n" + str(response.headers)))


def _json(response) -> dict:
    assert response.status_code in (200, 201), response.content[:500]
    return response.json()


def test_no_secret_appears_anywhere_after_its_creation_response(db, caplog):
    caplog.set_level(logging.DEBUG)
    world = build_world()
    admin = world.client("admin")
    later = Recorder()
    secrets: dict[str, str] = {}

    # Agent + token, then rotation.
    agent = _json(
        admin.post(
            "/api/v1/agents/",
            {"name": "hygiene-agent", "boards": [world.board.pk]},
            content_type="application/json",
        )
    )
    issued = _json(
        admin.post(f"/api/v1/agents/{agent['id']}/tokens/", {"name": "ci"}, content_type="application/json")
    )
    secrets["agent token"] = issued["token"]
    rotated = _json(
        admin.post(f"/api/v1/agent-tokens/{issued['id']}/rotate/", {}, content_type="application/json")
    )
    secrets["rotated agent token"] = rotated["token"]
    assert rotated["token"] != issued["token"]

    # Webhook + secret, then rotation.
    webhook = _json(
        admin.post(
            "/api/v1/webhooks/",
            {"board": world.board.pk, "description": "hygiene"},
            content_type="application/json",
        )
    )
    secrets["webhook secret"] = webhook["secret"]
    rotated_hook = _json(
        admin.post(
            f"/api/v1/webhooks/{webhook['id']}/rotate/",
            {"grace_seconds": 60},
            content_type="application/json",
        )
    )
    secrets["rotated webhook secret"] = rotated_hook["secret"]

    # Outbound subscription + secret, then rotation; the agent's signing secret.
    subscription = admin.post(
        "/api/v1/subscriptions/",
        {
            "organization": world.organization.pk,
            "target_url": "https://93.184.216.34/hygiene",
            "description": "hygiene",
        },
        content_type="application/json",
    )
    if subscription.status_code == 201:
        body = subscription.json()
        secrets["subscription secret"] = body["secret"]
        rotated_sub = _json(
            admin.post(
                f"/api/v1/subscriptions/{body['id']}/rotate-secret/", {}, content_type="application/json"
            )
        )
        secrets["rotated subscription secret"] = rotated_sub["secret"]
    signing = _json(
        admin.post("/api/v1/agent-signing-secrets/", {"agent": agent["id"]}, content_type="application/json")
    )
    secrets["agent signing secret"] = signing["secret"]

    # A personal API token.
    personal = admin.post("/api/v1/personal-tokens/", {"name": "hygiene"}, content_type="application/json")
    if personal.status_code == 201:
        secrets["personal token"] = personal.json()["token"]

    # --- after creation: use, fail, ingest, browse --------------------------------------------
    agent_client = Client(HTTP_AUTHORIZATION=f"Bearer {secrets['rotated agent token']}")
    later.keep("agent me", agent_client.get("/api/v1/agent/me"))
    revoked = Client(HTTP_AUTHORIZATION=f"Bearer {secrets['agent token']}")
    later.keep("revoked token", revoked.get("/api/v1/agent/me"))
    tampered = secrets["rotated agent token"][:-3] + "abc"
    later.keep("tampered token", Client(HTTP_AUTHORIZATION=f"Bearer {tampered}").get("/api/v1/agent/me"))
    if "personal token" in secrets:
        later.keep(
            "personal token use",
            Client(HTTP_AUTHORIZATION=f"Token {secrets['personal token']}").get("/api/v1/boards/"),
        )
        later.keep(
            "bad personal token",
            Client(HTTP_AUTHORIZATION=f"Token {secrets['personal token']}x").get("/api/v1/boards/"),
        )

    ingest = f"/api/v1/boards/{world.board.pk}/webhooks/{webhook['id']}"
    body = json.dumps({"event": "hygiene", "echo": "hello"}).encode()
    good = Client().post(
        ingest,
        body,
        content_type="application/json",
        HTTP_X_WEBHOOK_SIGNATURE=sha256_signature(secrets["rotated webhook secret"], body),
    )
    assert good.status_code == 202, good.content
    later.keep("ingest", good)
    later.keep(
        "ingest with the old secret in grace",
        Client().post(
            ingest,
            body,
            content_type="application/json",
            HTTP_X_WEBHOOK_SIGNATURE=sha256_signature(secrets["webhook secret"], body),
        ),
    )
    later.keep(
        "ingest with a bad signature",
        Client().post(
            ingest, body, content_type="application/json", HTTP_X_WEBHOOK_SIGNATURE="sha256=" + "0" * 64
        ),
    )
    # A sender who mistakenly puts the secret itself in a header: it must not be stored or shown.
    later.keep(
        "ingest with the secret in a header",
        Client().post(
            ingest,
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secrets['webhook secret']}",
            HTTP_X_WEBHOOK_SIGNATURE=sha256_signature(secrets["rotated webhook secret"], body),
        ),
    )

    for path in (
        f"/api/v1/agents/{agent['id']}/",
        f"/api/v1/agents/{agent['id']}/tokens/",
        f"/api/v1/agent-tokens/{issued['id']}/",
        f"/api/v1/webhooks/{webhook['id']}/",
        f"/api/v1/webhooks/{webhook['id']}/payloads/",
        "/api/v1/subscriptions/",
        "/api/v1/activity/?page_size=200",
        "/api/v1/personal-tokens/",
        "/agents/",
        f"/agents/{agent['id']}/",
        "/webhooks/",
        f"/webhooks/{webhook['id']}/",
        "/activity/",
        "/deliveries/subscriptions/",
        "/tokens/",
    ):
        later.keep(path, admin.get(path))
    for payload_id in admin.get(f"/api/v1/webhooks/{webhook['id']}/payloads/").json()["results"]:
        later.keep("payload", admin.get(f"/api/v1/webhooks/{webhook['id']}/payloads/{payload_id['id']}/"))

    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    staff = Client()
    staff.force_login(superuser)
    for model_path in (
        "agents/agent",
        "agents/agenttoken",
        "webhooks/boardwebhook",
        "webhooks/webhookpayload",
        "deliveries/subscription",
        "core/personaltoken",
        "activity/activityevent",
    ):
        changelist = staff.get(f"/admin/{model_path}/")
        assert changelist.status_code == 200, model_path
        later.keep(f"admin {model_path}", changelist)
        ids = re.findall(rf'href="/admin/{model_path}/(\d+)/change/', changelist.content.decode())
        assert ids, f"no rows in the {model_path} changelist"
        for object_id in ids:
            change_page = staff.get(f"/admin/{model_path}/{object_id}/change/")
            later.keep(f"admin {model_path} {object_id}", change_page)
    later.keep("schema", admin.get("/api/v1/schema/", {"format": "json"}))

    problems = []
    haystacks = [
        *later.texts,
        ("logs", caplog.text),
        ("log records", "\n".join(repr(r.__dict__) for r in caplog.records)),
    ]
    for name, secret in secrets.items():
        for label, text in haystacks:
            for what in leaks(secret, text):
                problems.append(f"{name}: {what} in {label}")
    assert len(secrets) == 8, sorted(secrets)
    assert len(later.texts) > 25
    assert not problems, "\n".join(problems)


def test_the_leak_detector_finds_slices():
    """The search above can fail: a slice of the random part is found, the public id is not."""
    token = "mca_0123456789abcdef_" + "S3cr3tPart-" * 4
    assert leaks(token, f"... {token} ...")
    assert leaks(token, "prefix S3cr3tPa suffix")
    assert not leaks(token, "token 0123456789abcdef shown in the admin")


# --- the repository --------------------------------------------------------------------------

TOKEN_SHAPES = [
    re.compile(r"mca_[0-9a-f]{16}_[A-Za-z0-9_-]{20,}"),
    re.compile(r"mcp_[0-9a-f]{8,}_[A-Za-z0-9_-]{20,}"),
    re.compile(r"whsec_[A-Za-z0-9+/=]{16,}"),
    re.compile(r"-----BEGIN (RSA |EC |OPENSSH )?PRIVATE KEY-----"),
    re.compile(r"AKIA[0-9A-Z]{16}"),
]
# Placeholders that look like secrets on purpose (docs examples, fixed test values):
# - listed here, or
# - a whsec_ value whose base64 decodes to readable text ("e2e-test-secret-value-…"): real
#   secrets are random bytes, so readable ones are test values by construction, or
# - a literal that says what it is ("...-secret-key-...", "insecure-change-me-...").
# Long random-looking literals are allowed under tests/ only (fixed SECRET_KEYs for the
# production-mode subprocess tests); token-shaped strings are checked everywhere.
PLACEHOLDERS = {
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # Standard Webhooks' published test vector
}
PLACEHOLDER_WORDS = ("secret", "example", "insecure", "change-me", "placeholder", "dummy", "test")


def is_placeholder(value: str) -> bool:
    if value in PLACEHOLDERS or any(word in value.lower() for word in PLACEHOLDER_WORDS):
        return True
    if value.startswith("whsec_"):
        try:
            decoded = base64.b64decode(value.removeprefix("whsec_") + "==", validate=False)
        except ValueError:
            return False
        return decoded.isascii() and decoded.decode("ascii", "replace").isprintable()
    return False


HIGH_ENTROPY = re.compile(r"""["']([A-Za-z0-9+/_=-]{32,})["']""")
SKIP_SUFFIXES = (".lock", ".svg", ".png", ".jpg", ".ico", ".woff", ".woff2", ".min.js", ".min.css")


def entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def test_no_secret_is_committed_to_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    problems = []
    for name in files.splitlines():
        if name.endswith(SKIP_SUFFIXES) or "/vendor/" in name or name.startswith("static/"):
            continue
        path = REPO / name
        if not path.is_file():
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        for shape in TOKEN_SHAPES:
            for match in shape.finditer(text):
                if not is_placeholder(match.group(0)):
                    problems.append(f"{name}: {match.group(0)[:12]}… looks like a real secret")
        for match in HIGH_ENTROPY.finditer(text):
            value = match.group(1)
            if name.startswith("tests/") or is_placeholder(value):
                continue
            if re.fullmatch(r"[a-z_-]+|[A-Z_]+|[0-9a-f]{32,64}", value):
                continue  # words, CONSTANT_NAMES, hashes in fixtures/lock files
            if re.fullmatch(r"sha(256|384|512)-[A-Za-z0-9+/]+=*", value):
                continue  # an npm lock file's integrity checksum (deploy/gateway-tools/*/package-lock.json)
            if entropy(value) > 4.5:
                problems.append(f"{name}: high-entropy literal {value[:10]}…")
    assert not problems, "\n".join(problems)


def test_the_repository_scan_would_catch_a_real_token():
    fake = "mca_" + "0a1b2c3d4e5f6a7b" + "_" + "Zx9" * 15
    assert any(shape.search(fake) for shape in TOKEN_SHAPES)
    assert entropy("q8F3kLz0PmX2vB7nR4tY6wA9sD1gH5jK") > 4.5
