"""Realtime tests' local pytest configuration."""

from __future__ import annotations


def pytest_configure(config) -> None:
    # Until the suite's own configuration registers it (pytest-xdist's --dist loadgroup): tests
    # that start real servers are marked to run in one worker; the marker is harmless without xdist.
    config.addinivalue_line("markers", "xdist_group(name): run the marked tests in one xdist worker")
