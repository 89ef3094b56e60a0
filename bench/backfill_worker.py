"""One bot backfill, run as its own process so that its peak memory is the bot's alone.

    BENCH_ETHERSCAN_API_KEY=... python -m bench.backfill_worker --api-url URL --chain-id N \
        --dao 0x... --ledger /tmp/x.sqlite3

Builds the bot's real path — `EtherscanLogSource` → `Watcher` (decode, ledger recording) →
`Deployer` validation — with the Deployer in dry run (no Spheron target), runs one poll from
block 0 to the stand-in's head, and prints one JSON object: events recorded, rows planned,
rejected, elapsed seconds of the poll and its peak resident memory in MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from services.bot.deployer import Deployer, DeployerOptions
from services.bot.ledger import DeploymentState, Ledger
from services.bot.metrics import BotMetrics
from services.bot.watcher import Watcher, WatchOptions
from services.chain.etherscan import MAX_PAGE_SIZE, EtherscanClient
from services.chain.log_sources import EtherscanLogSource
from services.spec.policy import load_policy

API_KEY_VARIABLE = "BENCH_ETHERSCAN_API_KEY"
STATUS_FILE = Path("/proc/self/status")

#: No client-side rate limit: the benchmark measures the bot, not Etherscan's quota.
UNLIMITED_CALLS_PER_SECOND = 1_000_000.0


def run_backfill(
    api_url: str, api_key: str, chain_id: int, dao: str, ledger_path: Path, page_size: int
) -> dict[str, float | int]:
    """One poll over everything the stand-in serves; the figures of that poll."""
    metrics = BotMetrics()
    client = EtherscanClient(
        api_url, api_key, chain_id, calls_per_second=UNLIMITED_CALLS_PER_SECOND, max_retries=0
    )
    with client, Ledger(ledger_path, chain_id=chain_id, dao_address=dao) as ledger:
        source = EtherscanLogSource(client, dao, page_size=page_size)
        deployer = Deployer(
            ledger,
            None,
            load_policy(None),
            metrics,
            DeployerOptions(chain_id=chain_id, dao_address=dao, dry_run=True),
            environ={},
        )
        options = WatchOptions(confirmations=0, poll_interval_s=1.0, start_block=0)
        watcher = Watcher(source, ledger, deployer, metrics, options, threading.Event())
        started = time.perf_counter()
        watcher.poll()
        elapsed = time.perf_counter() - started
        counts = ledger.counts_by_state()
    return {
        "recorded": sum(counts.values()),
        "planned": counts.get(DeploymentState.PLANNED, 0),
        "rejected": counts.get(DeploymentState.REJECTED, 0),
        "elapsed_s": elapsed,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _peak_rss_mb() -> float:
    """This process's peak resident memory in MiB.

    On Linux `ru_maxrss` is not this program's own figure: the kernel carries the high-water mark
    of the parent's memory, copied at fork, across exec, so a large parent (the benchmark, with Ape
    and 10,000 generated logs loaded) would show through. `VmHWM` in /proc/self/status belongs
    to the address space created at exec, so it is read first; `ru_maxrss` is the fallback.
    """
    try:
        for line in STATUS_FILE.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes / KiB


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--chain-id", type=int, required=True)
    parser.add_argument("--dao", required=True)
    parser.add_argument("--ledger", type=Path, required=True)
    parser.add_argument("--page-size", type=int, default=MAX_PAGE_SIZE)
    args = parser.parse_args(argv)
    api_key = os.environ.get(API_KEY_VARIABLE)
    if not api_key:
        parser.error(f"{API_KEY_VARIABLE} is not set")
    figures = run_backfill(
        args.api_url, api_key, args.chain_id, args.dao, args.ledger, args.page_size
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
