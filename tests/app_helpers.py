"""Helpers for driving the real app with Textual's Pilot."""

from __future__ import annotations

import asyncio
import time


async def wait_until(pilot, predicate, timeout: float = 120.0, what: str = "condition") -> None:
    """Let the app run until ``predicate()`` is true (the model and workers run for real)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await pilot.pause(0.05)
        await asyncio.sleep(0)


async def wait_opened(pilot, timeout: float = 180.0) -> None:
    """Wait until the app has shown its first clustering."""
    app = pilot.app
    await wait_until(pilot, lambda: app.analysis is not None, timeout, "the clusters")
    await pilot.pause(0.1)
