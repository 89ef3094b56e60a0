"""Fault injection: the fault plan API requests are subject to, and the per-request draws."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields
from typing import Any

from testbed.emulators.spheron.constants import JsonDict

PAGING_MODES = ("honour", "ignore", "ignore_skip")


@dataclass(frozen=True)
class FaultPlan:
    """Faults applied to API requests (`/v1/...`; never `/status` or `/emulator/...`).

    For each kind, `*_next` affects the next N requests and `*_rate` each request with that
    probability; only requests whose path starts with `path` count. The kinds: `drop` closes the
    connection without answering (the request is not processed); `drop_response` processes the
    request, then closes without answering; `error` answers `error_status`; `delay` waits
    `delay_s` before handling (so a delayed create completes after a client that gave up). A
    `seed` makes the draws repeatable.

    `paging` is how list endpoints treat `skip`/`limit`: `honour` (the API), `ignore` (the whole
    list every time) or `ignore_skip` (the first `limit` items every time).
    """

    error_status: int = 503
    error_next: int = 0
    error_rate: float = 0.0
    drop_next: int = 0
    drop_rate: float = 0.0
    drop_response_next: int = 0
    delay_s: float = 0.0
    delay_next: int = 0
    delay_rate: float = 0.0
    seed: int | None = None
    path: str = ""
    paging: str = "honour"

    def __post_init__(self) -> None:
        if self.paging not in PAGING_MODES:
            raise ValueError(f"paging must be one of {', '.join(PAGING_MODES)}")
        if not 500 <= self.error_status <= 599:
            raise ValueError(f"error_status must be a 5xx status, got {self.error_status}")
        for name in ("error_next", "drop_next", "drop_response_next", "delay_next"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        for name in ("error_rate", "drop_rate", "delay_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.delay_s < 0:
            raise ValueError("delay_s must be >= 0")

    @classmethod
    def from_json(cls, data: Any) -> FaultPlan:
        if not isinstance(data, dict):
            raise ValueError("the fault plan must be a JSON object")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown fault setting(s): {unknown}; known: {sorted(known)}")
        for name, value in data.items():
            wanted = (int,) if name.endswith(("_next", "_status")) else (int, float)
            if (name == "seed" and value is None) or (
                name in ("path", "paging") and isinstance(value, str)
            ):
                continue
            if isinstance(value, bool) or not isinstance(value, wanted):
                raise ValueError(f"{name} must be a number")
        return cls(**data)


@dataclass(frozen=True)
class Fault:
    """What happens to one API request; `describe()` is its entry in the request log."""

    delay_s: float = 0.0
    drop: bool = False
    error_status: int | None = None
    drop_response: bool = False

    def describe(self) -> str | None:
        parts = [f"delay {self.delay_s:g}s"] if self.delay_s else []
        if self.drop:
            parts.append("drop")
        if self.error_status:
            parts.append(f"HTTP {self.error_status}")
        if self.drop_response:
            parts.append("drop-response")
        return ", ".join(parts) or None


class FaultInjector:
    """Decides each request's fault; callers hold the emulator's lock."""

    def __init__(self, plan: FaultPlan) -> None:
        self.set(plan)

    def set(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._rng = random.Random(plan.seed)
        self._left = {
            "error": plan.error_next,
            "drop": plan.drop_next,
            "drop_response": plan.drop_response_next,
            "delay": plan.delay_next,
        }

    def snapshot(self) -> JsonDict:
        return {"plan": asdict(self.plan), "remaining": dict(self._left)}

    def _hit(self, kind: str, rate: float) -> bool:
        if self._left.get(kind, 0) > 0:
            self._left[kind] -= 1
            return True
        return rate > 0 and self._rng.random() < rate

    def decide(self, path: str) -> Fault:
        plan = self.plan
        if not path.startswith(plan.path):
            return Fault()
        delay = plan.delay_s if self._hit("delay", plan.delay_rate) else 0.0
        if self._hit("drop", plan.drop_rate):
            return Fault(delay_s=delay, drop=True)
        if self._hit("error", plan.error_rate):
            return Fault(delay_s=delay, error_status=plan.error_status)
        return Fault(delay_s=delay, drop_response=self._hit("drop_response", 0.0))
