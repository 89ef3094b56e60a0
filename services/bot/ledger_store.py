"""Where the ledger lives, and how to reach it: `DEPLOYBOT_DB` → a SQLAlchemy engine.

- A path selects **SQLite**: one file, one bot (WAL with ``synchronous=NORMAL``, a busy timeout,
  and write transactions begun ``IMMEDIATE`` so they never fail half-way on a lock). The zero-setup
  default.
- ``postgresql://user@host:port/database`` selects **PostgreSQL** (driver psycopg 3), which several
  replicas on several hosts can share. Any libpq parameter may follow as a query string
  (``?sslmode=require``); a password is better given in ``PGPASSWORD`` or a ``~/.pgpass`` file than
  in the URL. Either way it never appears in a log line or an error: the location is always shown
  with the password hidden.

Errors from the database are translated here, so callers see only ledger errors:
`LedgerConfigurationError` (a malformed URL, refused credentials, a database that does not exist:
restarting cannot help, exit code 78) and `LedgerUnavailableError` (the server cannot be reached or
dropped the connection: the bot pauses and retries).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy import event, exc

from services.common.errors import ConfigurationError
from services.common.redaction import Redactor

#: URL schemes that select PostgreSQL.
POSTGRES_SCHEMES = frozenset({"postgresql", "postgres", "postgresql+psycopg"})
#: Seconds to wait for a PostgreSQL connection before calling the server unreachable.
CONNECT_TIMEOUT_S = 5
#: Execution option that marks a connection's transaction as a write (SQLite: BEGIN IMMEDIATE).
WRITE_OPTION = "ledger_write"

#: Server answers that mean "the configuration is wrong", as opposed to "try again later".
_REFUSALS = (
    "password authentication failed",
    "authentication failed",
    "no password supplied",
    "no pg_hba.conf entry",
    "does not exist",
    "permission denied",
    "invalid connection option",
    "invalid sslmode",
)


class LedgerError(Exception):
    """Base class of every error the ledger raises on purpose."""


class LedgerConfigurationError(LedgerError, ConfigurationError):
    """The ledger location (`DEPLOYBOT_DB`) is malformed, or the database refused the credentials
    or does not exist."""


class LedgerUnavailableError(LedgerError):
    """The ledger's database cannot be reached right now (server down, connection dropped, SQLite
    file locked beyond the busy timeout). Nothing was changed by the failed call."""


@dataclass(frozen=True)
class LedgerLocation:
    """A parsed `DEPLOYBOT_DB`: a SQLite file (`path`) or a PostgreSQL URL (`url`).

    `str()` is safe to print: a URL's password is hidden.
    """

    path: Path | None = None
    url: sa.URL | None = None

    @classmethod
    def parse(cls, value: str | Path | LedgerLocation) -> LedgerLocation:
        if isinstance(value, LedgerLocation):
            return value
        if isinstance(value, Path):
            return cls(path=value)
        text = str(value).strip()
        if not text:
            raise LedgerConfigurationError("the ledger location is empty")
        if "://" not in text:
            return cls(path=Path(text))
        scheme = urlsplit(text).scheme.lower()
        if scheme not in POSTGRES_SCHEMES:
            raise LedgerConfigurationError(
                f"unsupported ledger URL scheme {scheme!r}; give a file path (SQLite) or "
                "postgresql://user@host:port/database"
            )
        try:
            url = sa.make_url(text).set(drivername="postgresql+psycopg")
        except (ValueError, exc.ArgumentError) as error:
            raise LedgerConfigurationError(
                f"not a valid PostgreSQL URL: {_hide_password(text)} ({error})"
            ) from None
        if not url.database:
            raise LedgerConfigurationError(
                f"the PostgreSQL URL {url.render_as_string(hide_password=True)} names no "
                "database; expected postgresql://user@host:port/database"
            )
        return cls(url=url)

    @property
    def is_postgres(self) -> bool:
        return self.url is not None

    @property
    def password(self) -> str | None:
        """The URL's password, for log redaction."""
        return None if self.url is None else self.url.password

    def exists(self) -> bool:
        """Whether there may be a ledger to read: the SQLite file exists (always true for a
        server, which answers for itself)."""
        return self.path is None or self.path.exists()

    def __str__(self) -> str:
        if self.url is not None:
            return self.url.set(drivername="postgresql").render_as_string(hide_password=True)
        return str(self.path)


def open_engine(location: LedgerLocation, *, read_only: bool, busy_timeout_ms: int) -> sa.Engine:
    """An engine for the ledger at `location`. Nothing is connected yet."""
    if location.url is not None:
        return _postgres_engine(location.url, read_only=read_only)
    assert location.path is not None
    return _sqlite_engine(location.path, read_only=read_only, busy_timeout_ms=busy_timeout_ms)


@contextmanager
def translated_errors(location: LedgerLocation) -> Iterator[None]:
    """Turn the driver's connection failures into `LedgerUnavailableError` or, when the server
    refused us, `LedgerConfigurationError`. Other database errors (constraint violations: bugs)
    pass through."""
    try:
        yield
    except (exc.OperationalError, exc.InterfaceError) as error:
        raise _translate(location, error) from None
    except exc.DBAPIError as error:
        if error.connection_invalidated:
            raise _translate(location, error) from None
        raise


def _translate(location: LedgerLocation, error: exc.DBAPIError) -> LedgerError:
    detail = _hide_password(" ".join(str(error.orig).split()))
    if location.is_postgres and any(refusal in detail for refusal in _REFUSALS):
        return LedgerConfigurationError(f"ledger database {location} refused us: {detail}")
    return LedgerUnavailableError(f"ledger database {location} unavailable: {detail}")


def _hide_password(text: str) -> str:
    return Redactor(())(text)


# -- SQLite ---------------------------------------------------------------------------------------


def _switch_to_wal(connection: sqlite3.Connection, path: Path, timeout_s: float) -> None:
    """Put the file in WAL mode (a setting the file keeps). Switching needs the file to itself
    and SQLite answers "locked" at once, without its busy handler, while another process is
    creating the ledger, so a busy file is retried until `timeout_s` has passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            break
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)
    if str(mode).lower() != "wal":
        raise LedgerError(f"could not switch {path} to WAL journal mode (got {mode!r})")


def _sqlite_engine(path: Path, *, read_only: bool, busy_timeout_ms: int) -> sa.Engine:
    timeout_s = busy_timeout_ms / 1000
    if read_only:
        uri = f"{path.resolve().as_uri()}?mode=ro"

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=timeout_s)
    else:

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(path, check_same_thread=False, timeout=timeout_s)

    engine = sa.create_engine(
        "sqlite+pysqlite://",
        creator=connect,
        poolclass=sa.pool.QueuePool,
        pool_size=1,
        pool_reset_on_return=None,  # every transaction ends in COMMIT or ROLLBACK already
    )

    @event.listens_for(engine, "connect")
    def configure(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # The driver's own transaction handling is off; the "begin" hook below emits BEGIN.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        dbapi_connection.execute("PRAGMA foreign_keys = ON")
        dbapi_connection.execute("PRAGMA synchronous = NORMAL")
        if not read_only:
            _switch_to_wal(dbapi_connection, path, timeout_s)

    @event.listens_for(engine, "begin")
    def begin(connection: sa.Connection) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


# -- PostgreSQL -----------------------------------------------------------------------------------


def _postgres_engine(url: sa.URL, *, read_only: bool) -> sa.Engine:
    connect_args: dict[str, Any] = {
        "connect_timeout": CONNECT_TIMEOUT_S,
        "application_name": "spheron-dao-deploy",
        # A server that vanishes mid-query is noticed in seconds, not after the kernel's hours.
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 3,
        "tcp_user_timeout": 15_000,
    }
    if read_only:  # the server itself refuses writes on these sessions
        given = url.query.get("options")
        options = [*(given if isinstance(given, tuple) else [given or ""])]
        connect_args["options"] = " ".join([*options, "-c default_transaction_read_only=on"])
    return sa.create_engine(
        url,
        connect_args=connect_args,
        pool_pre_ping=True,  # a restarted server's dead sessions are replaced, not used
        pool_size=2,
        max_overflow=4,
    )
