"""End-to-end fixtures for the `ape run` scripts: one anvil node for the session, real `ape run`
subprocesses against it (several at once where they are independent: each costs a few seconds of
start-up), and web3 to read the chain state.

The fixtures are `ape.fixture(chain_isolation=False)`: they do not touch the in-process test
chain that `ape test` snapshots, so Ape must never re-create them when it rebases its snapshots.

The subprocesses use a temporary Ape data folder (with one encrypted keyfile account, alias
`keyuser`), and `DAO_CONTRACT_ADDRESS` / `NFT_CONTRACT_ADDRESS` set empty unless a test gives
them, so neither `~/.ape` nor a developer's `.env` changes what they see.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import ape
import pytest
from eth_account import Account
from web3 import Web3

from services.common import exit_codes
from testbed.anvil import Anvil

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
APE_TIMEOUT_S = 180

KEYFILE_ALIAS = "keyuser"
KEYFILE_PASSPHRASE = "e2e passphrase Kq7"
KEYFILE_KEY = "0x" + "5e" * 32
PASSPHRASE_VARIABLE = f"APE_ACCOUNTS_{KEYFILE_ALIAS}_PASSPHRASE"

# Ape's test accounts TEST::0..9 (anvil's default accounts, same mnemonic).
TEST_ADDRESSES = (
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
    "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
    "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
    "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
    "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
)


@dataclass
class ApeResult:
    """Exit code and output of one `ape run` process."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (
            f"$ {' '.join(self.args)}\n[exit {self.returncode}]\n--- stdout\n{self.stdout}"
            f"--- stderr\n{self.stderr}"
        )

    def fact(self, label: str) -> str:
        """The value of the `label: value` line in stdout."""
        for line in self.stdout.splitlines():
            if line.startswith(f"{label}: "):
                return line[len(label) + 2 :]
        raise AssertionError(f"no {label!r} line\n{self}")

    def single_error(self, code: int = exit_codes.FAILED) -> str:
        """Assert the run failed with exit code `code` (1, or 78 for a configuration error) and
        exactly one `error: ...` line on stderr and no traceback; return the message."""
        assert self.returncode == code, str(self)
        assert "Traceback" not in self.stderr + self.stdout, str(self)
        lines = [line for line in self.stderr.splitlines() if line.startswith("error: ")]
        assert len(lines) == 1, str(self)
        return lines[0][len("error: ") :]

    def ok(self) -> ApeResult:
        assert self.returncode == 0, str(self)
        return self


@dataclass
class Call:
    """One `ape run` invocation: script, arguments, and extra environment."""

    script: str
    args: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    stdin: str | None = None
    network: bool = True


class ApeRunner:
    """Runs `ape run` scripts in the project against one network."""

    def __init__(self, network_choice: str, env: Mapping[str, str]) -> None:
        self.network_choice = network_choice
        self.env = dict(env)

    def _command(self, call: Call) -> list[str]:
        command = [str(VENV_BIN / "ape"), "run", call.script, *call.args]
        if call.network:
            command += ["--network", self.network_choice]
        return command

    def run(self, script: str, *args: str, **options) -> ApeResult:
        return self.run_all([Call(script, args, **options)])[0]

    def run_all(self, calls: Sequence[Call]) -> list[ApeResult]:
        """Start every call at once, wait for all; every process is gone when this returns."""
        started: list[tuple[list[str], subprocess.Popen[str], str | None]] = []
        try:
            for call in calls:
                command = self._command(call)
                process = subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env={**self.env, **call.env},
                    stdin=subprocess.PIPE if call.stdin is not None else subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                started.append((command, process, call.stdin))
            results = []
            for command, process, stdin in started:
                stdout, stderr = process.communicate(stdin, timeout=APE_TIMEOUT_S)
                results.append(ApeResult(command, process.returncode, stdout, stderr))
            return results
        finally:
            for _, process, _ in started:
                if process.poll() is None:
                    process.kill()
                    process.wait()


@ape.fixture(scope="session", chain_isolation=False)
def anvil() -> Iterator[Anvil]:
    with Anvil() as node:
        yield node


@ape.fixture(scope="session", chain_isolation=False)
def keyfile_address() -> str:
    return Account.from_key(KEYFILE_KEY).address


@ape.fixture(scope="session", chain_isolation=False)
def ape_data_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Ape data folder holding one encrypted keyfile account."""
    folder = tmp_path_factory.mktemp("ape-data")
    (folder / "accounts").mkdir()
    keyfile = Account.encrypt(KEYFILE_KEY, KEYFILE_PASSPHRASE)
    (folder / "accounts" / f"{KEYFILE_ALIAS}.json").write_text(json.dumps(keyfile))
    return folder


@ape.fixture(scope="session", chain_isolation=False)
def script_env(ape_data_folder: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("APE_ACCOUNTS_") and key != "APE_DATA_FOLDER"
    }
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["APE_DATA_FOLDER"] = str(ape_data_folder)
    env["DAO_CONTRACT_ADDRESS"] = ""
    env["NFT_CONTRACT_ADDRESS"] = ""
    return env


@ape.fixture(scope="session", chain_isolation=False)
def ape_run(anvil: Anvil, script_env: dict[str, str]) -> ApeRunner:
    return ApeRunner(anvil.network_choice, script_env)


@ape.fixture(scope="session", chain_isolation=False)
def w3(anvil: Anvil) -> Web3:
    return Web3(Web3.HTTPProvider(anvil.url))


@ape.fixture(scope="session", chain_isolation=False)
def abis(project) -> dict[str, list[dict]]:
    """The compiled ABIs, for reading the contracts with web3."""
    return {
        name: [abi.model_dump(mode="json", by_alias=True) for abi in container.contract_type.abi]
        for name, container in (
            ("SpheronDevsDAO", project.SpheronDevsDAO),
            ("SpheronDevsNFT", project.SpheronDevsNFT),
        )
    }


ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}")


def address_in(text: str) -> str:
    """The first address in `text`."""
    match = ADDRESS_RE.search(text)
    assert match, text
    return match.group(0)
