"""Fixtures for running `ape run watcher` as its own process against loopback stand-ins."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.emulators.etherscan import EtherscanStandIn, GeneratedLogs
from services.emulators.spheron import SpheronEmulator
from services.ledger import Ledger

ROOT = Path(__file__).resolve().parents[2]
APE = Path(sys.executable).with_name("ape")

#: Distinctive values, so that a leak into any output is easy to find.
ETHERSCAN_KEY = "itest-etherscan-key-Q7wX2p"
SPHERON_TOKEN = "itest-spheron-token-M4kR9z"
DB_PASSWORD = "itest-db-password-T6yH1c"
SECRETS = (ETHERSCAN_KEY, SPHERON_TOKEN, DB_PASSWORD)

SEPOLIA_CHAIN_ID = 11155111
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
def spheron(tmp_path) -> Iterator[SpheronEmulator]:
    with SpheronEmulator(token=SPHERON_TOKEN, queued_s=0.05, pending_s=0.05) as emulator:
        yield emulator


@pytest.fixture
def bot_env(tmp_path, etherscan_standin, spheron) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAO_", "DEPLOYBOT_"))}
    env.update(
        PATH=f"{APE.parent}{os.pathsep}{env.get('PATH', '')}",
        DAO_CONTRACT_ADDRESS=DAO,
        ETHERSCAN_API_KEY=ETHERSCAN_KEY,
        ETHERSCAN_API_URL=etherscan_standin.url,
        ETHERSCAN_CALLS_PER_SECOND="100",
        SPHERON_ACCESS_TOKEN=SPHERON_TOKEN,
        SPHERON_API_URL=spheron.url,
        DEPLOYBOT_DB=str(tmp_path / "ledger.sqlite3"),
        DAO_SECRET_DB_PASSWORD=DB_PASSWORD,
        PYTHONUNBUFFERED="1",
    )
    return env


class BotProcess:
    """One `ape run watcher` process; its output goes to a file that the test can scan."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [str(APE), "run", "watcher", *args],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill9(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._log.close()

    def terminate(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self._log.close()
        return code

    def wait(self, timeout: float) -> int:
        code = self.process.wait(timeout)
        self._log.close()
        return code

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.running:
            self.kill9()


@pytest.fixture
def start_bot(tmp_path, bot_env) -> Iterator[Callable[..., BotProcess]]:
    started: list[BotProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> BotProcess:
        bot = BotProcess(list(args), env or bot_env, tmp_path / "bot.log")
        started.append(bot)
        return bot

    yield start
    for bot in started:
        bot.stop()


def wait_for(condition: Callable[[], bool], timeout: float, what: str, poll: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def ledger_rows(path: str) -> list:
    if not Path(path).exists():
        return []
    with Ledger.open_readonly(path) as ledger:
        return ledger.rows()
