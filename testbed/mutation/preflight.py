"""Before a mutation run: every test id must be the same at each collection.

mutmut collects the tests in its own process, then runs each mutant's tests by id in a forked
child, which collects again. An id that changes between collections is then not found, pytest
stops with a usage error, and mutmut counts the mutant as killed. Ids change when they show an
object's address (a different one in each process), or a backslash: pytest escapes an id given by
an `ids=` function once more at each collection in one process.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from mutmut.configuration import Config


class _Ids:
    """A pytest plugin that keeps the ids of the tests selected (after `--deselect`)."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.ids = [item.nodeid for item in session.items]


def _arguments() -> list[str]:
    config = Config.get()
    return [
        *config.pytest_add_cli_args_test_selection,
        *config.pytest_add_cli_args,
        "--collect-only",
        "-q",
    ]


def collect_twice() -> tuple[list[str], list[str]]:
    """The ids of two collections in this process (run it in a process of its own)."""
    runs = []
    for _ in range(2):
        plugin = _Ids()
        pytest.main(_arguments(), plugins=[plugin])
        runs.append(plugin.ids)
    return runs[0], runs[1]


def unstable_test_ids() -> list[str]:
    """Ids that differ between two collections in one process or between two processes."""
    twice = subprocess.run(
        [sys.executable, "-m", "testbed.mutation", "collect-twice"],
        capture_output=True,
        text=True,
        check=True,
    )
    first, second = json.loads(twice.stdout.splitlines()[-1])
    fresh = subprocess.run(
        [sys.executable, "-m", "pytest", *_arguments()], capture_output=True, text=True
    )
    elsewhere = [line for line in fresh.stdout.splitlines() if "::" in line]
    return sorted(set(first) ^ set(second) | set(first) ^ set(elsewhere))
