"""Waiting that a stop request cuts short.

The bot's clients back off, space their calls and follow deployments by waiting; each of those
waits goes through `pause`, so SIGINT/SIGTERM (which set the bot's stop event) end it at once
instead of after the full back-off.
"""

from __future__ import annotations

import threading
import time


class StopRequested(Exception):
    """The bot was asked to stop during a wait; the current step is abandoned where it stands
    (every step is safe to abandon: the ledger commits before and after each outside call)."""


def pause(seconds: float, stop: threading.Event | None) -> None:
    """Sleep `seconds`, or raise `StopRequested` as soon as `stop` is set (or if it already is)."""
    if stop is None:
        time.sleep(max(0.0, seconds))
        return
    if stop.wait(max(0.0, seconds)):
        raise StopRequested
