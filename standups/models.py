"""Standups: the daily digest of a board or an organization, one row per (scope, date).

The row is the "sent once" record: it is inserted before anything goes out, in the same
transaction as the chat post, the event and the delivery, so a second run for the same scope and
date (a restart, a second beat, a retried task) hits the unique constraint and sends nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.querysets import OrganizationScopedQuerySet


class StandupSettings(models.Model):
    """An organization's standup settings; without a row the defaults (STANDUP_* settings) apply."""

    organization = models.OneToOneField(
        "core.Organization", on_delete=models.CASCADE, related_name="standup_settings"
    )
    enabled = models.BooleanField(default=True)
    # The local hour (0-23) after which the previous day's standup goes out.
    hour = models.PositiveSmallIntegerField(default=9)
    # An IANA name (Europe/Paris): the organization's day starts and ends at its midnight.
    time_zone = models.CharField(max_length=64, default="UTC")
    post_to_chat = models.BooleanField(default=True)
    # The signed webhook: standup.posted events go to this subscription through the outbox.
    subscription = models.ForeignKey(
        "deliveries.Subscription", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "standup settings"

    def __str__(self) -> str:
        return f"standups of {self.organization_id}"


class Standup(models.Model):
    """One posted digest: a board's (board set) or an organization's (board empty) for one local day."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    board = models.ForeignKey(
        "boards.Board", on_delete=models.CASCADE, null=True, blank=True, related_name="standups"
    )
    date = models.DateField()
    time_zone = models.CharField(max_length=64)
    # The figures as computed when it was posted (standups.figures.compute): what was sent is
    # what the page shows for that date afterwards.
    figures = models.JSONField(default=dict)
    # Nothing to report (no work moved, nothing open, no spend): recorded, not sent.
    quiet = models.BooleanField(default=False)
    chat_message = models.ForeignKey(
        "chat.ChatMessage", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    delivery = models.ForeignKey(
        "deliveries.Delivery", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Claimed before the mail is sent (a conditional UPDATE), so a retried task never mails twice.
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            # Exactly once per (board, date) and per (organization, date): two NULL boards never
            # conflict in a plain unique key, hence the two partial ones.
            models.UniqueConstraint(
                fields=["board", "date"], condition=Q(board__isnull=False), name="standup_once_per_board_day"
            ),
            models.UniqueConstraint(
                fields=["organization", "date"],
                condition=Q(board__isnull=True),
                name="standup_once_per_org_day",
            ),
        ]
        indexes = [
            # The API's list and the page's "posted?" lookup: an organization's standups by date.
            models.Index(fields=["organization", "-date"], name="standup_org_date"),
        ]

    def __str__(self) -> str:
        return f"standup {self.date} of {'board ' + str(self.board_id) if self.board_id else 'organization'}"


class StandupEmailOptIn(models.Model):
    """A member's wish to get a standup by email: the organization's (board empty) or one board's."""

    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="+")
    board = models.ForeignKey(
        "boards.Board", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "board"],
                condition=Q(board__isnull=False),
                name="standup_email_once_per_board",
            ),
            models.UniqueConstraint(
                fields=["user", "organization"],
                condition=Q(board__isnull=True),
                name="standup_email_once_per_org",
            ),
        ]
        indexes = [
            # The mail task: who opted in to one standup's scope.
            models.Index(fields=["organization", "board"], name="standup_email_scope"),
        ]
