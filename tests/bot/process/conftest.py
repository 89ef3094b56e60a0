"""Fixtures for running `ape run watcher` as its own process against loopback stand-ins."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from testbed.bot_process import WatcherProcess, watcher_environment
from testbed.emulators.etherscan import EtherscanStandIn, GeneratedLogs
from testbed.emulators.spheron import SpheronEmulator
from testbed.waiting import wait_until

#: Distinctive values, so that a leak into any output is easy to find.
ETHERSCAN_KEY = "itest-etherscan-key-Q7wX2p"
SPHERON_TOKEN = "itest-spheron-token-M4kR9z"
DB_PASSWORD = "itest-db-password-T6yH1c"
SECRETS = (ETHERSCAN_KEY, SPHERON_TOKEN, DB_PASSWORD)

SEPOLIA_CHAIN_ID = 11155111
SPHERON_TIMEOUT_S = 2
INFLIGHT_MARGIN_S = 2
DAO = "0x" + "5d" * 20
SENDER = "0x" + "a1" * 20


@pytest.fixture
def generated_chain() -> GeneratedLogs:
    return GeneratedLogs(head=10)


@pytest.fixture
def etherscan_standin(generated_chain) -> Iterator[EtherscanStandIn]:
    with EtherscanStandIn(
        api_key=ETHERSCAN_KEY, chain_id=SEPOLIA_CHAIN_ID, log_source=generated_chain
    ) as server:
        yield server


@pytest.fixture
def spheron() -> Iterator[SpheronEmulator]:
    with SpheronEmulator(token=SPHERON_TOKEN, queued_s=0.05, pending_s=0.05) as emulator:
        yield emulator


@pytest.fixture
def bot_env(tmp_path, etherscan_standin, spheron) -> dict[str, str]:
    return watcher_environment(
        {
            "DAO_CONTRACT_ADDRESS": DAO,
            "ETHERSCAN_API_KEY": ETHERSCAN_KEY,
            "ETHERSCAN_API_URL": etherscan_standin.url,
            "ETHERSCAN_CALLS_PER_SECOND": "100",
            "SPHERON_ACCESS_TOKEN": SPHERON_TOKEN,
            "SPHERON_API_URL": spheron.url,
            "DEPLOYBOT_DB": str(tmp_path / "ledger.sqlite3"),
            "DAO_SECRET_DB_PASSWORD": DB_PASSWORD,
            # Short in-flight windows (2 s timeout + 2 s margin) keep retries quick in tests.
            "SPHERON_TIMEOUT": str(SPHERON_TIMEOUT_S),
            "DEPLOYBOT_INFLIGHT_MARGIN": str(INFLIGHT_MARGIN_S),
        }
    )


@pytest.fixture
def start_bot(tmp_path, bot_env) -> Iterator[Callable[..., WatcherProcess]]:
    """`start_bot(*args, env=None)` starts `ape run watcher ARGS`; all are stopped at teardown."""
    started: list[WatcherProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> WatcherProcess:
        bot = WatcherProcess(list(args), env or bot_env, tmp_path / "bot.log").start()
        started.append(bot)
        return bot

    yield start
    for bot in started:
        bot.kill()


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    """`testbed.waiting.wait_until`, polling every 0.2 s (the tests' shorthand)."""
    wait_until(condition, timeout_s=timeout, what=what, interval_s=0.2)
