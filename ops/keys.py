"""Re-encrypting every stored webhook and subscription secret under the newest key.

Step two of a SECRET_ENCRYPTION_KEYS rotation (docs/operations.md, "Key rotation"): once the
new key is first in the list everywhere, this moves every ciphertext to it, so the old key can
be removed. Nothing is written unless every secret can be decrypted first.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction

from activity.services import record_activity
from core.actors import Actor
from core.encryption import SecretUnreadable, decrypt_secret, reencrypt_secret
from deliveries.models import Subscription
from gateways.models import Gateway
from webhooks.models import BoardWebhook
from webhooks.services import forget_webhook_for_ingest

logger = logging.getLogger(__name__)

# (model, field, how to find the row's organization)
_FIELDS = (
    (BoardWebhook, "secret_ciphertext", "board__organization_id"),
    (BoardWebhook, "previous_secret_ciphertext", "board__organization_id"),
    (Subscription, "secret_ciphertext", "organization_id"),
    (Gateway, "token_ciphertext", "organization_id"),
    (Gateway, "device_key_ciphertext", "organization_id"),
)


@dataclass
class RotationResult:
    reencrypted: dict[str, int] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)
    changed_meanwhile: int = 0

    @property
    def total(self) -> int:
        return sum(self.reencrypted.values())


def _rows(model, field_name: str, org_path: str):
    return (
        model.objects.exclude(**{field_name: ""})
        .values_list("pk", field_name, org_path)
        .order_by("pk")
        .iterator(chunk_size=500)
    )


def find_unreadable_secrets() -> list[str]:
    unreadable = []
    for model, field_name, org_path in _FIELDS:
        for pk, ciphertext, _org in _rows(model, field_name, org_path):
            try:
                decrypt_secret(ciphertext)
            except SecretUnreadable:
                unreadable.append(f"{model._meta.label}#{pk}.{field_name}")
    return unreadable


@transaction.atomic
def reencrypt_all_secrets(*, dry_run: bool = False) -> RotationResult:
    """Re-encrypt every secret under the first SECRET_ENCRYPTION_KEYS key; one
    `secrets.reencrypted` event per organization touched."""
    result = RotationResult(unreadable=find_unreadable_secrets())
    if result.unreadable or dry_run:
        return result
    per_org: Counter[int] = Counter()
    for model, field_name, org_path in _FIELDS:
        label = f"{model._meta.model_name}.{field_name}"
        result.reencrypted[label] = 0
        for pk, ciphertext, org_id in _rows(model, field_name, org_path):
            # Compare-and-set: a secret rotated by a user since we read it keeps the user's value.
            updated = model.objects.filter(pk=pk, **{field_name: ciphertext}).update(
                **{field_name: reencrypt_secret(ciphertext)}
            )
            if updated:
                result.reencrypted[label] += 1
                per_org[org_id] += 1
                if model is BoardWebhook:
                    # The ingest cache holds the row as it was: drop it with the old ciphertext.
                    forget_webhook_for_ingest(pk)
            else:
                result.changed_meanwhile += 1
    for org_id, count in sorted(per_org.items()):
        record_activity(
            organization=org_id,
            verb="secrets.reencrypted",
            actor=Actor.system(),
            target_type="organization",
            target_id=org_id,
            detail={"secrets": count},
        )
    logger.warning(
        "re-encrypted %d webhook/subscription secret(s) under the newest key",
        result.total,
        extra={"event": "secrets.reencrypted", "count": result.total},
    )
    return result
