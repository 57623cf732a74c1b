"""HMAC-SHA256 signatures, both ways: `sha256=<hex>` headers and Standard Webhooks (v1).

Inbound verification and outbound signing share these functions so the two cannot drift.
Every comparison is constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SHA256_PREFIX = "sha256="
STANDARD_WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)


def sha256_signature(secret: str, body: bytes) -> str:
    """The `sha256=<hex>` header value; keyed with the secret's UTF-8 bytes, as GitHub does."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"{SHA256_PREFIX}{digest}"


def verify_sha256_signature(secret: str, body: bytes, header_value: str) -> bool:
    return hmac.compare_digest(sha256_signature(secret, body).encode(), header_value.strip().encode())


def standard_webhook_key(secret: str) -> bytes:
    """`whsec_<base64>` secrets key with the decoded bytes; any other secret with its UTF-8 bytes."""
    if secret.startswith(STANDARD_WEBHOOK_SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(STANDARD_WEBHOOK_SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            pass
    return secret.encode()


def standard_webhook_signature(secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """The `webhook-signature` value `v1,<base64>` over `<id>.<timestamp>.<body>`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_webhook_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify_standard_webhook_signature(
    secret: str, msg_id: str, timestamp: str, body: bytes, header_value: str
) -> bool:
    """The header may carry several space-separated signatures (during the sender's rotation)."""
    expected = standard_webhook_signature(secret, msg_id, timestamp, body).encode()
    return any(
        hmac.compare_digest(expected, candidate.encode())
        for candidate in header_value.split()
        if candidate.startswith("v1,")
    )
