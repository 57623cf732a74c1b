"""Request ids, the slow-request log, security headers and JSON error bodies."""

import logging

import pytest

from infra.middleware import CONTENT_SECURITY_POLICY


def test_every_response_carries_the_security_headers(client):
    response = client.get("/healthz")
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "strict-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response


def test_hsts_is_sent_only_when_enabled(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/healthz", secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def test_it_generates_a_request_id(client):
    response = client.get("/healthz")
    assert len(response["X-Request-ID"]) == 32


def test_it_keeps_a_well_formed_request_id(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="trace-abc-123456")
    assert response["X-Request-ID"] == "trace-abc-123456"


@pytest.mark.parametrize("bad", ["short", "x" * 65, "evil\r\nSet-Cookie: a=b", "<script>1234</script>"])
def test_it_replaces_a_malformed_request_id(client, bad):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=bad)
    assert response["X-Request-ID"] != bad
    assert len(response["X-Request-ID"]) == 32


def test_it_logs_slow_requests_with_the_request_id(client, settings, caplog):
    settings.REQUEST_LOG_SLOW_MS = 0
    with caplog.at_level(logging.WARNING, logger="missioncontrol.requests"):
        client.get("/healthz?token=super-secret-value", HTTP_X_REQUEST_ID="slow-request-0001")
    records = [r for r in caplog.records if r.name == "missioncontrol.requests"]
    assert len(records) == 1
    record = records[0]
    assert record.path == "/healthz"
    assert record.status == 200
    assert record.method == "GET"
    assert record.request_id == "slow-request-0001"
    assert "super-secret-value" not in record.getMessage()


def test_it_does_not_log_requests_under_the_bar(client, settings, caplog):
    settings.REQUEST_LOG_SLOW_MS = 60_000
    with caplog.at_level(logging.WARNING, logger="missioncontrol.requests"):
        client.get("/healthz")
    assert not [r for r in caplog.records if r.name == "missioncontrol.requests"]


@pytest.mark.django_db
def test_api_404_is_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


@pytest.mark.django_db
def test_api_405_is_json(client):
    response = client.post("/healthz")
    assert response.status_code == 405


@pytest.mark.django_db
@pytest.mark.urls("tests.urls_with_failures")
@pytest.mark.parametrize("path", ["/api/v1/test-plain-boom", "/api/v1/test-api-boom"])
def test_api_500_is_json_without_a_trace(client, path):
    client.raise_request_exception = False
    response = client.get(path)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert b"secret-detail" not in response.content
    assert b"Traceback" not in response.content


@pytest.mark.django_db
@pytest.mark.urls("tests.urls_with_failures")
def test_page_500_is_a_friendly_page(client):
    client.raise_request_exception = False
    response = client.get("/test-page-boom")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert b"secret-detail" not in response.content


def test_cors_allows_only_configured_origins(client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://dash.example.com"]
    allowed = client.get("/healthz", HTTP_ORIGIN="https://dash.example.com")
    assert allowed["Access-Control-Allow-Origin"] == "https://dash.example.com"
    refused = client.get("/healthz", HTTP_ORIGIN="http://evil.com")
    assert "Access-Control-Allow-Origin" not in refused


def test_json_logs_carry_request_id_and_extra_fields():
    import json

    from infra.logs import JsonFormatter, RequestIdFilter, current_request_id

    token = current_request_id.set("req-json-000001")
    try:
        record = logging.LogRecord("t", logging.WARNING, __file__, 1, "hello %s", ("world",), None)
        record.path = "/x"
        RequestIdFilter().filter(record)
        line = json.loads(JsonFormatter().format(record))
    finally:
        current_request_id.reset(token)
    assert line["message"] == "hello world"
    assert line["request_id"] == "req-json-000001"
    assert line["path"] == "/x"


@pytest.mark.django_db
def test_swagger_ui_and_redoc_come_from_the_sidecar_not_a_cdn(client):
    for path in ("/api/v1/docs/", "/api/v1/redoc/"):
        html = client.get(path).content.decode()
        assert "drf_spectacular_sidecar" in html or "/api/v1/redoc/redoc.standalone.js" in html, path
        assert "cdn" not in html.lower() and "googleapis" not in html, path


@pytest.mark.django_db
def test_the_redoc_bundle_is_the_sidecars_with_the_redocly_logo_served_from_here(client):
    from infra.redoc_bundle import BUNDLE

    response = client.get("/api/v1/redoc/redoc.standalone.js")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"cdn.redoc.ly" in BUNDLE.read_bytes()  # the sidecar still has it: the rewrite matters
    assert b"cdn.redoc.ly" not in body
    assert b"favicon" in body and abs(len(body) - BUNDLE.stat().st_size) < 200
    again = client.get("/api/v1/redoc/redoc.standalone.js", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
