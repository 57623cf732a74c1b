"""Words more than one domain app speaks, so that each compares them without importing the app
that owns the rows. A task's status is the agents' protocol (a done task cannot be claimed, an
agent's open work is its tasks not done) and usage's unit of work (cost per task done) as much
as the boards'; an agent's status decides whether boards may assign it work and whether webhooks
notify it as much as whether agents let it act."""

from __future__ import annotations

from django.db import models


class TaskStatus(models.TextChoices):
    INBOX = "inbox", "Inbox"
    IN_PROGRESS = "in_progress", "In progress"
    REVIEW = "review", "Review"
    DONE = "done", "Done"
    BLOCKED = "blocked", "Blocked"


class AgentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
