"""Moving a ledger to another database (e.g. from the SQLite file of a single bot to the
PostgreSQL database of several replicas) without redeploying anything.

Everything the ledger knows is copied in one transaction on the target: its binding (chain and
DAO), the checkpoint, every row with its state, instance, attempts and in-flight window, and every
history line in order. Both ledgers are locked for the copy (no bot may run on either), the
source is migrated to the current schema first, and a target that already holds anything is
refused, so two histories are never mixed.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.bot.ledger import Ledger, LedgerLocation, read_binding
from services.bot.ledger_lock import ledger_lock


@dataclass(frozen=True)
class CopySummary:
    chain_id: int
    dao_address: str
    rows: int
    history_lines: int
    checkpoint: int | None


def copy_ledger(source: LedgerLocation, target: LedgerLocation) -> CopySummary:
    """Copy the ledger at `source` into the empty ledger at `target`."""
    if str(source) == str(target):
        raise ValueError(f"source and target are the same ledger: {source}")
    chain_id, dao_address = read_binding(source)
    with (
        ledger_lock(source, chain_id, dao_address),
        ledger_lock(target, chain_id, dao_address),
        Ledger(source, chain_id=chain_id, dao_address=dao_address) as original,
        Ledger(target, chain_id=chain_id, dao_address=dao_address) as copy,
    ):
        dumped = original.dump()
        copy.restore(dumped)
        return CopySummary(
            chain_id=chain_id,
            dao_address=dao_address,
            rows=len(dumped["deployments"]),
            history_lines=len(dumped["history"]),
            checkpoint=copy.checkpoint(),
        )
