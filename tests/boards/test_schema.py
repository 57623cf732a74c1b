"""The OpenAPI schema generates and validates without warnings (drf-spectacular)."""

from django.core.management import call_command


def test_the_openapi_schema_is_valid_without_warnings(tmp_path, db):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    schema = (tmp_path / "schema.yml").read_text()
    for path in (
        "/api/v1/tasks/{id}/move/",
        "/api/v1/approvals/{id}/decide/",
        "/api/v1/activity/",
        "/api/v1/personal-tokens/",
    ):
        assert f"  {path}:" in schema
    assert "personalToken" in schema
