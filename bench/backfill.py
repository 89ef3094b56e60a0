"""Backfill throughput of the deploy bot over Etherscan (the local stand-in, no faults).

This process generates `events` DeployEvents (one per block, 1 to 5 blocks apart, each carrying a
1,024-byte valid spec) and serves them with `EtherscanStandIn`; `bench.backfill_worker`, a child
process, runs the bot's path over them once. Spheron is not part of the figure: the worker's
Deployer runs in dry run, so every event is decoded, recorded, validated and PLANNED.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.backfill_worker import API_KEY_VARIABLE
from bench.specs import spec_json
from testbed.emulators.etherscan import EtherscanStandIn, GeneratedLogs

ROOT = Path(__file__).resolve().parent.parent
DAO = "0x" + "da" * 20
SENDER = "0x" + "5e" * 20
CHAIN_ID = 11155111
API_KEY = "bench-standin-key"
FIRST_BLOCK = 1_000
SPHERON_EXCLUDED = "excluded (dry run)"


class BackfillError(RuntimeError):
    """The worker failed, or did not plan every event (the figure would not mean anything)."""


def generate_events(events: int, *, seed: int = 1, spec_bytes: int = 1024) -> GeneratedLogs:
    """A stand-in chain holding `events` DeployEvents of `DAO`, head just past the last one."""
    rng = random.Random(seed)
    spec = spec_json(spec_bytes)
    chain = GeneratedLogs()
    block = FIRST_BLOCK
    for proposal_id in range(1, events + 1):
        block += rng.randint(1, 5)
        chain.add_deploy_event(DAO, proposal_id, SENDER, "Deploy", spec, block_number=block)
    chain.head = block + 1
    return chain


def measure_backfill(
    events: int = 10_000, *, page_size: int = 1_000, seed: int = 1, timeout_s: float = 240.0
) -> dict[str, float | int | str]:
    """`bot.backfill_*` figures and `bot.peak_rss_mb` of the worker process."""
    chain = generate_events(events, seed=seed)
    env = {**os.environ, API_KEY_VARIABLE: API_KEY}
    with (
        EtherscanStandIn(api_key=API_KEY, chain_id=CHAIN_ID, log_source=chain) as standin,
        tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp,
    ):
        command = [
            sys.executable,
            "-m",
            "bench.backfill_worker",
            "--api-url",
            standin.url,
            "--chain-id",
            str(CHAIN_ID),
            "--dao",
            DAO,
            "--ledger",
            str(Path(tmp) / "ledger.sqlite3"),
            "--page-size",
            str(page_size),
        ]
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s
        )
        calls = sum(standin.stats()["calls"].values())
    if done.returncode != 0:
        raise BackfillError(f"backfill worker exited {done.returncode}: {done.stderr[-2000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    if figures["planned"] != events:
        raise BackfillError(
            f"the worker planned {figures['planned']} of {events} events "
            f"(recorded {figures['recorded']}, rejected {figures['rejected']})"
        )
    return {
        "bot.backfill_events": events,
        "bot.backfill_events_per_s": events / figures["elapsed_s"],
        "bot.backfill_seconds": figures["elapsed_s"],
        "bot.backfill_etherscan_calls": calls,
        "bot.backfill_spheron": SPHERON_EXCLUDED,
        "bot.peak_rss_mb": figures["peak_rss_mb"],
    }
