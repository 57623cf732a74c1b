"""Who did something: a person, an agent, a webhook or the system. Every service takes an Actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models


class ActorKind(models.TextChoices):
    USER = "user", "User"
    AGENT = "agent", "Agent"
    WEBHOOK = "webhook", "Webhook"
    SYSTEM = "system", "System"


@dataclass(frozen=True)
class Actor:
    """Who did something: a user, an agent, a webhook or the system itself."""

    kind: str
    label: str
    user: Any = None
    agent: Any = None

    @classmethod
    def for_user(cls, user) -> Actor:
        return cls(kind=ActorKind.USER, label=user.get_username(), user=user)

    @classmethod
    def for_agent(cls, agent) -> Actor:
        return cls(kind=ActorKind.AGENT, label=agent.name, agent=agent)

    @classmethod
    def for_webhook(cls, webhook) -> Actor:
        return cls(kind=ActorKind.WEBHOOK, label=f"webhook {webhook.pk}")

    @classmethod
    def system(cls) -> Actor:
        return cls(kind=ActorKind.SYSTEM, label="system")
