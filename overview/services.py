"""Writes of the overview app: hiding the first-run checklist."""

from __future__ import annotations

from django.db import transaction

from activity.services import record_activity
from core.access import authorize
from core.actors import Actor
from core.models import Organization, Role
from overview.models import OnboardingDismissal


@transaction.atomic
def dismiss_onboarding(*, actor: Actor, organization: Organization) -> OnboardingDismissal:
    """Hide the first-run checklist for this person in this organization (others still see it).
    Dismissing twice keeps the first row and records no second event."""
    authorize(actor, organization=organization, role=Role.ADMIN, allow_agent=False)
    dismissal, created = OnboardingDismissal.objects.get_or_create(user=actor.user, organization=organization)
    if created:
        record_activity(
            organization=organization,
            verb="onboarding.dismissed",
            actor=actor,
            target_type="organization",
            target_id=organization.pk,
            detail={"name": organization.name},
        )
    return dismissal
