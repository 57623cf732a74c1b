"""The agent token format, in one module that both services (issuing) and authentication
(checking) import, so that neither imports the other for it.

A token is `mca_<public_id>_<secret>`: 8 random bytes of public id (16 hex characters, unique
and indexed) and 32 random bytes of secret. Only the SHA-256 of the whole token is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_PREFIX = "mca_"  # noqa: S105 - a public prefix, not a secret
PUBLIC_ID_BYTES = 8
SECRET_BYTES = 32
# token_urlsafe(32) is 43 characters; a longer secret is accepted so the size can grow later.
TOKEN_PATTERN = re.compile(r"^mca_(?P<public_id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43,128})$")
# Compared against when the public id is unknown, so that both failures take the same path.
DUMMY_DIGEST = hashlib.sha256(b"mission-control-no-such-token").hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh (public_id, raw token). The raw token is shown once and never stored."""
    public_id = secrets.token_hex(PUBLIC_ID_BYTES)
    return public_id, f"{TOKEN_PREFIX}{public_id}_{secrets.token_urlsafe(SECRET_BYTES)}"


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()
