"""What the deployer's tests and the changes' tests share: a ledger bound to one DAO, a clock the
tests move by hand, recording a DeployEvent, the Spheron emulator, deployers on it and on an
emulator whose orders never settle (for the deploy timeout), and a replica that takes a row over
once another replica's claim on it expires."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from services.bot.deployer import SOLE_REPLICA, Deployer, DeployerOptions
from services.bot.ledger import Ledger, NewEvent
from services.bot.metrics import BotMetrics
from services.spec.model import spec_hash
from services.spec.policy import DeployPolicy
from services.targets.base import DeployTarget
from services.targets.spheron import SpheronTarget
from testbed.waiting import wait_until

CHAIN_ID = 1337
DAO = "0x" + "ab" * 20


class Clock:
    """Unix time the tests move by hand (the deployer stores it in the ledger)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite3", chain_id=CHAIN_ID, dao_address=DAO) as opened:
        yield opened


@pytest.fixture
def record(ledger):
    """`record(proposal_id, json, block=None, log_index=0)` records one DeployEvent, in block
    `block` (default 10 + proposal id)."""

    def _record(
        proposal_id: int, spec_json: str, *, block: int | None = None, log_index: int = 0
    ) -> None:
        block = 10 + proposal_id if block is None else block
        event = NewEvent(
            proposal_id=proposal_id,
            sender="0x" + "cd" * 20,
            spec_json=spec_json,
            spec_hash="0x" + spec_hash(spec_json).hex(),
            block_number=block,
            tx_hash="0x" + f"{proposal_id:064x}",
            log_index=log_index,
        )
        ledger.record_batch([event], block)

    return _record


#: An image and tag whose orders end Failed on the `emulator` (how an update can fail to start).
FAILING_WEB_IMAGE = "nginx:fails-to-start"


@pytest.fixture
def emulator(spheron_emulator_factory):
    return spheron_emulator_factory(fail_images=["example/always-fails", FAILING_WEB_IMAGE])


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def make_deployer(ledger, emulator, spheron_client_factory, clock):
    """`make_deployer(**options)`: a new deployer (what a start, a restart or a `--once` run
    makes) on the `emulator` by default, with the test's clock and a 60 s deploy timeout."""

    def make(
        *,
        dry_run: bool = False,
        policy: DeployPolicy | None = None,
        environ: dict[str, str] | None = None,
        target: DeployTarget | str | None = "default",
        timeout: float = 60.0,
        margin: float = 5.0,
        metrics: BotMetrics | None = None,
        client_timeout: float = 2,
        replica: str = SOLE_REPLICA,
        lease: float = 30.0,
    ) -> Deployer:
        if target == "default":
            target = SpheronTarget(spheron_client_factory(emulator, timeout_s=client_timeout))
        options = DeployerOptions(
            chain_id=CHAIN_ID,
            dao_address=DAO,
            dry_run=dry_run,
            deploy_timeout_s=timeout,
            inflight_margin_s=margin,
            replica_id=replica,
            lease_s=lease,
        )
        return Deployer(
            ledger,
            target,
            policy or DeployPolicy(),
            metrics or BotMetrics(),
            options,
            environ=environ or {},
            clock=clock,
        )

    return make


#: The deploy timeout of `unsettled_deployer`.
UNSETTLED_TIMEOUT_S = 30


@pytest.fixture
def unsettled_deployer(make_deployer, spheron_emulator_factory, spheron_client_factory):
    """`unsettled_deployer(metrics=None)`: a new deployer on an emulator whose orders stay Queued
    for an hour, with a 30 s deploy timeout."""
    slow = spheron_emulator_factory(queued_s=3600, pending_s=3600)

    def make(metrics: BotMetrics | None = None) -> Deployer:
        target = SpheronTarget(spheron_client_factory(slow))
        return make_deployer(target=target, timeout=UNSETTLED_TIMEOUT_S, metrics=metrics)

    return make


@contextmanager
def taken_over_when_expired(ledger: Ledger, proposal_id: int, replica: str) -> Iterator[None]:
    """While the block runs, `replica` claims the row as soon as the current claim expires
    (another replica taking over a slow one); the takeover has happened when the block ends."""

    def take_over() -> None:
        wait_until(
            lambda: ledger.claim(proposal_id, replica, lease_s=30),
            timeout_s=5,
            what="the claim to expire",
            interval_s=0.05,
        )

    thief = threading.Thread(target=take_over)
    thief.start()
    try:
        yield
    finally:
        thief.join()
