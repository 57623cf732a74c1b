"""Admin for inbound webhooks and payloads; the outbound side lives in webhooks.delivery_admin."""

from webhooks import delivery_admin  # noqa: F401  (registers Subscription, Delivery)
