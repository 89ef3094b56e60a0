"""The project's targets, checked against the figures (reported as met/missed, never enforced),
and the printed tables."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.peer_oz import OPERATIONS as PEER_OPERATIONS
from bench.peer_oz import PREFIX as PEER_PREFIX
from bench.peer_oz import VARIANTS as PEER_VARIANTS

Results = Mapping[str, Any]

MET = "met"
MISSED = "missed"
NOT_MEASURED = "n/a"

#: Etherscan calls allowed per this many backfilled events.
CALLS_PER_EVENTS = (12, 10_000)
LATENCY_SLACK_S = 0.5
#: Most HTTP requests the web app may send to the RPC to show its proposal list.
RENDER_ROUND_TRIPS = 3


@dataclass(frozen=True)
class Target:
    """`check(value, results)` says whether the target is met; it may read other figures."""

    metric: str
    text: str
    check: Callable[[Any, Results], bool]


@dataclass(frozen=True)
class Row:
    metric: str
    value: str
    target: str
    baseline_ratio: str
    status: str


def _ratio(results: Results, metric: str) -> float:
    return results[metric] / results[metric.replace("gas.", "gas.baseline.", 1)]


def _calls_per_events(calls: Any, results: Results) -> bool:
    allowed, per = CALLS_PER_EVENTS
    return calls * per <= allowed * results["bot.backfill_events"]


TARGETS: tuple[Target, ...] = (
    Target(
        "gas.create_proposal_1kb",
        "<= 120,000 and <= 15% of baseline",
        lambda v, r: v <= 120_000 and _ratio(r, "gas.create_proposal_1kb") <= 0.15,
    ),
    Target("gas.vote_1nft", "<= 65,000", lambda v, _r: v <= 65_000),
    Target(
        "gas.vote_50nft",
        "<= 65,000 and = vote_1nft",
        lambda v, r: v <= 65_000 and v == r["gas.vote_1nft"],
    ),
    Target(
        "gas.execute_1kb",
        "<= 75,000 and <= 55% of baseline",
        lambda v, r: v <= 75_000 and _ratio(r, "gas.execute_1kb") <= 0.55,
    ),
    Target("bot.backfill_events_per_s", ">= 1,000", lambda v, _r: v >= 1_000),
    Target(
        "bot.backfill_etherscan_calls",
        f"<= {CALLS_PER_EVENTS[0]} per {CALLS_PER_EVENTS[1]:,} events",
        _calls_per_events,
    ),
    Target(
        "bot.latency_p50_s",
        f"<= poll interval + {LATENCY_SLACK_S} s",
        lambda v, r: v <= r["bot.poll_interval_s"] + LATENCY_SLACK_S,
    ),
    Target("webapp.first_render_100_ms", "<= 1,000 ms", lambda v, _r: v <= 1_000),
    Target(
        "webapp.rpc_requests_100",
        f"<= {RENDER_ROUND_TRIPS} and = rpc_requests_10",
        lambda v, r: v <= RENDER_ROUND_TRIPS and v == r["webapp.rpc_requests_10"],
    ),
    Target("webapp.bundle_gzip_kib", "<= 150 KiB", lambda v, _r: v <= 150),
    Target(
        "ha.failover_s_max",
        "<= lease + poll interval",
        lambda v, r: v <= r["ha.lease_s"] + r["ha.poll_interval_s"],
    ),
)

#: Table order; metrics without a target are shown for information.
METRICS: tuple[str, ...] = (
    "gas.create_proposal_1kb",
    "gas.vote_1nft",
    "gas.vote_50nft",
    "gas.execute_1kb",
    "gas.mint_1",
    "gas.baseline.create_proposal_1kb",
    "gas.baseline.vote_1nft",
    "gas.baseline.vote_50nft",
    "gas.baseline.execute_1kb",
    "gas.baseline.mint_1",
    "bot.backfill_events",
    "bot.backfill_events_per_s",
    "bot.backfill_seconds",
    "bot.backfill_etherscan_calls",
    "bot.backfill_spheron",
    "bot.peak_rss_mb",
    "bot.poll_interval_s",
    "bot.latency_samples",
    "bot.latency_p50_s",
    "bot.latency_p95_s",
    "webapp.first_render_10_ms",
    "webapp.first_render_100_ms",
    "webapp.rpc_requests_10",
    "webapp.rpc_requests_100",
    "webapp.rpc_calls_100",
    "webapp.bundle_kib",
    "webapp.bundle_gzip_kib",
    "ha.lease_s",
    "ha.poll_interval_s",
    "ha.failover_trials",
    "ha.failover_s_median",
    "ha.failover_s_max",
    "ha.ledger_rows",
    "ha.ledger.sqlite.record_events_per_s",
    "ha.ledger.sqlite.lifecycles_per_s",
    "ha.ledger.postgresql.record_events_per_s",
    "ha.ledger.postgresql.lifecycles_per_s",
)

_BY_METRIC = {target.metric: target for target in TARGETS}


def status_of(target: Target, results: Results) -> str:
    """`met`, `missed`, or `n/a` when a figure the target needs was not measured."""
    if target.metric not in results:
        return NOT_MEASURED
    try:
        return MET if target.check(results[target.metric], results) else MISSED
    except (KeyError, ZeroDivisionError):
        return NOT_MEASURED


def evaluate(results: Results) -> list[Row]:
    """One row per metric in `METRICS`, with its target and status where it has one."""
    rows = []
    for metric in METRICS:
        target = _BY_METRIC.get(metric)
        rows.append(
            Row(
                metric=metric,
                value=format_value(results.get(metric)),
                target=target.text if target else "",
                baseline_ratio=_baseline_ratio(results, metric),
                status=status_of(target, results) if target else "",
            )
        )
    return rows


def target_summary(results: Results) -> dict[str, dict[str, str]]:
    """`{metric: {"target": text, "status": met|missed|n/a}}` for results.json."""
    return {t.metric: {"target": t.text, "status": status_of(t, results)} for t in TARGETS}


def _baseline_ratio(results: Results, metric: str) -> str:
    if not metric.startswith("gas.") or metric.startswith("gas.baseline."):
        return ""
    try:
        return f"{_ratio(results, metric):.1%}"
    except (KeyError, ZeroDivisionError):
        return ""


def format_value(value: Any) -> str:
    if value is None:
        return "not measured"
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.1f}"
    return str(value)


def format_table(rows: list[Row]) -> str:
    """A plain-text table: metric, value, target, vs baseline, status."""
    header = ("metric", "value", "target", "vs baseline", "status")
    cells = [[getattr(row, field) for field in Row.__dataclass_fields__] for row in rows]
    return _render(header, cells, "<><><")


#: What each `gas.peer_oz` operation is, for the printed table.
PEER_LABELS: dict[str, str] = {
    "propose_1kb": "propose, 1 KB spec",
    "vote_first_1nft": "first vote on a proposal, 1 NFT",
    "vote_first_50nft": "first vote on a proposal, 50 NFTs",
    "vote_later_1nft": "later vote, 1 NFT",
    "vote_later_50nft": "later vote, 50 NFTs",
    "execute_1kb": "execute, 1 KB spec",
    "lifecycle_1vote": "propose + 1 vote + execute",
    "lifecycle_10votes": "propose + 10 votes + execute",
}


def format_peer_table(results: Results) -> str:
    """This project beside OpenZeppelin Governor (`gas.peer_oz.*`): one row per operation, with
    the Governor carrying the JSON in calldata and in the description, and this project's figure
    as a fraction of each."""
    header = (
        "gas vs OpenZeppelin Governor",
        "this project",
        "Governor, JSON in calldata",
        "this ÷ it",
        "Governor, JSON in description",
        "this ÷ it",
    )
    rows = []
    for op in PEER_OPERATIONS:
        row = [PEER_LABELS[op], format_value(results.get(f"{PEER_PREFIX}spheron.{op}"))]
        for variant in PEER_VARIANTS:
            ratio = results.get(f"{PEER_PREFIX}ratio.{variant}.{op}")
            row.append(format_value(results.get(f"{PEER_PREFIX}{variant}.{op}")))
            row.append("" if ratio is None else f"{ratio:.1%}")
        rows.append(row)
    return _render(header, rows, "<>>>>>")


def _render(header: Sequence[str], rows: Sequence[Sequence[str]], aligns: str) -> str:
    """Columns padded to their widest cell (`aligns`: one `<` or `>` per column), a rule under
    the header."""
    table = [header, *rows]
    widths = [max(len(row[column]) for row in table) for column in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            f"{cell:{align}{width}}"
            for cell, align, width in zip(cells, aligns, widths, strict=True)
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])
