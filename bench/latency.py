"""Latency of the deploy bot: from a mined `executeProposal` to Spheron's create request.

On a fresh anvil node: deploy SpheronDevsNFT and SpheronDevsDAO, mint, create `proposals`
proposals (valid specs), vote them through and end their voting period. Then start
`ape run watcher --source rpc --poll-interval P --confirmations 0` against the chain and a local
Spheron emulator, wait for its first poll, and execute the proposals one at a time, each after a
random wait in [0, P) so executions land at random points of the poll cycle.

Each sample is wall-clock time: the emulator's arrival `time.time()` of the create request for that
proposal's instance name minus `time.time()` taken right after the execute receipt was mined.
Block timestamps are not used: they have one-second resolution and the chain's clock was moved
forward to end the voting period.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from bench.contracts import NFT_PRICE_WEI, VOTING_PERIOD_S, deploy_spheron
from bench.gas import SPHERON_CONTRACTS
from bench.specs import spec_json
from services.bot.deployer import deployment_name
from testbed.anvil import Anvil
from testbed.bot_process import WatcherProcess, watcher_environment
from testbed.contracts import Chain, load_artifacts
from testbed.emulators.spheron import SpheronEmulator
from testbed.waiting import WaitTimeout, wait_until

SPHERON_TOKEN = "bench-spheron-token"
SPEC_BYTES = 1024
_FOR = 1


class LatencyError(RuntimeError):
    """A create request never reached the emulator in time."""


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0..100) with linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def measure_latency(
    proposals: int = 10,
    poll_interval_s: float = 1.0,
    *,
    seed: int = 7,
    startup_timeout_s: float = 120.0,
    create_timeout_s: float = 30.0,
) -> dict[str, float | int]:
    """`bot.latency_p50_s`, `bot.latency_p95_s` (and the samples) with a watcher polling every
    `poll_interval_s`."""
    rng = random.Random(seed)
    with ExitStack() as stack:
        anvil = stack.enter_context(Anvil())
        chain = Chain(anvil.url)
        owner, member = chain.accounts[:2]
        contracts = deploy_spheron(chain, load_artifacts(SPHERON_CONTRACTS), owner, max_supply=10)
        dao = contracts.dao
        chain.transact(contracts.nft.functions.mint(1), sender=member, value=NFT_PRICE_WEI)
        chain.mine()
        first_id = dao.functions.numProposals().call() + 1
        specs = {}
        for offset in range(proposals):
            spec = spec_json(SPEC_BYTES, cluster=f"latency-{offset}")
            chain.transact(dao.functions.createProposal(spec), sender=member)
            specs[first_id + offset] = spec
        for proposal_id in specs:
            chain.transact(dao.functions.voteOnProposal(proposal_id, _FOR), sender=member)
        chain.advance(VOTING_PERIOD_S + 1)

        emulator = stack.enter_context(
            SpheronEmulator(token=SPHERON_TOKEN, queued_s=0.05, pending_s=0.05)
        )
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-latency-")))
        ledger_path = workdir / "ledger.sqlite3"
        env = watcher_environment(
            {
                "DAO_CONTRACT_ADDRESS": dao.address,
                "SPHERON_API_URL": emulator.url,
                "SPHERON_ACCESS_TOKEN": SPHERON_TOKEN,
                "DEPLOYBOT_DB": str(ledger_path),
            }
        )
        args = [
            "--network",
            anvil.network_choice,
            "--source",
            "rpc",
            "--poll-interval",
            str(poll_interval_s),
            "--confirmations",
            "0",
        ]
        watcher = stack.enter_context(WatcherProcess(args, env, workdir / "watcher.log"))
        watcher.wait_until_polling(ledger_path, startup_timeout_s)

        samples = []
        chain_id = chain.chain_id
        for proposal_id, spec in specs.items():
            time.sleep(rng.uniform(0, poll_interval_s))
            chain.transact(dao.functions.executeProposal(proposal_id, spec), sender=member)
            mined_at = time.time()
            name = deployment_name(chain_id, dao.address, proposal_id)
            arrived_at = _wait_for_create(emulator, name, create_timeout_s, watcher)
            samples.append(arrived_at - mined_at)
    return {
        "bot.latency_p50_s": statistics.median(samples),
        "bot.latency_p95_s": percentile(samples, 95),
        "bot.latency_samples": len(samples),
        "bot.poll_interval_s": poll_interval_s,
    }


def _wait_for_create(
    emulator: SpheronEmulator, name: str, timeout_s: float, watcher: WatcherProcess
) -> float:
    """The arrival time (`time.time()`) of the first create request for instance `name`."""

    def arrived() -> float | None:
        for entry in emulator.request_log():
            body = entry.get("body")
            if isinstance(body, dict) and body.get("instanceName") == name:
                return float(entry["time"])
        if not watcher.running:
            raise LatencyError(f"the watcher exited:\n{watcher.log_tail()}")
        return None

    try:
        return wait_until(
            arrived, timeout_s=timeout_s, what=f"a create for {name}", interval_s=0.01
        )
    except WaitTimeout:
        raise LatencyError(
            f"no create request for {name} within {timeout_s} s:\n{watcher.log_tail()}"
        ) from None
