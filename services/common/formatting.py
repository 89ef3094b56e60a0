"""How numbers, amounts and times read in every message the project prints."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

WEI_PER_ETHER = 10**18


def format_number(value: float) -> str:
    """``2.0`` → ``"2"``, ``0.5`` → ``"0.5"``: how numbers appear in messages and summaries."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def format_utc(timestamp: int) -> str:
    """``1795480985`` → ``"2026-11-24 10:03:05 UTC"``."""
    moment = datetime.fromtimestamp(int(timestamp), tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def format_duration(seconds: int) -> str:
    """A length of time in at most two units: ``45 s``, ``5 min``, ``4 min 59 s``, ``2 h 5 min``,
    ``3 days 4 h``."""
    seconds = abs(int(seconds))
    units = (("day", 86_400), ("h", 3_600), ("min", 60), ("s", 1))
    parts: list[str] = []
    for name, size in units:
        amount, seconds = divmod(seconds, size)
        if amount and len(parts) < 2:
            label = f"{name}s" if name == "day" and amount != 1 else name
            parts.append(f"{amount} {label}")
        elif parts:
            break
    return " ".join(parts) or "0 s"


def format_relative(timestamp: int, now: int) -> str:
    """``"in 12 min"``, ``"3 h 2 min ago"`` or ``"now"``, relative to chain time ``now``."""
    delta = int(timestamp) - int(now)
    if delta == 0:
        return "now"
    return f"in {format_duration(delta)}" if delta > 0 else f"{format_duration(delta)} ago"


def format_when(timestamp: int, now: int | None) -> str:
    """``"2026-11-24 10:00:00 UTC (in 12 min)"``; the relative part only when ``now`` is known."""
    text = format_utc(timestamp)
    return text if now is None else f"{text} ({format_relative(timestamp, now)})"


def format_ether(wei: int) -> str:
    """``10**16`` → ``"0.01 ETH"``: exact, no float rounding."""
    amount = Decimal(int(wei)) / Decimal(WEI_PER_ETHER)
    text = format(amount.normalize(), "f") if amount else "0"
    return f"{text} ETH"


def plural(count: int, noun: str) -> str:
    """``plural(1, "vote")`` → ``"1 vote"``; ``plural(3, "vote")`` → ``"3 votes"``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
