"""The deploy bot's durable ledger: one SQLite file per (chain, DAO contract).

The ledger is what makes "each approved instance is created on Spheron exactly once" survive
restarts and ``kill -9``. Every ``DeployEvent`` the bot sees becomes one row keyed by its
proposal id, and the row walks this state machine (terminal states marked with a star)::

    RECORDED ──► PLANNED ──► CREATING ──► CREATED ──► DEPLOYED*
       │  │         │  ▲         │  ▲        │
       │  │         │  └─(retry)─┘  │        └──────► FAILED*
       │  └─────────┼───────────────┘
       ├──► CREATED    (also from PLANNED: an instance found by name is adopted)
       ├──► REJECTED*  (also from PLANNED and CREATING)
       └──► FAILED*    (from RECORDED, PLANNED, CREATING or CREATED)

- ``CREATING`` is committed *immediately before* the bot sends Spheron's create, with
  ``in_flight_until``: the time by which that request has certainly ended (sent time + the
  client's timeout + a margin for a server still finishing it). After a crash or a failed
  attempt, a ``CREATING`` row means "an instance may exist or still appear": the bot waits until
  ``in_flight_until`` has passed, then looks the stored ``deployment_name`` up before creating
  again. A retry keeps the same name and bumps ``attempts``. ``in_flight_until`` is cleared when
  the request certainly never reached the server.
- ``created_at`` is when the target accepted the create (or an earlier one was adopted); the
  deploy timeout is measured from it, so it survives restarts and ``--once`` runs.
- Every transition also appends a line to the ``history`` table (state, time, note), which is
  where adopted instances and closed duplicates are recorded.
- Durability: WAL with ``synchronous=NORMAL``. A commit survives the process being killed
  (``kill -9``) at any point; only an OS crash or power loss can drop the latest commits, and then
  the ledger rolls back consistently (rows with their checkpoint) and the bot, which looks every
  deployment name up on Spheron before creating it, adopts what was created. ``FULL`` would add
  an fsync to every transition for no gain in that guarantee.
- ``PLANNED`` is what a dry run leaves behind: the spec was validated and a deployment name
  chosen, but nothing was created. It is not terminal: ``unfinished()`` returns it, and a later
  real run treats it exactly like ``RECORDED`` (re-validate, then ``mark_creating``), so
  approved proposals seen during a dry run still get deployed. A later dry run may plan it again.
- Reasons, names and ids are stored as given. Callers must pass only *references* to secrets
  (e.g. "secret SPHERON_DB_PASSWORD is not set"), never secret values; ``spec_json`` is the
  public JSON that was emitted on chain, so it holds no secrets either.

Seeing events and moving the checkpoint happen in one transaction (``record_batch``), so after
a crash the checkpoint never claims a block whose events were not recorded.

Proposal ids are ``uint256`` on chain, wider than SQLite's 64-bit integers, so they are stored
as decimal text and exposed as ``int``.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

from services.bot.notify import Event
from services.spec.proposal import peek_kind

logger = logging.getLogger(__name__)

DEFAULT_BUSY_TIMEOUT_MS = 5_000
DEFAULT_BASE_DIR_NAME = ".spheron-dao-deploy"

_MAX_UINT256 = 2**256 - 1
#: What a row's proposal asks for (see `services.spec.proposal`).
KINDS = ("deploy", "update", "close")
_REQUEST = {"deploy": "create", "update": "update", "close": "close"}
_MAX_INT64 = 2**63 - 1  # SQLite INTEGER
_ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
_TX_HASH_RE = re.compile(r"^0x[0-9a-fA-F]{64}$")
_HEX_RE = re.compile(r"^(0x)?[0-9a-fA-F]+$")


class DeploymentState(StrEnum):
    """Where one approved proposal stands; see the module docstring for the allowed moves."""

    RECORDED = "RECORDED"
    REJECTED = "REJECTED"
    PLANNED = "PLANNED"
    CREATING = "CREATING"
    CREATED = "CREATED"
    DEPLOYED = "DEPLOYED"
    CLOSED = "CLOSED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset(
    {
        DeploymentState.REJECTED,
        DeploymentState.DEPLOYED,
        DeploymentState.CLOSED,
        DeploymentState.FAILED,
    }
)
UNFINISHED_STATES = (
    DeploymentState.RECORDED,
    DeploymentState.PLANNED,
    DeploymentState.CREATING,
    DeploymentState.CREATED,
)

_S = DeploymentState
_ALLOWED_FROM: dict[str, frozenset[DeploymentState]] = {
    "mark_rejected": frozenset({_S.RECORDED, _S.PLANNED, _S.CREATING}),
    "mark_planned": frozenset({_S.RECORDED, _S.PLANNED}),
    "mark_creating": frozenset({_S.RECORDED, _S.PLANNED, _S.CREATING}),
    "mark_created": frozenset({_S.RECORDED, _S.PLANNED, _S.CREATING}),
    "mark_not_sent": frozenset({_S.CREATING}),
    "mark_progress": frozenset({_S.CREATED}),
    "mark_deployed": frozenset({_S.CREATED}),
    "mark_closed": frozenset({_S.CREATING}),
    "mark_failed": frozenset({_S.RECORDED, _S.PLANNED, _S.CREATING, _S.CREATED}),
}


class LedgerError(Exception):
    """Base class of every error the ledger raises on purpose."""


class LedgerMismatchError(LedgerError):
    """The ledger file belongs to another chain or DAO contract."""


class LedgerSchemaError(LedgerError):
    """The ledger file's schema version (``version``) cannot be used by this code."""

    def __init__(self, message: str, *, version: int) -> None:
        super().__init__(message)
        self.version = version


class LedgerReadOnlyError(LedgerError):
    """A write was attempted through a read-only ledger."""


class UnknownProposalError(LedgerError):
    """No row exists for the proposal id."""


class InvalidTransitionError(LedgerError):
    """The requested state change is not allowed from the row's current state."""


@dataclass(frozen=True)
class NewEvent:
    """One decoded ``DeployEvent`` log, as handed to ``Ledger.record_batch``.

    Hex strings are normalised to lower case; malformed fields raise ``ValueError`` here, so a bad
    event never reaches the database. ``kind`` and ``target_id`` are read from the JSON itself
    (see :func:`services.spec.proposal.peek_kind`), so they can never disagree with what was voted.
    """

    proposal_id: int
    sender: str
    spec_json: str
    spec_hash: str
    block_number: int
    tx_hash: str
    log_index: int
    kind: str = field(init=False)
    target_id: int | None = field(init=False)

    def __post_init__(self) -> None:
        _check_proposal_id(self.proposal_id)
        if not isinstance(self.sender, str) or not _ADDRESS_RE.match(self.sender):
            raise ValueError(f"sender must be a 0x-prefixed 20-byte address, got {self.sender!r}")
        if not isinstance(self.spec_json, str):
            raise ValueError(f"spec_json must be a str, got {type(self.spec_json).__name__}")
        if not isinstance(self.spec_hash, str) or not _HEX_RE.match(self.spec_hash):
            raise ValueError(f"spec_hash must be a hex string, got {self.spec_hash!r}")
        if not isinstance(self.tx_hash, str) or not _TX_HASH_RE.match(self.tx_hash):
            raise ValueError(
                f"tx_hash must be a 0x-prefixed 32-byte hex string, got {self.tx_hash!r}"
            )
        for name in ("block_number", "log_index"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not 0 <= value <= _MAX_INT64
            ):
                raise ValueError(f"{name} must be an int in 0..2**63-1, got {value!r}")
        kind, target_id = peek_kind(self.spec_json)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "target_id", target_id)
        object.__setattr__(self, "sender", self.sender.lower())
        object.__setattr__(self, "spec_hash", self.spec_hash.lower())
        object.__setattr__(self, "tx_hash", self.tx_hash.lower())


@dataclass(frozen=True)
class DeploymentRow:
    """One ledger row. ``urls`` is a tuple; ``first_seen_at``/``updated_at`` are ISO-8601 UTC
    strings; ``in_flight_until`` and ``created_at`` are Unix times (see the module docstring)."""

    proposal_id: int
    block_number: int
    tx_hash: str
    log_index: int
    sender: str
    spec_json: str
    spec_hash: str
    deployment_name: str | None
    state: DeploymentState
    reason: str | None
    instance_id: str | None
    deployment_id: str | None
    deployment_status: str | None
    urls: tuple[str, ...]
    attempts: int
    first_seen_at: str
    updated_at: str
    in_flight_until: float | None = None
    created_at: float | None = None
    kind: str = "deploy"
    """``deploy``, ``update`` or ``close`` (see `services.spec.proposal`)."""
    target_id: int | None = None
    """For an update or close: the proposal that deployed the instance it changes."""
    voted_spec_json: str | None = None
    """For a deployment: the spec the DAO last voted for its instance (updates applied)."""
    closed_by: int | None = None
    """For a deployment: the close proposal that closed its instance."""
    drift: dict[str, Any] | None = None
    """For a live deployment: how what runs differs from the voted spec (None: it does not)."""
    deployments_before: tuple[str, ...] | None = None
    """For an update in flight: the instance's deployments before it was sent."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (state as its string value, urls as a list)."""
        data = asdict(self)
        data["state"] = self.state.value
        data["urls"] = list(self.urls)
        if self.deployments_before is not None:
            data["deployments_before"] = list(self.deployments_before)
        return data


_COLUMNS = (
    "proposal_id, block_number, tx_hash, log_index, sender, spec_json, spec_hash, deployment_name, "
    "state, reason, instance_id, deployment_id, deployment_status, urls, attempts, first_seen_at, "
    "updated_at, in_flight_until, created_at, kind, target_id, voted_spec_json, closed_by, drift, "
    "deployments_before"
)


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a row's history: the state it entered (or kept), when, and why."""

    proposal_id: int
    at: str
    state: DeploymentState
    note: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "proposal_id": self.proposal_id,
            "at": self.at,
            "state": self.state.value,
            "note": self.note,
        }


#: A notification in the outbox; `services.bot.notify.Event` is the same shape.
OutboxEvent = Event

_NOW_UNIX = "((julianday('now') - 2440587.5) * 86400.0)"

_STATE_VALUES = ", ".join(f"'{state.value}'" for state in DeploymentState)

# Each entry migrates the schema from version (index) to version (index + 1).
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
        f"""
        CREATE TABLE deployments (
            proposal_id TEXT PRIMARY KEY NOT NULL,
            block_number INTEGER NOT NULL CHECK (block_number >= 0),
            tx_hash TEXT NOT NULL,
            log_index INTEGER NOT NULL CHECK (log_index >= 0),
            sender TEXT NOT NULL,
            spec_json TEXT NOT NULL,
            spec_hash TEXT NOT NULL,
            deployment_name TEXT,
            state TEXT NOT NULL CHECK (state IN ({_STATE_VALUES})),
            reason TEXT,
            instance_id TEXT,
            deployment_id TEXT,
            deployment_status TEXT,
            urls TEXT NOT NULL DEFAULT '[]',
            attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            first_seen_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (tx_hash, log_index)
        )
        """,
        "CREATE INDEX deployments_by_state ON deployments (state, block_number, log_index)",
        "CREATE INDEX deployments_by_position ON deployments (block_number, log_index)",
    ),
    (
        # Version 2: the in-flight bound of a create, the time it was accepted, and history.
        "ALTER TABLE deployments ADD COLUMN in_flight_until REAL",
        "ALTER TABLE deployments ADD COLUMN created_at REAL",
        # A version-1 bot may have been cut off mid-create: wait one default window for it.
        f"UPDATE deployments SET in_flight_until = {_NOW_UNIX} + 90 WHERE state = 'CREATING'",
        # The deploy timeout of rows already being followed counts from the upgrade.
        f"UPDATE deployments SET created_at = {_NOW_UNIX} WHERE state = 'CREATED'",
        """
        CREATE TABLE history (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            proposal_id TEXT NOT NULL REFERENCES deployments (proposal_id),
            at TEXT NOT NULL,
            state TEXT NOT NULL,
            note TEXT
        )
        """,
        "CREATE INDEX history_by_proposal ON history (proposal_id, id)",
        "INSERT INTO history (proposal_id, at, state, note) "
        "SELECT proposal_id, updated_at, state, reason FROM deployments "
        "ORDER BY block_number, log_index",
    ),
    (
        # Version 3: updates and closes (kind, target, the voted state of an instance, CLOSED),
        # drift, and the notification outbox. SQLite cannot change a CHECK constraint, so the
        # table is rebuilt (foreign keys are off during migrations, see Ledger._migrate).
        f"""
        CREATE TABLE deployments_v3 (
            proposal_id TEXT PRIMARY KEY NOT NULL,
            block_number INTEGER NOT NULL CHECK (block_number >= 0),
            tx_hash TEXT NOT NULL,
            log_index INTEGER NOT NULL CHECK (log_index >= 0),
            sender TEXT NOT NULL,
            spec_json TEXT NOT NULL,
            spec_hash TEXT NOT NULL,
            deployment_name TEXT,
            state TEXT NOT NULL CHECK (state IN ({_STATE_VALUES})),
            reason TEXT,
            instance_id TEXT,
            deployment_id TEXT,
            deployment_status TEXT,
            urls TEXT NOT NULL DEFAULT '[]',
            attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            first_seen_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            in_flight_until REAL,
            created_at REAL,
            kind TEXT NOT NULL DEFAULT 'deploy' CHECK (kind IN ('deploy', 'update', 'close')),
            target_id TEXT,
            voted_spec_json TEXT,
            closed_by TEXT,
            drift TEXT,
            deployments_before TEXT,
            UNIQUE (tx_hash, log_index)
        )
        """,
        "INSERT INTO deployments_v3 (proposal_id, block_number, tx_hash, log_index, sender, "
        "spec_json, spec_hash, deployment_name, state, reason, instance_id, deployment_id, "
        "deployment_status, urls, attempts, first_seen_at, updated_at, in_flight_until, "
        "created_at, voted_spec_json) SELECT proposal_id, block_number, tx_hash, log_index, "
        "sender, spec_json, spec_hash, deployment_name, state, reason, instance_id, "
        "deployment_id, deployment_status, urls, attempts, first_seen_at, updated_at, "
        "in_flight_until, created_at, CASE WHEN state = 'DEPLOYED' THEN spec_json END "
        "FROM deployments",
        "DROP TABLE deployments",
        "ALTER TABLE deployments_v3 RENAME TO deployments",
        "CREATE INDEX deployments_by_state ON deployments (state, block_number, log_index)",
        "CREATE INDEX deployments_by_position ON deployments (block_number, log_index)",
        "CREATE INDEX deployments_by_target ON deployments (target_id)",
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            proposal_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            fields TEXT NOT NULL,
            at TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE deliveries (
            event_id INTEGER NOT NULL REFERENCES outbox (id),
            sink TEXT NOT NULL,
            delivered_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            PRIMARY KEY (event_id, sink)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX deliveries_pending ON deliveries (sink, delivered_at, event_id)",
    ),
)
SCHEMA_VERSION = len(_MIGRATIONS)


def read_rows(path: str | Path) -> list[DeploymentRow]:
    """The rows of the ledger at ``path`` (read-only), or ``[]`` if the bot has not created it
    yet (no file, or a file whose first migration has not committed)."""
    if not Path(path).exists():
        return []
    try:
        ledger = Ledger.open_readonly(path)
    except LedgerSchemaError as error:
        if error.version == 0:
            return []
        raise
    with ledger:
        return ledger.rows()


def default_ledger_path(
    chain_id: int, dao_address: str, base_dir: str | Path | None = None
) -> Path:
    """``<base_dir>/ledger-<chain_id>-<dao address lower case>.sqlite3``.

    ``base_dir`` defaults to ``~/.spheron-dao-deploy``. Nothing is created on disk here.
    """
    _check_chain_id(chain_id)
    address = _normalise_address(dao_address)
    base = Path(base_dir) if base_dir is not None else Path.home() / DEFAULT_BASE_DIR_NAME
    return base / f"ledger-{chain_id}-{address}.sqlite3"


class Ledger:
    """The bot's ledger, bound to one (chain id, DAO address).

    One process writes (``Ledger(path, chain_id=..., dao_address=...)``); any number of
    processes may read at the same time through ``Ledger.open_readonly(path)`` (WAL mode). One
    connection is shared by all threads of an instance, serialised by a lock.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        chain_id: int,
        dao_address: str,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        notify_sinks: Sequence[str] = (),
    ) -> None:
        _check_chain_id(chain_id)
        address = _normalise_address(dao_address)
        self.path = Path(path)
        self.read_only = False
        self._sinks = tuple(notify_sinks)
        self._lock = threading.RLock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
        )
        try:
            self._configure(busy_timeout_ms)
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise LedgerError(
                    f"could not switch {self.path} to WAL journal mode (got {mode!r})"
                )
            self._migrate()
            self._bind(chain_id, address)
        except BaseException:
            self._conn.close()
            raise

    @classmethod
    def open_readonly(
        cls,
        path: str | Path,
        *,
        chain_id: int | None = None,
        dao_address: str | None = None,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> Ledger:
        """Open an existing ledger for reading only (e.g. the status command or status server).

        If ``chain_id`` / ``dao_address`` are given they must match the ledger's binding.
        """
        ledger = cls.__new__(cls)
        ledger.path = Path(path)
        ledger.read_only = True
        ledger._sinks = ()
        ledger._lock = threading.RLock()
        if not ledger.path.is_file():
            raise FileNotFoundError(f"no ledger at {ledger.path}; the bot creates it on first run")
        uri = f"{ledger.path.resolve().as_uri()}?mode=ro"
        ledger._conn = sqlite3.connect(
            uri,
            uri=True,
            isolation_level=None,
            check_same_thread=False,
            timeout=busy_timeout_ms / 1000,
        )
        try:
            ledger._configure(busy_timeout_ms)
            version = ledger._schema_version()
            if version != SCHEMA_VERSION:
                remedy = (
                    "upgrade spheron-dao-deploy"
                    if version > SCHEMA_VERSION
                    else "run the bot once (read-write) to migrate it"
                )
                raise LedgerSchemaError(
                    f"ledger {ledger.path} has schema version {version}, this code reads version "
                    f"{SCHEMA_VERSION}; {remedy}",
                    version=version,
                )
            if chain_id is not None and chain_id != ledger.chain_id:
                raise LedgerMismatchError(
                    f"ledger {ledger.path} belongs to chain {ledger.chain_id}, not chain {chain_id}"
                )
            if dao_address is not None and _normalise_address(dao_address) != ledger.dao_address:
                raise LedgerMismatchError(
                    f"ledger {ledger.path} belongs to DAO {ledger.dao_address}, not {dao_address}"
                )
        except BaseException:
            ledger._conn.close()
            raise
        return ledger

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- binding and checkpoint ------------------------------------------------------------------

    @property
    def chain_id(self) -> int:
        return int(self._meta("chain_id"))

    @property
    def dao_address(self) -> str:
        return self._meta("dao_address")

    def pragmas(self) -> dict[str, int | str]:
        """The connection's SQLite settings, for diagnostics (journal mode is ``wal``)."""
        names = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "user_version")
        with self._lock:
            values = {name: self._conn.execute(f"PRAGMA {name}").fetchone()[0] for name in names}
        values["journal_mode"] = str(values["journal_mode"]).lower()
        return values

    def checkpoint(self) -> int | None:
        """The last block whose events are all recorded, or ``None`` before the first batch."""
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM meta WHERE key = 'checkpoint_block'"
            ).fetchone()
        return None if row is None else int(row[0])

    # -- recording events ------------------------------------------------------------------------

    def record_batch(self, events: Iterable[NewEvent], checkpoint_block: int) -> list[int]:
        """Record every not-yet-known event and advance the checkpoint, in one transaction.

        An event whose proposal id or (tx hash, log index) is already known is ignored. If its
        payload (sender, spec hash) differs from the stored one, or the same log position carries
        another proposal id, the stored row is kept and a warning is logged: the ledger never
        rewrites what it has seen. The checkpoint only moves forward. ``events`` is consumed
        inside the transaction, so an exception (or a crash) while iterating leaves the ledger
        exactly as it was.

        Returns the proposal ids inserted by this call, in input order.
        """
        if isinstance(checkpoint_block, bool) or not isinstance(checkpoint_block, int):
            raise ValueError(f"checkpoint_block must be an int, got {checkpoint_block!r}")
        if not 0 <= checkpoint_block <= _MAX_INT64:
            raise ValueError(f"checkpoint_block must be in 0..2**63-1, got {checkpoint_block}")
        inserted: list[int] = []
        with self._write() as conn:
            now = _utc_now()
            for event in events:
                if not isinstance(event, NewEvent):
                    raise TypeError(
                        f"record_batch expects NewEvent items, got {type(event).__name__}"
                    )
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO deployments (proposal_id, block_number, tx_hash, "
                    "log_index, sender, spec_json, spec_hash, state, first_seen_at, updated_at, "
                    "kind, target_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        str(event.proposal_id),
                        event.block_number,
                        event.tx_hash,
                        event.log_index,
                        event.sender,
                        event.spec_json,
                        event.spec_hash,
                        DeploymentState.RECORDED.value,
                        now,
                        now,
                        event.kind,
                        None if event.target_id is None else str(event.target_id),
                    ),
                )
                if cursor.rowcount == 1:
                    inserted.append(event.proposal_id)
                    self._emit(
                        conn,
                        event.proposal_id,
                        "executed",
                        {"action": event.kind, "target": event.target_id},
                    )
                    self._append_history(
                        conn,
                        event.proposal_id,
                        DeploymentState.RECORDED,
                        f"DeployEvent in block {event.block_number} (tx {event.tx_hash})",
                    )
                else:
                    self._report_known_event(conn, event)
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('checkpoint_block', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = CAST(MAX(CAST(value AS INTEGER), "
                "CAST(excluded.value AS INTEGER)) AS TEXT)",
                (str(checkpoint_block),),
            )
        return inserted

    # -- transitions -----------------------------------------------------------------------------

    def mark_rejected(self, proposal_id: int, reason: str) -> DeploymentRow:
        """Bad spec, policy refusal or undecodable payload: terminal, never deployed.

        Allowed from CREATING too: the bot rejects such a row only after its in-flight window
        passed and the lookup found no instance.
        """
        _check_text("reason", reason)
        return self._transition(
            "mark_rejected", proposal_id, DeploymentState.REJECTED, {"reason": reason}, note=reason
        )

    def mark_planned(self, proposal_id: int, deployment_name: str) -> DeploymentRow:
        """Dry run: validated, nothing created. A later real run deploys PLANNED rows."""
        _check_text("deployment_name", deployment_name)
        return self._transition(
            "mark_planned",
            proposal_id,
            DeploymentState.PLANNED,
            {"deployment_name": deployment_name, "reason": None},
            note=f"dry run: would deploy as {deployment_name}",
        )

    def mark_creating(
        self,
        proposal_id: int,
        deployment_name: str,
        *,
        in_flight_until: float,
        deployments_before: Sequence[str] | None = None,
    ) -> DeploymentRow:
        """Commit the intent to create *immediately before* the request is sent; bumps
        ``attempts``. ``in_flight_until`` is the Unix time by which that request has certainly
        ended on the server.

        A retry of a ``CREATING`` row must keep its deployment name, because that name is how
        the bot finds an instance that an earlier attempt may already have created.
        """
        _check_text("deployment_name", deployment_name)
        _check_time("in_flight_until", in_flight_until)
        with self._write() as conn:
            current = self._current(conn, proposal_id)
            self._check_allowed("mark_creating", current, DeploymentState.CREATING)
            if (
                current.state is DeploymentState.CREATING
                and current.deployment_name != deployment_name
            ):
                raise InvalidTransitionError(
                    f"proposal {proposal_id} is already CREATING as {current.deployment_name!r}; "
                    f"a retry must reuse that name, not {deployment_name!r}"
                )
            return self._update(
                conn,
                proposal_id,
                DeploymentState.CREATING,
                {
                    "deployment_name": deployment_name,
                    "reason": None,
                    "in_flight_until": in_flight_until,
                    "deployments_before": None
                    if deployments_before is None
                    else json.dumps(list(deployments_before)),
                },
                bump_attempts=True,
                note=f"{_REQUEST[current.kind]} request {current.attempts + 1} sent as "
                f"{deployment_name}",
            )

    def mark_not_sent(self, proposal_id: int, reason: str) -> DeploymentRow:
        """The create request certainly never reached the target (e.g. connection refused): the
        row stays CREATING with no in-flight window, so the next attempt need not wait."""
        _check_text("reason", reason)
        return self._transition(
            "mark_not_sent",
            proposal_id,
            DeploymentState.CREATING,
            {"in_flight_until": None},
            note=f"create request not delivered: {reason}",
        )

    def mark_created(
        self,
        proposal_id: int,
        instance_id: str,
        deployment_id: str,
        *,
        at: float,
        note: str | None = None,
    ) -> DeploymentRow:
        """The target accepted the create (or an earlier one was found and adopted) at Unix time
        ``at``: store its instance id and deployment (order) id."""
        _check_text("instance_id", instance_id)
        _check_text("deployment_id", deployment_id)
        _check_time("at", at)
        return self._transition(
            "mark_created",
            proposal_id,
            DeploymentState.CREATED,
            {"instance_id": instance_id, "deployment_id": deployment_id, "created_at": at},
            note=note or f"created instance {instance_id} (deployment {deployment_id})",
        )

    def mark_progress(
        self, proposal_id: int, deployment_status: str, urls: Sequence[str] | None = None
    ) -> DeploymentRow:
        """The deployment is still under way: store the target's status text (and URLs).

        ``urls=None`` keeps the stored URLs; a sequence replaces them. Only a change of status
        is written to the history.
        """
        return self._status_update(
            "mark_progress", proposal_id, DeploymentState.CREATED, deployment_status, urls
        )

    def mark_deployed(
        self,
        proposal_id: int,
        deployment_status: str,
        urls: Sequence[str] | None = None,
        *,
        voted_spec_json: str | None = None,
        changes: Sequence[str] = (),
    ) -> DeploymentRow:
        """The deployment succeeded: terminal, with the target's status text and URLs.

        A deployment's instance now runs its own spec, which becomes the instance's voted state.
        An update must give `voted_spec_json`, the spec it led to: in the same transaction it
        becomes the voted state of its target's instance; `changes` (what it changed, in words)
        goes into the instance's history and the notification.
        """
        if isinstance(changes, str) or not all(isinstance(item, str) for item in changes):
            raise ValueError(f"changes must be a sequence of str, got {changes!r}")
        with self._write() as conn:
            current = self._current(conn, proposal_id)
            if current.kind == "update" and voted_spec_json is None:
                raise ValueError(f"proposal {proposal_id} is an update: give voted_spec_json")
            self._status_update_in(
                conn,
                "mark_deployed",
                current,
                DeploymentState.DEPLOYED,
                deployment_status,
                urls,
                event_fields={"changes": list(changes)} if current.kind == "update" else None,
            )
            if current.kind == "deploy":
                conn.execute(
                    "UPDATE deployments SET voted_spec_json = spec_json WHERE proposal_id = ?",
                    (str(proposal_id),),
                )
            elif current.target_id is not None:
                conn.execute(
                    "UPDATE deployments SET voted_spec_json = ? WHERE proposal_id = ?",
                    (voted_spec_json, str(current.target_id)),
                )
                target = self._current(conn, current.target_id)
                what = ": " + ", ".join(changes) if changes else ""
                self._append_history(
                    conn,
                    current.target_id,
                    target.state,
                    f"updated by proposal {proposal_id}{what}",
                )
            return self._current(conn, proposal_id)

    def mark_closed(self, proposal_id: int) -> DeploymentRow:
        """A close succeeded: terminal; its target's instance is closed from now on."""
        with self._write() as conn:
            current = self._current(conn, proposal_id)
            self._check_allowed("mark_closed", current, DeploymentState.CLOSED)
            if current.kind != "close" or current.target_id is None:
                raise InvalidTransitionError(f"proposal {proposal_id} is not a close")
            conn.execute(
                "UPDATE deployments SET closed_by = ?, drift = NULL WHERE proposal_id = ?",
                (str(proposal_id), str(current.target_id)),
            )
            target = self._current(conn, current.target_id)
            self._append_history(
                conn, current.target_id, target.state, f"closed by proposal {proposal_id}"
            )
            return self._update(
                conn,
                proposal_id,
                DeploymentState.CLOSED,
                {"in_flight_until": None},
                note=f"closed the instance of proposal {current.target_id}",
            )

    def record_drift(self, proposal_id: int, drift: Mapping[str, Any] | None) -> bool:
        """Store how a deployment's running instance differs from its voted spec (None: it does
        not). A new or changed drift is written to the history and the outbox; returns whether
        it changed."""
        text = None if drift is None else json.dumps(dict(drift), sort_keys=True)
        with self._write() as conn:
            current = self._current(conn, proposal_id)
            before = None if current.drift is None else json.dumps(current.drift, sort_keys=True)
            if before == text:
                return False
            conn.execute(
                "UPDATE deployments SET drift = ? WHERE proposal_id = ?", (text, str(proposal_id))
            )
            if drift is None:
                self._append_history(conn, proposal_id, current.state, "drift: none any more")
                return True
            differences = list(drift.get("differences", []))
            self._append_history(
                conn,
                proposal_id,
                current.state,
                f"drift ({drift['kind']}): " + "; ".join(differences),
            )
            self._emit(
                conn,
                proposal_id,
                "drift",
                {
                    "drift_kind": drift["kind"],
                    "differences": differences,
                    "instance_id": current.instance_id,
                },
            )
            return True

    def mark_failed(
        self, proposal_id: int, reason: str, *, deployment_status: str | None = None
    ) -> DeploymentRow:
        """Terminal failure (a 4xx from the target, a missing secret, a failed or timed-out
        deployment, ...). ``reason`` must not contain secret values."""
        _check_text("reason", reason)
        changes: dict[str, Any] = {"reason": reason}
        if deployment_status is not None:
            _check_text("deployment_status", deployment_status)
            changes["deployment_status"] = deployment_status
        return self._transition(
            "mark_failed", proposal_id, DeploymentState.FAILED, changes, note=reason
        )

    def note(self, proposal_id: int, text: str) -> None:
        """Append ``text`` to the row's history without changing the row (e.g. a closed
        duplicate instance)."""
        _check_text("text", text)
        with self._write() as conn:
            current = self._current(conn, proposal_id)
            self._append_history(conn, proposal_id, current.state, text)

    # -- queries ---------------------------------------------------------------------------------

    def get(self, proposal_id: int) -> DeploymentRow | None:
        _check_proposal_id(proposal_id)
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM deployments WHERE proposal_id = ?", (str(proposal_id),)
            ).fetchone()
        return None if row is None else _to_row(row)

    def history(self, proposal_id: int) -> list[HistoryEntry]:
        """The row's history, oldest first."""
        _check_proposal_id(proposal_id)
        with self._lock:
            rows = self._conn.execute(
                "SELECT proposal_id, at, state, note FROM history "
                "WHERE proposal_id = ? ORDER BY id",
                (str(proposal_id),),
            ).fetchall()
        return [
            HistoryEntry(int(pid), at, DeploymentState(state), note)
            for pid, at, state, note in rows
        ]

    def live_instances(self) -> list[DeploymentRow]:
        """Deployments whose instance runs as the DAO voted: DEPLOYED, not closed, and with no
        change of it in flight (whose new order would otherwise look like drift)."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM deployments AS d WHERE kind = 'deploy' "
                "AND state = 'DEPLOYED' AND closed_by IS NULL AND NOT EXISTS ("
                "SELECT 1 FROM deployments AS c WHERE c.target_id = d.proposal_id "
                "AND c.state IN ('PLANNED', 'CREATING', 'CREATED')) "
                "ORDER BY block_number, log_index"
            ).fetchall()
        return [_to_row(row) for row in rows]

    def outbox(self, limit: int | None = None) -> list[OutboxEvent]:
        """Every notification event, oldest first (the newest `limit` with a limit)."""
        query = "SELECT id, proposal_id, kind, fields, at FROM outbox ORDER BY id DESC"
        params: list[Any] = []
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        with self._lock:
            rows = self._conn.execute(query, params).fetchall()
        return [_to_event(row) for row in reversed(rows)]

    def pending_notifications(self, sink: str, *, limit: int) -> list[OutboxEvent]:
        """The events not yet delivered to `sink`, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT o.id, o.proposal_id, o.kind, o.fields, o.at FROM deliveries d "
                "JOIN outbox o ON o.id = d.event_id WHERE d.sink = ? AND d.delivered_at IS NULL "
                "ORDER BY o.id LIMIT ?",
                (sink, limit),
            ).fetchall()
        return [_to_event(row) for row in rows]

    def mark_notified(self, event_id: int, sink: str) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE deliveries SET delivered_at = ?, attempts = attempts + 1, "
                "last_error = NULL WHERE event_id = ? AND sink = ?",
                (_utc_now(), event_id, sink),
            )

    def notification_failed(self, event_id: int, sink: str, error: str) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ? "
                "WHERE event_id = ? AND sink = ?",
                (error[:500], event_id, sink),
            )

    def unfinished(self) -> list[DeploymentRow]:
        """Rows the bot must resume (RECORDED, PLANNED, CREATING, CREATED), in chain order."""
        placeholders = ", ".join("?" for _ in UNFINISHED_STATES)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM deployments WHERE state IN ({placeholders}) "
                "ORDER BY block_number, log_index",
                [state.value for state in UNFINISHED_STATES],
            ).fetchall()
        return [_to_row(row) for row in rows]

    def rows(
        self, limit: int | None = None, *, state: DeploymentState | None = None
    ) -> list[DeploymentRow]:
        """Rows in chain order (block, log index); with ``limit``, only the newest ones."""
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise ValueError(f"limit must be a non-negative int or None, got {limit!r}")
        where, params = (
            ("", []) if state is None else ("WHERE state = ?", [DeploymentState(state).value])
        )
        query = (
            f"SELECT {_COLUMNS} FROM deployments {where} ORDER BY block_number DESC, log_index DESC"
        )
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        with self._lock:
            rows = self._conn.execute(query, params).fetchall()
        return [_to_row(row) for row in reversed(rows)]

    def counts_by_state(self) -> dict[DeploymentState, int]:
        """Row count for every state (zero included)."""
        counts = dict.fromkeys(DeploymentState, 0)
        with self._lock:
            for state, count in self._conn.execute(
                "SELECT state, COUNT(*) FROM deployments GROUP BY state"
            ):
                counts[DeploymentState(state)] = count
        return counts

    # -- internals -------------------------------------------------------------------------------

    def _configure(self, busy_timeout_ms: int) -> None:
        self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._conn.execute("PRAGMA synchronous = NORMAL")

    def _schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        # A migration may rebuild a table that others reference: foreign keys are checked again
        # once it has committed. (The pragma has no effect inside a transaction.)
        with self._lock:
            self._conn.execute("PRAGMA foreign_keys = OFF")
        try:
            self._migrate_schema()
        finally:
            with self._lock:
                self._conn.execute("PRAGMA foreign_keys = ON")

    def _migrate_schema(self) -> None:
        with self._write() as conn:
            version = self._schema_version()
            if version > SCHEMA_VERSION:
                raise LedgerSchemaError(
                    f"ledger {self.path} has schema version {version}, newer than this code's "
                    f"{SCHEMA_VERSION}; upgrade spheron-dao-deploy",
                    version=version,
                )
            for target in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[target]:
                    conn.execute(statement)
                logger.info("ledger %s migrated to schema version %d", self.path, target + 1)
            # PRAGMA does not take parameters; the value is our own constant.
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _bind(self, chain_id: int, dao_address: str) -> None:
        with self._write() as conn:
            stored = dict(
                conn.execute(
                    "SELECT key, value FROM meta WHERE key IN ('chain_id', 'dao_address')"
                ).fetchall()
            )
            if not stored:
                conn.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("chain_id", str(chain_id)), ("dao_address", dao_address)],
                )
                return
            if stored != {"chain_id": str(chain_id), "dao_address": dao_address}:
                raise LedgerMismatchError(
                    f"ledger {self.path} belongs to chain {stored.get('chain_id')} DAO "
                    f"{stored.get('dao_address')}, not chain {chain_id} DAO {dao_address}; "
                    "use the ledger file of that chain and contract"
                )

    def _meta(self, key: str) -> str:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise LedgerError(f"ledger {self.path} has no {key!r} in its meta table")
        return str(row[0])

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, begun IMMEDIATE so it never fails half-way on a lock."""
        if self.read_only:
            raise LedgerReadOnlyError(f"ledger {self.path} was opened read-only")
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def _transition(
        self,
        method: str,
        proposal_id: int,
        target: DeploymentState,
        changes: dict[str, Any],
        *,
        note: str | None = None,
    ) -> DeploymentRow:
        with self._write() as conn:
            current = self._current(conn, proposal_id)
            self._check_allowed(method, current, target)
            return self._update(conn, proposal_id, target, changes, note=note)

    def _status_update(
        self,
        method: str,
        proposal_id: int,
        target: DeploymentState,
        deployment_status: str,
        urls: Sequence[str] | None,
    ) -> DeploymentRow:
        with self._write() as conn:
            current = self._current(conn, proposal_id)
            return self._status_update_in(conn, method, current, target, deployment_status, urls)

    def _status_update_in(
        self,
        conn: sqlite3.Connection,
        method: str,
        current: DeploymentRow,
        target: DeploymentState,
        deployment_status: str,
        urls: Sequence[str] | None,
        *,
        event_fields: Mapping[str, Any] | None = None,
    ) -> DeploymentRow:
        _check_text("deployment_status", deployment_status)
        changes: dict[str, Any] = {"deployment_status": deployment_status}
        if urls is not None:
            if isinstance(urls, str) or not all(isinstance(url, str) for url in urls):
                raise ValueError(f"urls must be a sequence of str, got {urls!r}")
            changes["urls"] = json.dumps(list(urls))
        self._check_allowed(method, current, target)
        changed = current.deployment_status != deployment_status or current.state is not target
        note = f"deployment status {deployment_status}" if changed else None
        return self._update(
            conn,
            current.proposal_id,
            target,
            changes,
            note=note,
            history=changed,
            event_fields=event_fields,
        )

    def _current(self, conn: sqlite3.Connection, proposal_id: int) -> DeploymentRow:
        _check_proposal_id(proposal_id)
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM deployments WHERE proposal_id = ?", (str(proposal_id),)
        ).fetchone()
        if row is None:
            raise UnknownProposalError(f"proposal {proposal_id} is not in ledger {self.path}")
        return _to_row(row)

    @staticmethod
    def _check_allowed(method: str, current: DeploymentRow, target: DeploymentState) -> None:
        allowed = _ALLOWED_FROM[method]
        if current.state not in allowed:
            expected = ", ".join(sorted(state.value for state in allowed))
            raise InvalidTransitionError(
                f"{method}: proposal {current.proposal_id} cannot go from {current.state.value} to "
                f"{target.value} (allowed from: {expected})"
            )

    def _update(
        self,
        conn: sqlite3.Connection,
        proposal_id: int,
        target: DeploymentState,
        changes: dict[str, Any],
        *,
        bump_attempts: bool = False,
        note: str | None = None,
        history: bool = True,
        event_fields: Mapping[str, Any] | None = None,
    ) -> DeploymentRow:
        previous = conn.execute(
            "SELECT state FROM deployments WHERE proposal_id = ?", (str(proposal_id),)
        ).fetchone()
        previous = None if previous is None else DeploymentState(previous[0])
        # Column names come from this module only, never from callers.
        assignments = ["state = ?", "updated_at = ?", *(f"{column} = ?" for column in changes)]
        if bump_attempts:
            assignments.append("attempts = attempts + 1")
        conn.execute(
            f"UPDATE deployments SET {', '.join(assignments)} WHERE proposal_id = ?",
            [target.value, _utc_now(), *changes.values(), str(proposal_id)],
        )
        if history:
            self._append_history(conn, proposal_id, target, note)
        row = self._current(conn, proposal_id)
        if target in _EVENT_OF and previous is not target:
            fields = {**_event_fields(row), **(event_fields or {})}
            self._emit(conn, proposal_id, _EVENT_OF[target](row), fields)
        return row

    def _emit(
        self, conn: sqlite3.Connection, proposal_id: int, kind: str, fields: Mapping[str, Any]
    ) -> None:
        """Write an event to the outbox, with one pending delivery per configured sink, in the
        caller's transaction: it is notified if and only if the change it reports committed."""
        cursor = conn.execute(
            "INSERT INTO outbox (proposal_id, kind, fields, at) VALUES (?, ?, ?, ?)",
            (str(proposal_id), kind, json.dumps(dict(fields), sort_keys=True), _utc_now()),
        )
        conn.executemany(
            "INSERT INTO deliveries (event_id, sink) VALUES (?, ?)",
            [(cursor.lastrowid, sink) for sink in self._sinks],
        )

    @staticmethod
    def _append_history(
        conn: sqlite3.Connection, proposal_id: int, state: DeploymentState, note: str | None
    ) -> None:
        conn.execute(
            "INSERT INTO history (proposal_id, at, state, note) VALUES (?, ?, ?, ?)",
            (str(proposal_id), _utc_now(), state.value, note),
        )

    def _report_known_event(self, conn: sqlite3.Connection, event: NewEvent) -> None:
        existing = conn.execute(
            f"SELECT {_COLUMNS} FROM deployments WHERE proposal_id = ? "
            "OR (tx_hash = ? AND log_index = ?)",
            (str(event.proposal_id), event.tx_hash, event.log_index),
        ).fetchall()
        for row in map(_to_row, existing):
            same_payload = (
                row.proposal_id == event.proposal_id
                and row.sender == event.sender
                and row.spec_hash == event.spec_hash
            )
            if same_payload:
                logger.debug(
                    "proposal %d already recorded (tx %s log %d); ignored",
                    event.proposal_id,
                    event.tx_hash,
                    event.log_index,
                )
            else:
                logger.warning(
                    "conflicting DeployEvent ignored: proposal %d from %s spec %s at tx %s log %d; "
                    "the ledger keeps proposal %d from %s spec %s at tx %s log %d",
                    event.proposal_id,
                    event.sender,
                    event.spec_hash,
                    event.tx_hash,
                    event.log_index,
                    row.proposal_id,
                    row.sender,
                    row.spec_hash,
                    row.tx_hash,
                    row.log_index,
                )


def _to_row(row: Sequence[Any]) -> DeploymentRow:
    (
        proposal_id,
        block_number,
        tx_hash,
        log_index,
        sender,
        spec_json,
        spec_hash,
        deployment_name,
        state,
        reason,
        instance_id,
        deployment_id,
        deployment_status,
        urls,
        attempts,
        first_seen_at,
        updated_at,
        in_flight_until,
        created_at,
        kind,
        target_id,
        voted_spec_json,
        closed_by,
        drift,
        deployments_before,
    ) = row
    return DeploymentRow(
        proposal_id=int(proposal_id),
        block_number=block_number,
        tx_hash=tx_hash,
        log_index=log_index,
        sender=sender,
        spec_json=spec_json,
        spec_hash=spec_hash,
        deployment_name=deployment_name,
        state=DeploymentState(state),
        reason=reason,
        instance_id=instance_id,
        deployment_id=deployment_id,
        deployment_status=deployment_status,
        urls=tuple(json.loads(urls)),
        attempts=attempts,
        first_seen_at=first_seen_at,
        updated_at=updated_at,
        in_flight_until=in_flight_until,
        created_at=created_at,
        kind=kind,
        target_id=None if target_id is None else int(target_id),
        voted_spec_json=voted_spec_json,
        closed_by=None if closed_by is None else int(closed_by),
        drift=None if drift is None else json.loads(drift),
        deployments_before=None
        if deployments_before is None
        else tuple(json.loads(deployments_before)),
    )


def _to_event(row: Sequence[Any]) -> OutboxEvent:
    event_id, proposal_id, kind, fields, _at = row
    return OutboxEvent(
        id=event_id, kind=kind, proposal_id=int(proposal_id), fields=json.loads(fields)
    )


def _event_fields(row: DeploymentRow) -> dict[str, Any]:
    fields: dict[str, Any] = {"action": row.kind, "instance_id": row.instance_id}
    if row.target_id is not None:
        fields["target"] = row.target_id
    if row.reason:
        fields["reason"] = row.reason
    if row.urls:
        fields["urls"] = list(row.urls)
    return fields


#: The notification a row's arrival in a terminal state makes.
_EVENT_OF: dict[DeploymentState, Callable[[DeploymentRow], str]] = {
    DeploymentState.DEPLOYED: lambda row: "updated" if row.kind == "update" else "deployed",
    DeploymentState.CLOSED: lambda row: "closed",
    DeploymentState.FAILED: lambda row: "failed",
    DeploymentState.REJECTED: lambda row: "rejected",
}


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _check_chain_id(chain_id: int) -> None:
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or chain_id <= 0:
        raise ValueError(f"chain_id must be a positive int, got {chain_id!r}")


def _check_proposal_id(proposal_id: int) -> None:
    if (
        isinstance(proposal_id, bool)
        or not isinstance(proposal_id, int)
        or not 0 <= proposal_id <= _MAX_UINT256
    ):
        raise ValueError(f"proposal_id must be an int in the uint256 range, got {proposal_id!r}")


def _check_time(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"{name} must be a Unix time (a non-negative number), got {value!r}")


def _check_text(name: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")


def _normalise_address(address: str) -> str:
    if not isinstance(address, str) or not _ADDRESS_RE.match(address):
        raise ValueError(f"DAO address must be a 0x-prefixed 20-byte hex address, got {address!r}")
    return address.lower()
