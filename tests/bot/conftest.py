"""What the deployer's tests and the changes' tests share: a ledger bound to one DAO, a clock the
tests move by hand, recording a DeployEvent, the Spheron emulator, and a deployer on an emulator
whose orders never settle (for the deploy timeout)."""

from __future__ import annotations

import time

import pytest

from services.bot.deployer import Deployer, DeployerOptions
from services.bot.ledger import Ledger, NewEvent
from services.bot.metrics import BotMetrics
from services.spec.model import spec_hash
from services.spec.policy import DeployPolicy
from services.targets.spheron import SpheronTarget

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
    """`record(proposal_id, json)` records one DeployEvent, in block 10 + proposal id."""

    def _record(proposal_id: int, spec_json: str) -> None:
        event = NewEvent(
            proposal_id=proposal_id,
            sender="0x" + "cd" * 20,
            spec_json=spec_json,
            spec_hash="0x" + spec_hash(spec_json).hex(),
            block_number=10 + proposal_id,
            tx_hash="0x" + f"{proposal_id:064x}",
            log_index=0,
        )
        ledger.record_batch([event], 10 + proposal_id)

    return _record


@pytest.fixture
def emulator(spheron_emulator_factory):
    return spheron_emulator_factory(fail_images=["example/always-fails"])


@pytest.fixture
def clock():
    return Clock()


#: The deploy timeout of `unsettled_deployer`.
UNSETTLED_TIMEOUT_S = 30


@pytest.fixture
def unsettled_deployer(ledger, spheron_emulator_factory, spheron_client_factory, clock):
    """`unsettled_deployer(metrics=None)`: a new deployer (what a restart or a `--once` run
    makes) on an emulator whose orders stay Queued for an hour, with a 30 s deploy timeout."""
    slow = spheron_emulator_factory(queued_s=3600, pending_s=3600)

    def make(metrics: BotMetrics | None = None) -> Deployer:
        return Deployer(
            ledger,
            SpheronTarget(spheron_client_factory(slow)),
            DeployPolicy(),
            metrics or BotMetrics(),
            DeployerOptions(
                chain_id=CHAIN_ID, dao_address=DAO, deploy_timeout_s=UNSETTLED_TIMEOUT_S
            ),
            environ={},
            clock=clock,
        )

    return make
