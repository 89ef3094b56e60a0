"""Waiting for something to happen: the one poll loop of the tests, the benchmarks and the demo."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")


class WaitTimeout(AssertionError):
    """The condition did not hold in time; the message names what was awaited."""


def wait_until(
    condition: Callable[[], _T | None],
    *,
    timeout_s: float,
    what: str,
    interval_s: float = 0.1,
) -> _T:
    """Call `condition` every `interval_s` seconds until it returns something truthy, and return
    that. `condition` may raise to give up early (e.g. when the process it waits on has died);
    after `timeout_s` seconds, `WaitTimeout` says what did not happen."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)
