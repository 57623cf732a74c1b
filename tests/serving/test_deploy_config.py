"""Every way of running starts the servers from the versioned settings, and none of them lets a
server rewrite the client address from proxy headers (issue 14, item 4)."""

from __future__ import annotations

import runpy
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.serving import render_nginx, uvicorn_options

# Reads files and settings only: CI runs it once, in the SQLite run.
pytestmark = pytest.mark.backend_independent

ROOT = Path(__file__).resolve().parents[2]
LAUNCHERS = [ROOT / "Makefile", ROOT / "Dockerfile", ROOT / "compose.yml"]


def test_no_launcher_turns_proxy_header_rewriting_on():
    for path in LAUNCHERS:
        text = path.read_text()
        assert "--proxy-headers" not in text and "forwarded-allow-ips" not in text, path.name


def test_make_run_compose_and_the_image_use_the_versioned_server_settings():
    assert "-m infra.serving" in (ROOT / "Makefile").read_text()
    assert '"deploy/gunicorn.conf.py"' in (ROOT / "Dockerfile").read_text()
    compose = (ROOT / "compose.yml").read_text()
    assert '"infra.serving"' in compose and "deploy/nginx.conf.template" in compose


def test_the_servers_trust_no_proxy_header():
    assert uvicorn_options()["proxy_headers"] is False
    gunicorn = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    assert gunicorn["forwarded_allow_ips"] == "" and gunicorn["secure_scheme_headers"] == {}
    assert gunicorn["limit_request_field_size"] == uvicorn_options()["h11_max_incomplete_event_size"]


def test_the_rendered_proxy_configuration_is_complete_and_valid(tmp_path):
    conf = render_nginx(listen="127.0.0.1:1", wsgi="127.0.0.1:2", asgi="127.0.0.1:3", prefix=str(tmp_path))
    assert "${MC_" not in conf
    assert "client_max_body_size 262144;" in conf and "client_max_body_size 1048576;" in conf
    if not shutil.which("nginx"):
        pytest.skip("nginx is not installed")
    (tmp_path / "nginx.conf").write_text(conf)
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
