"""Locks on a ledger that die with their holder: a lock file beside a SQLite ledger, a session-level
advisory lock on PostgreSQL.

Both are released by the operating system or the server the moment the holding process dies,
even by ``kill -9`` (the OS closes the file; the server sees the connection close and ends the
session), so a restart never finds a stale lock.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from services.bot.ledger_store import (
    LedgerError,
    LedgerLocation,
    open_engine,
    translated_errors,
)
from services.common.errors import ConfigurationError


class LedgerInUseError(LedgerError, ConfigurationError):
    """Another bot holds the ledger's lock."""


def advisory_key(chain_id: int, dao_address: str) -> int:
    """A signed 64-bit advisory-lock key for one (chain, DAO): the ledgers of different DAOs on one
    server never share a lock."""
    digest = hashlib.sha256(
        f"spheron-dao-deploy:{chain_id}:{dao_address.lower()}".encode()
    ).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock held on its own connection.

    `try_acquire` never waits. `held` asks whether the session that took it is still alive, so a
    lost connection (a server restart, a network fault) reads as "not held".
    """

    def __init__(self, location: LedgerLocation, key: int, *, lease_s: float | None = None) -> None:
        self.location = location
        self.key = key
        self.lease_s = lease_s
        self._engine = open_engine(location, read_only=False, busy_timeout_ms=0)
        self._connection: sa.Connection | None = None

    def try_acquire(self) -> bool:
        try:
            with translated_errors(self.location):
                if self._connection is None:
                    self._connection = self._engine.connect().execution_options(
                        isolation_level="AUTOCOMMIT"
                    )
                    if self.lease_s is not None:
                        self._detect_vanished_holder(self._connection, self.lease_s)
                return bool(
                    self._connection.execute(
                        sa.select(sa.func.pg_try_advisory_lock(self.key))
                    ).scalar_one()
                )
        except LedgerError:
            self._drop_connection()  # a session that failed once is never used again
            raise

    @staticmethod
    def _detect_vanished_holder(connection: sa.Connection, lease_s: float) -> None:
        """Make the server end this session (freeing the lock) within `lease_s` of the holder's
        host going silent: TCP keepalives, and a timeout on unacknowledged data."""
        idle, interval = max(1, int(lease_s / 3)), max(1, int(lease_s / 6))
        for setting, value in (
            ("tcp_keepalives_idle", idle),
            ("tcp_keepalives_interval", interval),
            ("tcp_keepalives_count", 3),
            ("tcp_user_timeout", int(lease_s * 1000)),
        ):
            connection.exec_driver_sql(f"SET {setting} = {value}")

    def held(self) -> bool:
        """Whether the lock is still ours: it is held until the session ends, so this asks
        whether the session is alive."""
        if self._connection is None:
            return False
        try:
            with translated_errors(self.location):
                self._connection.execute(sa.text("SELECT 1"))
        except LedgerError:
            self._drop_connection()
            return False
        return True

    def release(self) -> None:
        """Give the lock up by ending the session (also what dying does)."""
        self._drop_connection()
        self._engine.dispose()

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.invalidate()  # never back to a pool: the session must end
                connection.close()
            except sa.exc.SQLAlchemyError:
                pass


@contextmanager
def ledger_lock(location: LedgerLocation, chain_id: int, dao_address: str) -> Iterator[None]:
    """One bot per ledger, held for the block: two would race each other's creates. Raises
    `LedgerInUseError` at once if another process holds it."""
    if location.path is None:
        lock = AdvisoryLock(location, advisory_key(chain_id, dao_address))
        try:
            if not lock.try_acquire():
                raise LedgerInUseError(f"another watcher is already using the ledger {location}")
            yield
        finally:
            lock.release()
        return
    location.path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{location.path}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LedgerInUseError(
                f"another watcher is already using the ledger {location}"
            ) from None
        yield
