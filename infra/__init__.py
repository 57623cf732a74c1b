"""The bottom library: the project's reusable, app-agnostic pieces (realtime, errors, middleware,
body and rate limits, health, metrics, logs, partitions, serving). It imports no app of the
project; every app may import it."""
