"""Webhook and subscription secrets, encrypted at rest with rotatable keys.

Keys come from SECRET_ENCRYPTION_KEYS (newest first), or are derived from SECRET_KEY and
SECRET_KEY_FALLBACKS. Encryption uses the first key; decryption tries them all (MultiFernet),
so a new key can be rolled out before old ciphertexts are re-encrypted.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

_DERIVATION_CONTEXT = b"missioncontrol:secret-encryption:v1:"


def _fernet_key(material: str) -> bytes:
    """A Fernet key from any string: a real Fernet key is used as is, anything else is hashed."""
    try:
        if len(base64.urlsafe_b64decode(material.encode())) == 32:
            return material.encode()
    except (ValueError, TypeError):
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(_DERIVATION_CONTEXT + material.encode()).digest())


@cache
def _box() -> MultiFernet:
    materials = list(settings.SECRET_ENCRYPTION_KEYS) or [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return MultiFernet([Fernet(_fernet_key(material)) for material in materials])


@receiver(setting_changed)
def _forget_keys(*, setting: str, **kwargs) -> None:
    if setting in {"SECRET_ENCRYPTION_KEYS", "SECRET_KEY", "SECRET_KEY_FALLBACKS"}:
        _box.cache_clear()


class SecretUnreadable(Exception):
    """No configured key decrypts this ciphertext (keys were rotated away too early)."""


def encrypt_secret(plaintext: str) -> str:
    return _box().encrypt(plaintext.encode()).decode()


def decrypt_secret(ciphertext: str) -> str:
    try:
        return _box().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("no configured key decrypts this secret") from None


def reencrypt_secret(ciphertext: str) -> str:
    """Re-encrypt under the newest key (for the key-rotation command)."""
    try:
        return _box().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("no configured key decrypts this secret") from None
