"""`restored_after`: run a block of chain actions, then put the local chain back as it was."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def restored_after(chain: Any) -> Iterator[None]:
    """Snapshot the chain, run the block, restore the snapshot (the pending block's timestamp
    follows the restored head), and let every exception through.

    Ape's `chain.isolate()` restores the chain too, but it swallows any exception raised in its
    block, so an assertion that fails inside it passes the test. It also sets the pending
    timestamp back, which on Ape's test provider mines a block that can collide with the
    restored head's timestamp and break the following transactions.
    """
    snapshot = chain.snapshot()
    try:
        yield
    finally:
        chain.restore(snapshot)
