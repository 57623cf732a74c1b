"""Security tests: the shared e2e fixtures (real uvicorn, Chromium) and a fast password hasher.

The login tests hash many passwords; the default PBKDF2 cost (deliberately slow) would make
them take seconds each, and the hasher is not what they test.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import _module_asgi_server, asgi_server, browser, page  # noqa: F401


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
