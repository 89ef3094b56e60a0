"""A local Ethereum node (Foundry's anvil) as a managed child process.

Used by the end-to-end tests of the scripts, the demo and the bot tests: several processes
(``ape run ...``, the bot) talk to one real JSON-RPC chain on loopback.

    with Anvil() as node:                     # port 0: anvil picks a free port
        subprocess.run(["ape", "run", "status", "--network", node.network_choice])
        Chain(node.url).advance(3600)         # time travel: testbed.contracts

The chain id defaults to 1337 because Ape assumes 1337 for its ``local`` network; with anvil's
own default (31337) Ape would sign transactions for the wrong chain. Anvil's default accounts
come from the same mnemonic as Ape's test accounts (``--account TEST::0`` .. ``TEST::9``).
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

from testbed.waiting import WaitTimeout, wait_until

_LISTENING_RE = re.compile(r"Listening on ([0-9.]+):(\d+)")
_PROJECT_ROOT = Path(__file__).resolve().parent.parent
_POLL_S = 0.05


class AnvilError(RuntimeError):
    """anvil could not be found or started, or answered a JSON-RPC call with an error."""


def find_anvil() -> str:
    """The anvil executable: on ``PATH``, else the npm package's binary in ``node_modules``."""
    if found := shutil.which("anvil"):
        return found
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine
    )
    system = platform.system().lower()
    candidate = _PROJECT_ROOT / "node_modules" / "@foundry-rs" / f"anvil-{system}-{arch}"
    binary = candidate / "bin" / "anvil"
    if binary.is_file() and os.access(binary, os.X_OK):
        return str(binary)
    raise AnvilError(
        f"anvil not found on PATH nor at {binary}; run `make install` (npm @foundry-rs/anvil)"
    )


class Anvil:
    """An anvil process on ``host:port`` (``port=0``: a free port chosen by anvil).

    ``block_time=None`` mines a block per transaction (automine); a number mines on that
    interval in seconds. ``stop()`` (or leaving the ``with`` block) terminates the process, then
    kills it if it does not exit in time, and removes its log file.
    """

    def __init__(
        self,
        port: int = 0,
        chain_id: int = 1337,
        block_time: float | None = None,
        *,
        host: str = "127.0.0.1",
        binary: str | None = None,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 30.0,
        rpc_timeout: float = 10.0,
    ) -> None:
        self.requested_port = port
        self.chain_id = chain_id
        self.block_time = block_time
        self.host = host
        self.binary = binary
        self.extra_args = tuple(extra_args)
        self.startup_timeout = startup_timeout
        self.rpc_timeout = rpc_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None
        self._port: int | None = None
        self._session: requests.Session | None = None
        self._request_id = 0

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Anvil:
        """Start anvil and wait until it answers JSON-RPC; returns ``self``."""
        if self._process is not None:
            raise AnvilError("anvil is already running")
        command = [
            self.binary or find_anvil(),
            "--host",
            self.host,
            "--port",
            str(self.requested_port),
            "--chain-id",
            str(self.chain_id),
        ]
        if self.block_time is not None:
            command += ["--block-time", str(self.block_time)]
        command += self.extra_args
        handle, name = tempfile.mkstemp(prefix="anvil-", suffix=".log")
        self._log_path = Path(name)
        with os.fdopen(handle, "wb") as log:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        self._session = requests.Session()
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        def answers() -> bool:
            if self._process is not None and self._process.poll() is not None:
                raise AnvilError(
                    f"anvil exited with code {self._process.returncode}: {self.log_tail()}"
                )
            if self._port is None and (match := _LISTENING_RE.search(self.log_text())):
                self._port = int(match.group(2))
            if self._port is None:
                return False
            try:
                self.rpc("eth_chainId")
            except (requests.RequestException, AnvilError):
                return False
            return True

        try:
            wait_until(answers, timeout_s=self.startup_timeout, what="anvil", interval_s=_POLL_S)
        except WaitTimeout:
            raise AnvilError(
                f"anvil did not answer within {self.startup_timeout} s: {self.log_tail()}"
            ) from None

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate anvil (kill it after ``timeout`` seconds); safe to call twice."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout)
        if self._session is not None:
            self._session.close()
            self._session = None
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None
        self._port = None

    def __enter__(self) -> Anvil:
        return self if self._process is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    # -- addresses -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise AnvilError("anvil is not running")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self.host}:{self.port}"

    @property
    def network_choice(self) -> str:
        """The value for Ape's ``--network``: ``ethereum:local:<url>``."""
        return f"ethereum:local:{self.url}"

    # -- JSON-RPC ------------------------------------------------------------------------------

    def rpc(self, method: str, params: Sequence[Any] = ()) -> Any:
        """Call ``method`` and return its result; :class:`AnvilError` on a JSON-RPC error."""
        if self._session is None:
            raise AnvilError("anvil is not running")
        self._request_id += 1
        payload = {"jsonrpc": "2.0", "id": self._request_id, "method": method, "params": [*params]}
        response = self._session.post(self.url, json=payload, timeout=self.rpc_timeout)
        response.raise_for_status()
        body = response.json()
        if "error" in body:
            raise AnvilError(f"{method} failed: {body['error']}")
        return body.get("result")

    def head(self) -> int:
        """Number of the latest block."""
        return int(self.rpc("eth_blockNumber"), 16)

    def head_timestamp(self) -> int:
        """Timestamp of the latest block (chain time)."""
        return int(self.rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)

    def snapshot(self) -> str:
        """Snapshot the chain state; :meth:`revert` returns to it (once)."""
        return str(self.rpc("evm_snapshot"))

    def revert(self, snapshot_id: str) -> bool:
        return bool(self.rpc("evm_revert", [snapshot_id]))

    def set_balance(self, address: str, wei: int) -> None:
        self.rpc("anvil_setBalance", [address, hex(wei)])

    def balance(self, address: str) -> int:
        return int(self.rpc("eth_getBalance", [address, "latest"]), 16)

    def nonce(self, address: str) -> int:
        return int(self.rpc("eth_getTransactionCount", [address, "latest"]), 16)

    # -- diagnostics ---------------------------------------------------------------------------

    def log_text(self) -> str:
        """Everything anvil printed so far."""
        if self._log_path is None or not self._log_path.exists():
            return ""
        return self._log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])
