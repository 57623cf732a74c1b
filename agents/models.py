"""Agents and their bearer tokens. Writes go through agents.services."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.querysets import OrganizationScopedQuerySet
from core.vocabulary import AgentStatus  # agents.models.AgentStatus stays importable for the apps above


class Agent(models.Model):
    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="agents")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, max_length=5000)
    status = models.CharField(max_length=12, choices=AgentStatus.choices, default=AgentStatus.ACTIVE)
    boards = models.ManyToManyField("boards.Board", blank=True, related_name="agents")
    is_board_lead = models.BooleanField(default=False)
    # Push mode: events are POSTed here (signed); empty means the agent pulls.
    callback_url = models.URLField(max_length=500, blank=True)
    capabilities = models.JSONField(default=list, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # Last presence state recorded as an activity event, so transitions are logged once.
    presence = models.CharField(max_length=8, default="offline")
    status_text = models.CharField(max_length=200, blank=True)
    current_task = models.ForeignKey(
        "boards.Task", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="agent_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        """An agent acts only while active; a suspended one is refused everywhere."""
        return self.status == AgentStatus.ACTIVE


class AgentToken(models.Model):
    """A bearer token `mca_<public_id>_<secret>`, stored only as the SHA-256 of the whole token.

    `public_id` is unique and indexed, so authenticating is one indexed lookup and one
    constant-time digest compare, whatever the number of agents.
    """

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=80, default="default")
    public_id = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.agent} / {self.name}"
