"""OpenClaw gateways of an organization and the queue of commands the supervisor runs on them.

Only the supervisor (`manage.py run_gateways`) holds a socket to a gateway. Everything else reads
the status it records here and asks it to act by adding a GatewayCommand row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.models import creation_stamps
from core.querysets import OrganizationScopedQuerySet


class GatewayStatus(models.TextChoices):
    NEW = "new", "Not connected yet"
    CONNECTED = "connected", "Connected"
    DISCONNECTED = "disconnected", "Unreachable"
    REFUSED = "refused", "Refused"
    DISABLED = "disabled", "Disabled"


class GatewayQuerySet(OrganizationScopedQuerySet):
    def supervised(self) -> GatewayQuerySet:
        """The gateways the supervisor keeps a connection to."""
        return self.filter(enabled=True)


class Gateway(models.Model):
    organization = models.ForeignKey("core.Organization", on_delete=models.CASCADE, related_name="gateways")
    name = models.CharField(max_length=100)
    url = models.CharField(max_length=500)  # ws:// or wss://, checked by services.clean_gateway_url
    # Encrypted at rest (core.encryption), like webhook secrets; never returned after creation.
    token_ciphertext = models.TextField()
    # An Ed25519 private key (PEM, encrypted) for gateways that require a paired device; empty
    # means token-only auth (accepted by gateways on loopback for backend clients).
    device_key_ciphertext = models.TextField(blank=True)
    device_id = models.CharField(max_length=64, blank=True)
    enabled = models.BooleanField(default=True)
    # Ask the gateway for operator.read only: Mission Control then watches but cannot act, and
    # every action fails with the gateway's own MISSING_SCOPE error.
    read_only = models.BooleanField(default=False)

    # What the supervisor last saw. Written only by gateways.services.record_* functions.
    status = models.CharField(max_length=20, choices=GatewayStatus.choices, default=GatewayStatus.NEW)
    server_version = models.CharField(max_length=100, blank=True)
    protocol = models.PositiveSmallIntegerField(null=True, blank=True)
    scopes = models.JSONField(default=list, blank=True)
    last_error_code = models.CharField(max_length=100, blank=True)
    last_error = models.TextField(blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)

    created_by, created_at, updated_at = creation_stamps()

    objects = GatewayQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="gateway_name_unique_in_organization"
            )
        ]

    def __str__(self) -> str:
        return self.name


class CommandState(models.TextChoices):
    PENDING = "pending", "Waiting for the gateway"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Done"
    FAILED = "failed", "Failed"


class GatewayCommand(models.Model):
    """One thing a person (or Mission Control) asked a gateway to do, run by the supervisor.

    The queue is this table: the supervisor claims a pending row with a conditional UPDATE, calls
    the gateway, and records the answer or the error here, so the page or API that asked can show
    it. `idempotency_key` makes a retried request (a double click, an HTTP retry) return the first
    command instead of starting a second run.
    """

    gateway = models.ForeignKey(Gateway, on_delete=models.CASCADE, related_name="commands")
    method = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=100)
    state = models.CharField(max_length=20, choices=CommandState.choices, default=CommandState.PENDING)
    result = models.JSONField(null=True, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "idempotency_key"], name="gateway_command_idempotency_key_unique"
            )
        ]
        indexes = [
            # The supervisor's poll: the oldest pending commands of the gateways it holds.
            models.Index(
                fields=["gateway", "created_at"],
                name="gateway_command_pending",
                condition=Q(state="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.method} on {self.gateway_id} ({self.state})"


class GatewayAgentQuerySet(models.QuerySet):
    def active(self) -> GatewayAgentQuerySet:
        return self.filter(retired_at__isnull=True)


class GatewayAgent(models.Model):
    """An agent that lives on a gateway, as the gateway's agents.list last reported it, and the
    Mission Control agent it is linked to (whose usage, budgets and pages it then feeds).

    The supervisor keeps these rows in step with the gateway: on every connect and after every
    agents.create / agents.delete it runs. An agent the gateway no longer lists is retired, not
    deleted, so its usage and events keep their subject.
    """

    gateway = models.ForeignKey(Gateway, on_delete=models.CASCADE, related_name="agents")
    agent_key = models.CharField(max_length=100)  # the gateway's agent id ("main", "release-bot")
    name = models.CharField(max_length=200, blank=True)
    workspace = models.CharField(max_length=500, blank=True)
    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.SET_NULL, null=True, blank=True, related_name="gateway_links"
    )
    first_seen_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = GatewayAgentQuerySet.as_manager()

    class Meta:
        ordering = ["agent_key", "id"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "agent_key"], name="gateway_agent_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.agent_key} on {self.gateway_id}"


class ApprovalState(models.TextChoices):
    PENDING = "pending", "Waiting for an answer"
    ANSWERING = "answering", "Answer sent to the gateway"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"
    EXPIRED = "expired", "Expired"


class GatewayApproval(models.Model):
    """A command an agent on a gateway wants to run and the gateway holds for a person to allow
    (`exec.approval.requested`), answered in Mission Control and resolved on the gateway."""

    gateway = models.ForeignKey(Gateway, on_delete=models.CASCADE, related_name="approvals")
    approval_id = models.CharField(max_length=200)  # the gateway's id, for exec.approval.resolve
    agent_key = models.CharField(max_length=100, blank=True)
    session_key = models.CharField(max_length=200, blank=True)
    command = models.TextField(blank=True)
    request = models.JSONField(default=dict, blank=True)  # the gateway's payload, as sent
    state = models.CharField(max_length=20, choices=ApprovalState.choices, default=ApprovalState.PENDING)
    decision = models.CharField(max_length=20, blank=True)  # allow-once | deny, as answered
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "approval_id"], name="gateway_approval_id_unique"),
        ]

    def __str__(self) -> str:
        return f"approval {self.approval_id} on {self.gateway_id} ({self.state})"


class GatewaySession(models.Model):
    """A session on a gateway as its sessions.list last said (the supervisor reads it on connect
    and after the gateway's `sessions.changed`), so the agent page lists sessions without a
    socket. A copy of the gateway's state: rows the gateway drops are deleted."""

    gateway = models.ForeignKey(Gateway, on_delete=models.CASCADE, related_name="sessions")
    key = models.CharField(max_length=200)  # "agent:<agent>:<session>"
    agent_key = models.CharField(max_length=100, blank=True)
    label = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)  # the gateway's, last activity
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # The most recently active first; sessions the gateway gave no time last (on every database).
        ordering = [models.F("updated_at").desc(nulls_last=True), "key"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "key"], name="gateway_session_key_unique"),
        ]
        indexes = [
            # The agent page: one gateway agent's sessions.
            models.Index(fields=["gateway", "agent_key"], name="gateway_session_agent"),
        ]

    def __str__(self) -> str:
        return f"{self.key} on {self.gateway_id}"
