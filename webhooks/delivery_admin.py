"""Admin for subscriptions and deliveries (dead letters, replay)."""
