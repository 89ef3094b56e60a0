"""`Faults`: what the stand-in does wrong, on purpose."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Faults:
    """What the stand-in does wrong, on purpose.

    `*_next` fault the next N calls to `/v2/api`; `*_probability` fault each call with that
    probability (seeded RNG). Checked in this order: slow, HTTP 500, malformed body, then (after
    the chainid and apikey checks) the server-side rate limit, rate-limit NOTOK, daily-limit NOTOK.
    """

    rate_limit_probability: float = 0.0
    rate_limit_next: int = 0
    daily_limit_next: int = 0
    http_500_probability: float = 0.0
    http_500_next: int = 0
    slow_probability: float = 0.0
    slow_next: int = 0
    #: How long a slow answer waits (make it longer than the client's timeout).
    slow_s: float = 1.0
    malformed_probability: float = 0.0
    malformed_next: int = 0
    #: getLogs over more than this many blocks answers "Query Timeout occured ..." (0: always).
    query_timeout_over_blocks: int | None = None
    #: The indexer's head (reported and searched) trails the source's head by this many blocks.
    indexing_lag_blocks: int = 0
    #: getLogs sees logs only up to this many blocks below the head eth_blockNumber reports
    #: (a log index that lags its own head).
    log_index_lag_blocks: int = 0
    #: getLogs ignores `page` and answers the first page every time.
    ignore_paging: bool = False
    #: Server-side limit over a sliding 1 s window of answered calls; None: no limit.
    max_calls_per_sec: float | None = None
    #: After this many invalid-key answers, answer "Too many invalid api key attempts".
    invalid_key_lockout_after: int | None = None

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name.endswith("_probability") and not (
                isinstance(value, (int, float)) and 0 <= value <= 1
            ):
                raise ValueError(f"{field.name} must be a number in [0, 1], got {value!r}")
            if field.name.endswith("_next") and not (isinstance(value, int) and value >= 0):
                raise ValueError(f"{field.name} must be an integer >= 0, got {value!r}")
        if not (isinstance(self.slow_s, (int, float)) and self.slow_s >= 0):
            raise ValueError(f"slow_s must be a number >= 0, got {self.slow_s!r}")
        for name in ("indexing_lag_blocks", "log_index_lag_blocks"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 0):
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        for name in ("query_timeout_over_blocks", "invalid_key_lockout_after"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int) and value >= 0):
                raise ValueError(f"{name} must be an integer >= 0 or null, got {value!r}")
        limit = self.max_calls_per_sec
        if limit is not None and not (isinstance(limit, (int, float)) and limit > 0):
            raise ValueError(f"max_calls_per_sec must be a number > 0 or null, got {limit!r}")

    def updated(self, changes: dict[str, Any]) -> Faults:
        """A copy with `changes` applied; ValueError on an unknown field or a bad value."""
        unknown = set(changes) - {field.name for field in fields(self)}
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        return replace(self, **changes)
