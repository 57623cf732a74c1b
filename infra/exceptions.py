"""Domain errors raised by services; the API turns each into its JSON error and status."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NotFound(DomainError):
    """Also used for objects the caller may not see: 404, never 403, so ids cannot be probed."""

    status_code = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status_code = 403
    code = "permission_denied"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class InvalidTransition(DomainError):
    status_code = 409
    code = "invalid_transition"


class PaymentRequired(DomainError):
    """A spending limit stops the action until the period ends or the limit is raised: 402."""

    status_code = 402
    code = "budget_exhausted"


class RateLimited(DomainError):
    """Too many of something in a window: 429 with Retry-After (seconds)."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, int(retry_after))
