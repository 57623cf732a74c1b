"""A test's stand-in for the worker that follows the activity log."""

from __future__ import annotations

import pytest

from activity import following


def drain_log() -> dict[str, int]:
    """Run every consumer of the activity log now (search, deliveries, notifications, alerts,
    rules), in this thread and, in a test's transaction, inside it.

    Their effects no longer happen inside the write that records an event; in production the
    worker (or, on the embedded default, the writing process after its commit) follows the log.
    Tests that check such an effect call this where the worker would have run: the lag is
    explicit, not hidden.
    """
    results = following.follow_all()
    failed = [name for name, count in results.items() if count < 0]
    assert not failed, f"log consumers failed: {failed}"
    return results


@pytest.fixture
def consumers_inline(settings):
    """Every log consumer right after each commit, in the process that wrote (the embedded
    default's arrangement), whatever REDIS_URL says: browser tests run the server in the test
    process with no worker to follow the log."""
    settings.ACTIVITY_CONSUMERS_INLINE = True
