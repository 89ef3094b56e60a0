"""`ape run watcher` as a child process, for the demo, the benchmarks and the bot's process tests.

The process runs in its own session (so a Ctrl-C in the terminal reaches only its parent, which
stops it), writes its output to a log file, and is always stopped: SIGTERM first (the bot finishes
its step), then SIGKILL to its process group.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import requests

from services.bot.ledger import Ledger, LedgerError, LedgerLocation
from testbed.waiting import WaitTimeout, wait_until

ROOT = Path(__file__).resolve().parent.parent
_STATUS_LINE = re.compile(r"status on (http://\S+) ")
APE = Path(sys.executable).with_name("ape")

#: Variables of the caller's environment that could point the bot elsewhere; never inherited.
_DROPPED_PREFIXES = ("DAO_", "DEPLOYBOT_", "ETHERSCAN_", "SPHERON_")


class WatcherProcessError(RuntimeError):
    """The watcher exited or did not start polling in time; the message ends with its log."""


def watcher_environment(settings: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without bot settings, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_PREFIXES)}
    env["PATH"] = f"{APE.parent}{os.pathsep}{env.get('PATH', '')}"
    env["APE_DISABLE_TELEMETRY"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


class WatcherProcess:
    """One `ape run watcher ARGS` process; its output goes to `log_path`.

    Leaving the `with` block sends SIGTERM (the bot finishes its step and exits) and, if it has
    not exited after `stop_timeout_s`, kills its process group.
    """

    def __init__(
        self,
        args: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        *,
        stop_timeout_s: float = 15.0,
    ) -> None:
        self.args = list(args)
        self.env = dict(env)
        self.log_path = log_path
        self.stop_timeout_s = stop_timeout_s
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> WatcherProcess:
        return self.start()

    def start(self) -> WatcherProcess:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [str(APE), "run", "watcher", *self.args],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after `stop_timeout_s`; the exit code (None if never started)."""
        process = self._process
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return process.returncode

    def signal_twice(self) -> None:
        """SIGTERM, then SIGTERM again at once: the second must end the process immediately."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL the process group at once (what a crash or `kill -9` does)."""
        process = self._process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def wait(self, timeout_s: float) -> int:
        """Wait for the process to exit by itself; its exit code."""
        if self._process is None:
            raise WatcherProcessError("the watcher was never started")
        return self._process.wait(timeout_s)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def status_url(self) -> str | None:
        """The status server's URL, as the bot logged it (with `--status-port`), or None."""
        if not self.log_path.exists():
            return None
        found = _STATUS_LINE.search(self.log_path.read_text(errors="replace"))
        return None if found is None else found.group(1)

    def health(self) -> dict[str, Any] | None:
        """The bot's `/healthz` body, or None while it has no status server (or is dead)."""
        url = self.status_url() if self.running else None
        if url is None:
            return None
        try:
            return requests.get(f"{url}/healthz", timeout=5).json()
        except requests.RequestException:
            return None

    def role(self) -> str | None:
        """`leader`, `follower` or `paused` (replicas on PostgreSQL), from `/healthz`."""
        body = self.health()
        return None if body is None else body["replica"]["role"]

    def log_tail(self, lines: int = 15) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def wait_until_polling(self, ledger: str | Path, timeout_s: float) -> None:
        """Block until the bot has completed a poll (its ledger, a SQLite file or a PostgreSQL
        URL, has a checkpoint)."""

        def polled() -> bool:
            if not self.running:
                raise WatcherProcessError(f"the watcher exited early:\n{self.log_tail()}")
            return LedgerLocation.parse(ledger).exists() and _has_checkpoint(ledger)

        try:
            wait_until(polled, timeout_s=timeout_s, what="the watcher's first poll")
        except WaitTimeout:
            raise WatcherProcessError(
                f"the watcher did not poll within {timeout_s} s:\n{self.log_tail()}"
            ) from None


def _has_checkpoint(location: str | Path) -> bool:
    try:
        with Ledger.open_readonly(location) as ledger:
            return ledger.checkpoint() is not None
    except LedgerError:  # still being created by the bot
        return False
