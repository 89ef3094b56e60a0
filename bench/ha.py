"""Replicas on PostgreSQL: failover time, and the ledger's throughput on both backends.

**Failover.** Two `ape run watcher` replicas share a PostgreSQL ledger (a throwaway cluster),
reading the Etherscan stand-in and deploying to the Spheron emulator, with `--status-port 0`.
Each trial finds the leader through `/healthz`, kills it with SIGKILL, and measures wall-clock
time until the other replica's `/healthz` says it leads *and* has completed a poll since the kill
(it read the chain); then a new replica replaces the killed one. The bound to meet is the lease
(`DEPLOYBOT_LEASE`) plus one poll interval.

**Throughput.** One process, the ledger only (no outside service): events recorded in batches of
100 (`record_batch`), and whole row lifecycles as the deployer writes them (claim, CREATING,
CREATED, DEPLOYED: four write transactions each), on a SQLite file and on PostgreSQL on loopback.
"""

from __future__ import annotations

import hashlib
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from services.bot.ledger import Ledger, NewEvent
from testbed.bot_process import WatcherProcess, watcher_environment
from testbed.emulators.etherscan import EtherscanStandIn, GeneratedLogs
from testbed.emulators.spheron import SpheronEmulator
from testbed.postgres import PostgresServer
from testbed.waiting import wait_until

CHAIN_ID = 11155111
DAO = "0x" + "5d" * 20
SENDER = "0x" + "a1" * 20
ETHERSCAN_KEY = "bench-etherscan-key"
SPHERON_TOKEN = "bench-spheron-token"
BATCH = 100


def measure_ha(
    *, trials: int = 5, poll_interval_s: float = 1.0, lease_s: float = 10.0, rows: int = 1000
) -> dict[str, Any]:
    with PostgresServer() as server:
        figures = measure_failover(
            server, trials=trials, poll_interval_s=poll_interval_s, lease_s=lease_s
        )
        figures.update(measure_ledger_throughput(server, rows=rows))
    return figures


def measure_failover(
    server: PostgresServer, *, trials: int, poll_interval_s: float, lease_s: float
) -> dict[str, Any]:
    samples: list[float] = []
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-ha-") as workdir:
        scan = stack.enter_context(
            EtherscanStandIn(
                api_key=ETHERSCAN_KEY, chain_id=CHAIN_ID, log_source=GeneratedLogs(head=10)
            )
        )
        spheron = stack.enter_context(SpheronEmulator(token=SPHERON_TOKEN))
        env = watcher_environment(
            {
                "DAO_CONTRACT_ADDRESS": DAO,
                "ETHERSCAN_API_KEY": ETHERSCAN_KEY,
                "ETHERSCAN_API_URL": scan.url,
                "ETHERSCAN_CALLS_PER_SECOND": "100",
                "SPHERON_ACCESS_TOKEN": SPHERON_TOKEN,
                "SPHERON_API_URL": spheron.url,
                "DEPLOYBOT_DB": server.create_database(),
                "DEPLOYBOT_LEASE": str(lease_s),
            }
        )
        args = [
            "--network",
            "ethereum:sepolia",
            "--source",
            "etherscan",
            "--poll-interval",
            str(poll_interval_s),
            "--status-port",
            "0",
        ]
        started: list[WatcherProcess] = []

        def start() -> WatcherProcess:
            log = Path(workdir) / f"replica-{len(started) + 1}.log"
            replica = WatcherProcess(args, env, log).start()
            started.append(replica)
            stack.callback(replica.kill)
            wait_until(replica.health, timeout_s=120, what="a replica's status server")
            return replica

        replicas = [start(), start()]
        for _ in range(trials):
            leader = wait_until(
                lambda pair=replicas: _sole_leader(pair), timeout_s=60, what="exactly one leader"
            )
            (other,) = [r for r in replicas if r is not leader]
            killed_at = time.time()
            leader.kill()

            def took_over(replica: WatcherProcess = other, since: float = killed_at) -> bool:
                body = replica.health()
                return bool(
                    body
                    and body["replica"]["role"] == "leader"
                    and (body["last_successful_poll"] or 0) > since
                )

            wait_until(took_over, timeout_s=lease_s + 60, what="the other replica to lead")
            samples.append(time.time() - killed_at)
            replicas = [other, start()]
    return {
        "ha.failover_trials": len(samples),
        "ha.failover_s_median": round(statistics.median(samples), 3),
        "ha.failover_s_max": round(max(samples), 3),
        "ha.lease_s": lease_s,
        "ha.poll_interval_s": poll_interval_s,
    }


def measure_ledger_throughput(server: PostgresServer, *, rows: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"ha.ledger_rows": rows}
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as workdir:
        locations = {
            "sqlite": Path(workdir) / "ledger.sqlite3",
            "postgresql": server.create_database(),
        }
        for backend, location in locations.items():
            with Ledger(location, chain_id=CHAIN_ID, dao_address=DAO) as ledger:
                events = [_event(pid) for pid in range(1, rows + 1)]
                started = time.perf_counter()
                for first in range(0, rows, BATCH):
                    ledger.record_batch(events[first : first + BATCH], first + BATCH)
                recorded = time.perf_counter() - started
                started = time.perf_counter()
                for pid in range(1, rows + 1):
                    ledger.claim(pid, "bench", lease_s=60)
                    ledger.mark_creating(pid, f"dao-{pid}", in_flight_until=1.0, claimed_by="bench")
                    ledger.mark_created(pid, f"inst-{pid}", f"order-{pid}", at=1.0)
                    ledger.mark_deployed(pid, "Deployed", [f"https://{pid}.example"])
                lifecycles = time.perf_counter() - started
            figures[f"ha.ledger.{backend}.record_events_per_s"] = round(rows / recorded)
            figures[f"ha.ledger.{backend}.lifecycles_per_s"] = round(rows / lifecycles)
    return figures


def _event(proposal_id: int) -> NewEvent:
    spec = f'{{"clusterName":"c{proposal_id}"}}'
    return NewEvent(
        proposal_id=proposal_id,
        sender=SENDER,
        spec_json=spec,
        spec_hash="0x" + hashlib.sha256(spec.encode()).hexdigest(),
        block_number=100 + proposal_id,
        tx_hash=f"0x{proposal_id:064x}",
        log_index=0,
    )


def _sole_leader(replicas: list[WatcherProcess]) -> WatcherProcess | None:
    leaders = [replica for replica in replicas if replica.role() == "leader"]
    return leaders[0] if len(leaders) == 1 else None
