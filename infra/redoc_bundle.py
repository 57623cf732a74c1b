"""GET /api/v1/redoc/redoc.standalone.js: the sidecar's ReDoc bundle with its one outside request
removed.

ReDoc's sidebar footer renders Redocly's logo from https://cdn.redoc.ly, unconditionally (no option
turns it off). Our CSP allows images only from 'self', so every visit showed a blocked request and
a console error. The bundle is served as installed, except that this one URL points at our own icon.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import drf_spectacular_sidecar
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.utils.http import quote_etag
from django.views.decorators.cache import cache_control
from django.views.decorators.http import condition, require_GET

SIDECAR_STATIC = Path(drf_spectacular_sidecar.__file__).parent / "static/drf_spectacular_sidecar"
BUNDLE = SIDECAR_STATIC / "redoc/bundles/redoc.standalone.js"
REDOCLY_LOGO_URL = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


@functools.cache
def rewritten_bundle(logo_url: str) -> tuple[bytes, str]:
    """The bundle with the logo URL replaced, and its ETag; read once per process."""
    # If a sidecar upgrade moves the logo this replaces nothing; the browser test that records
    # every request of the page (tests/e2e/test_smoke.py) then fails.
    body = BUNDLE.read_bytes().replace(REDOCLY_LOGO_URL, logo_url.encode())
    return body, hashlib.sha256(body).hexdigest()[:32]


def _etag(request: HttpRequest) -> str:
    return quote_etag(rewritten_bundle(static("favicon.svg"))[1])


@require_GET
@cache_control(max_age=86400, public=True)
@condition(etag_func=_etag)
def redoc_bundle(request: HttpRequest) -> HttpResponse:
    # Resolved per request: with the manifest storage, static() needs collectstatic to have run.
    body, _ = rewritten_bundle(static("favicon.svg"))
    return HttpResponse(body, content_type="text/javascript; charset=utf-8")
