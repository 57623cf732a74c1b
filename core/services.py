"""Writes of the core: people's personal API tokens."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from core.models import PersonalToken
from core.tokens import new_personal_token, token_digest
from infra.exceptions import DomainError, NotFound

PERSONAL_TOKEN_MAX_DAYS = 365


@transaction.atomic
def create_personal_token(
    *, user, name: str, expires_in_days: int | None = None
) -> tuple[PersonalToken, str]:
    """A token for the user's scripts; returns (row, raw token). The raw token is shown once."""
    name = (name or "").strip()
    if not name:
        raise DomainError("Give the token a name that says where it is used.", code="name_required")
    if expires_in_days is not None and not 1 <= expires_in_days <= PERSONAL_TOKEN_MAX_DAYS:
        raise DomainError(
            f"A token expires within 1 to {PERSONAL_TOKEN_MAX_DAYS} days.", code="invalid_expiry"
        )
    public_id, raw = new_personal_token()
    token = PersonalToken.objects.create(
        user=user,
        name=name[:80],
        public_id=public_id,
        digest=token_digest(raw),
        expires_at=timezone.now() + datetime.timedelta(days=expires_in_days) if expires_in_days else None,
    )
    return token, raw


@transaction.atomic
def revoke_personal_token(*, token: PersonalToken, user) -> PersonalToken:
    if token.user_id != user.pk:
        raise NotFound("Not found.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
