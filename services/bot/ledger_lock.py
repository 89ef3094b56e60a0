"""Locks on a ledger that die with their holder: a lock file beside a SQLite ledger, a session-level
advisory lock on PostgreSQL.

Both are released by the operating system or the server the moment the holding process dies,
even by ``kill -9`` (the OS closes the file; the server sees the connection close and ends the
session), so a restart never finds a stale lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

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
    lost connection (a server restart, a network fault) reads as "not held". Calls may come from
    several threads (the leader's heartbeat); they take turns on the one session.
    """

    def __init__(self, location: LedgerLocation, key: int, *, lease_s: float | None = None) -> None:
        self.location = location
        self.key = key
        self.lease_s = lease_s
        self._engine = open_engine(location, read_only=False, busy_timeout_ms=0)
        self._connection: sa.Connection | None = None
        self._turn = threading.RLock()

    def try_acquire(self) -> bool:
        with self._turn:
            return bool(self._run(sa.select(sa.func.pg_try_advisory_lock(self.key))).scalar_one())

    def held(self) -> bool:
        """Whether the lock is still ours: it is held until the session ends, so this asks
        whether the session is alive. Asking also marks the session as heard from (see
        `depose_silent_holder`)."""
        with self._turn:
            if self._connection is None:
                return False
            try:
                self._run(sa.text("SELECT 1"))
            except LedgerError:
                return False
            return True

    def depose_silent_holder(self, silent_s: float) -> int | None:
        """End the session of another holder that has been idle for more than `silent_s` (its
        process frozen: stopped, paused, swapped out), so the lock is freed; the process id of
        the session ended, or None. A live holder's heartbeat keeps its session from going
        silent. The server shows the sessions of the same role only, so replicas must connect as
        one role (or as roles granted pg_read_all_stats and pg_signal_backend)."""
        with self._turn:
            silent = self._run(
                _SILENT_HOLDER, {"key": self.key, "silent_s": float(silent_s)}
            ).scalar_one_or_none()
            if silent is None:
                return None
            ended = self._run(sa.select(sa.func.pg_terminate_backend(silent))).scalar_one()
            return int(silent) if ended else None

    def release(self) -> None:
        """Give the lock up and end the session (dying ends it too). The unlock is said first:
        the server ends a closed session a moment later, and the next holder must not have to
        wait for that."""
        with self._turn:
            if self._connection is not None:
                # A session that is gone already took the lock with it.
                with suppress(LedgerError):
                    self._run(sa.select(sa.func.pg_advisory_unlock_all()))
            self._drop_connection()
            self._engine.dispose()

    def _run(self, statement: sa.Executable, parameters: dict | None = None) -> sa.Result:
        """Run on the lock's session, opened on first use; a session that failed once is never
        used again."""
        try:
            with translated_errors(self.location):
                if self._connection is None:
                    self._connection = self._engine.connect().execution_options(
                        isolation_level="AUTOCOMMIT"
                    )
                    if self.lease_s is not None:
                        self._detect_vanished_holder(self._connection, self.lease_s)
                return self._connection.execute(statement, parameters)
        except LedgerError:
            self._drop_connection()
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

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.invalidate()  # never back to a pool: the session must end
                connection.close()
            except sa.exc.SQLAlchemyError:
                pass


#: The session (other than ours) holding the advisory lock `key` in this database, if it has been
#: idle for more than `silent_s`. A bigint key shows in pg_locks as its high and low 32 bits.
_SILENT_HOLDER = sa.text(
    "SELECT a.pid FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND l.classid::bigint = ((CAST(:key AS bigint) >> 32) & 4294967295) "
    "AND l.objid::bigint = (CAST(:key AS bigint) & 4294967295) "
    "AND a.pid <> pg_backend_pid() AND a.state = 'idle' "
    "AND a.state_change < "
    "clock_timestamp() - make_interval(secs => CAST(:silent_s AS double precision))"
)


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
