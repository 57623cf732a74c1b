"""Request bodies past Django's DATA_UPLOAD_* limits, and OPTIONS/HEAD on every API operation.

Schemathesis found 500s for both: DRF parses the body inside the view, where Django's
TooManyFieldsSent / TooManyFilesSent / RequestDataTooBig reached the API's catch-all; and DRF's
OPTIONS called get_object() on a view without a pk. Every such refusal is a 400 in the API's
error shape, and OPTIONS and HEAD answer every operation of the schema without a 5xx.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from core.actors import Actor
from tests.security.test_fuzz import pinned_path_parameters
from tests.security.world import build_world
from webhooks import services as webhook_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_with(fields: int, board) -> dict[str, str]:
    """`fields` form fields in all, two of which are a valid task."""
    data = {"board": str(board.pk), "title": "Many fields"}
    data.update({f"extra{i}": "x" for i in range(fields - len(data))})
    return data


def test_a_form_post_at_the_field_limit_is_accepted(client, board, settings):
    assert settings.DATA_UPLOAD_MAX_NUMBER_FIELDS == 1000
    response = client.post("/api/v1/tasks/", form_with(1000, board))
    assert response.status_code == 201, response.content


def test_one_field_over_the_limit_is_a_400_with_the_error_shape(client, board):
    response = client.post("/api/v1/tasks/", form_with(1001, board))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_many_fields"
    assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in response.json()["error"]["message"]


def test_too_many_files_is_a_400(client, board, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    files = {f"file{i}": SimpleUploadedFile(f"{i}.txt", b"x") for i in range(3)}
    response = client.post("/api/v1/tasks/", {"board": str(board.pk), "title": "Files", **files})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_many_files"


def post_urlencoded(client, data: dict[str, str]):
    return client.post("/api/v1/tasks/", urlencode(data), content_type="application/x-www-form-urlencoded")


def test_a_form_body_over_the_memory_limit_is_a_400(client, board, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    at_limit = {"board": str(board.pk), "title": "x", "description": ""}
    at_limit["description"] = "d" * (1000 - len(urlencode(at_limit)))
    assert len(urlencode(at_limit)) == 1000
    assert post_urlencoded(client, at_limit).status_code == 201
    response = post_urlencoded(client, {**at_limit, "description": at_limit["description"] + "d"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "request_too_large"


def test_options_on_the_rule_mappings_is_not_a_500(client, board, user):
    webhook, _ = webhook_services.create_webhook(board=board, actor=Actor.for_user(user), description="CI")
    response = client.options(f"/api/v1/webhooks/{webhook.pk}/rule-mappings/")
    assert response.status_code == 200
    assert "PUT" in response.json()["actions"]


def test_options_and_head_answer_every_api_operation_without_a_server_error():
    world = build_world()
    client = world.client("admin")
    schema = client.get("/api/v1/schema/?format=json").json()
    failures = []
    for path in schema["paths"]:
        values = pinned_path_parameters(path, world)
        url = re.sub(r"\{(\w+)\}", lambda m, values=values: str(values.get(m.group(1), 1)), path)
        for method in ("options", "head"):
            response = getattr(client, method)(url)
            if response.status_code >= 500:
                failures.append(f"{method.upper()} {url}: {response.status_code}")
    assert len(schema["paths"]) > 50
    assert failures == []
