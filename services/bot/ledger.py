"""The deploy bot's durable ledger: one database per (chain, DAO contract), SQLite or PostgreSQL.

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
                            CREATING ──► CLOSED*  (a close: the instance it closes is closed)

- ``kind`` says what the proposal asks for, read from the voted JSON when the event is recorded:
  ``deploy`` (a bare spec), or ``update``/``close`` of the instance proposal ``target_id``
  deployed (`services.bot.changes`). A deployment keeps its instance's voted state
  (``voted_spec_json``: its spec, then each update applied), the close that closed it
  (``closed_by``) and its ``drift`` from what was voted (`services.bot.drift`).

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
- Durability: every change is one transaction. SQLite runs in WAL mode with
  ``synchronous=NORMAL``: a commit survives the process being killed (``kill -9``) at any point;
  only an OS crash or power loss can drop the latest commits, and then the ledger rolls back
  consistently (rows with their checkpoint) and the bot, which looks every deployment name up on
  Spheron before creating it, adopts what was created. ``FULL`` would add an fsync to every
  transition for no gain in that guarantee. PostgreSQL keeps its own settings.
- Backends: a path is a SQLite file, ``postgresql://...`` a PostgreSQL database
  (`services.bot.ledger_store`); the tables and their migrations (`services.bot.ledger_schema`)
  and every query here are the same for both (SQLAlchemy Core). Transitions lock their row
  (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's write transactions are exclusive), so
  concurrent writers never lose an update.
- ``PLANNED`` is what a dry run leaves behind: the spec was validated and a deployment name
  chosen, but nothing was created. It is not terminal: ``unfinished()`` returns it, and a later
  real run treats it exactly like ``RECORDED`` (re-validate, then ``mark_creating``), so
  approved proposals seen during a dry run still get deployed. A later dry run may plan it again.
- Reasons, names and ids are stored as given. Callers must pass only *references* to secrets
  (e.g. "secret SPHERON_DB_PASSWORD is not set"), never secret values; ``spec_json`` is the
  public JSON that was emitted on chain, so it holds no secrets either.

Seeing events and moving the checkpoint happen in one transaction (``record_batch``), so after
a crash the checkpoint never claims a block whose events were not recorded.

Notifications are written to the ``outbox`` in the transaction of the change they report (a
proposal executed, deployed, updated, closed, failed, rejected; drift), with one ``deliveries``
row per configured sink; `services.bot.outbox` delivers them. An event is notified if and only if
its change committed, and survives ``kill -9`` until it is delivered.

Several replicas may share a PostgreSQL ledger. A replica works on a row only while it holds the
row's *claim* (``claimed_by`` and ``claim_until``, a lease on the database's clock: ``claim``,
``release_claims``); ``mark_creating(claimed_by=...)`` commits CREATING only while the claim is
still that replica's. ``now()`` is the database's clock, which the deployer uses for every time it
stores or compares, so the replicas' hosts need not agree on the time.

Proposal ids are ``uint256`` on chain, wider than 64-bit integers, so they are stored as decimal
text and exposed as ``int``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from services.bot.ledger_schema import (
    METADATA,
    SCHEMA_VERSION,
    deliveries,
    deployments,
    history,
    meta,
    migrate,
    outbox,
    schema_version,
    unix_now,
)
from services.bot.ledger_store import (
    WRITE_OPTION,
    LedgerConfigurationError,
    LedgerError,
    LedgerLocation,
    LedgerUnavailableError,
    open_engine,
    translated_errors,
)
from services.bot.notify import Event
from services.spec.proposal import peek_kind

__all__ = [
    "SCHEMA_VERSION",
    "Claim",
    "ClaimLostError",
    "DeploymentRow",
    "DeploymentState",
    "HistoryEntry",
    "InvalidTransitionError",
    "Ledger",
    "LedgerConfigurationError",
    "LedgerError",
    "LedgerLocation",
    "LedgerMismatchError",
    "LedgerNotEmptyError",
    "LedgerReadOnlyError",
    "LedgerSchemaError",
    "LedgerUnavailableError",
    "NewEvent",
    "OutboxEvent",
    "UnknownProposalError",
    "default_ledger_path",
    "read_binding",
    "read_rows",
]

logger = logging.getLogger(__name__)

DEFAULT_BUSY_TIMEOUT_MS = 5_000
DEFAULT_BASE_DIR_NAME = ".spheron-dao-deploy"

_MAX_UINT256 = 2**256 - 1
#: The request each kind of row sends (in its history).
_REQUEST = {"deploy": "create", "update": "update", "close": "close"}
_MAX_INT64 = 2**63 - 1  # SQLite INTEGER, PostgreSQL BIGINT
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


class LedgerMismatchError(LedgerError):
    """The ledger belongs to another chain or DAO contract."""


class LedgerSchemaError(LedgerError):
    """The ledger's schema version (``version``) cannot be used by this code."""

    def __init__(self, message: str, *, version: int) -> None:
        super().__init__(message)
        self.version = version


class LedgerReadOnlyError(LedgerError):
    """A write was attempted through a read-only ledger."""


class ClaimLostError(LedgerError):
    """The row is claimed by another replica now: this one must not act on it."""


class LedgerNotEmptyError(LedgerError):
    """A copy was asked into a ledger that already holds rows or a checkpoint."""


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
    strings; ``in_flight_until``, ``created_at`` and ``claim_until`` are Unix times of the
    database's clock (see the module docstring); ``claimed_by`` is the replica working on it."""

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
    claimed_by: str | None = None
    claim_until: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (state as its string value, urls as a list)."""
        data = asdict(self)
        data["state"] = self.state.value
        data["urls"] = list(self.urls)
        if self.deployments_before is not None:
            data["deployments_before"] = list(self.deployments_before)
        return data


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


@dataclass(frozen=True)
class Claim:
    """A row this replica may now work on: its current state, and the replica whose expired
    claim it took over (None when the row was free or already this replica's)."""

    row: DeploymentRow
    taken_from: str | None
    renewed: bool


_ROW_COLUMNS = tuple(deployments.c[name] for name in DeploymentRow.__dataclass_fields__)
_COLUMN_NAMES = frozenset(deployments.c.keys())
_UNFINISHED_VALUES = tuple(state.value for state in UNFINISHED_STATES)
_BINDING_KEYS = ("chain_id", "dao_address")

# The statements of the hot paths, built once: values come with each execution, so SQLAlchemy
# neither rebuilds nor recompiles them (building a statement per call cost more than running it).
_PID = sa.bindparam("pid")
_SELECT_ROW = sa.select(*_ROW_COLUMNS).where(deployments.c.proposal_id == _PID)
_SELECT_ROW_LOCKED = _SELECT_ROW.with_for_update()
_CHANGE_ROW = deployments.update().where(deployments.c.proposal_id == _PID).returning(*_ROW_COLUMNS)
_CHANGE_ROW_BUMPING_ATTEMPTS = _CHANGE_ROW.values(attempts=deployments.c.attempts + 1)
_CLAIM_ROW = _CHANGE_ROW.values(claim_until=unix_now() + sa.bindparam("lease_s"))
_INSERT_HISTORY = history.insert()
_INSERT_EVENT = outbox.insert().returning(outbox.c.id)
_INSERT_DELIVERY = deliveries.insert()
_EVENT_COLUMNS = (outbox.c.id, outbox.c.proposal_id, outbox.c.kind, outbox.c.fields)


def read_rows(location: str | Path | LedgerLocation) -> list[DeploymentRow]:
    """The rows of the ledger at ``location`` (read-only), or ``[]`` if the bot has not created
    it yet (no file, or a database whose first migration has not committed)."""
    if not LedgerLocation.parse(location).exists():
        return []
    try:
        ledger = Ledger.open_readonly(location)
    except LedgerSchemaError as error:
        if error.version == 0:
            return []
        raise
    with ledger:
        return ledger.rows()


def read_binding(location: str | Path | LedgerLocation) -> tuple[int, str]:
    """The (chain id, DAO address) a ledger of any schema version is bound to, read without
    migrating it."""
    parsed = LedgerLocation.parse(location)
    if not parsed.exists():
        raise FileNotFoundError(f"no ledger at {parsed}")
    engine = open_engine(parsed, read_only=True, busy_timeout_ms=DEFAULT_BUSY_TIMEOUT_MS)
    try:
        with translated_errors(parsed), engine.connect() as conn:
            if not sa.inspect(conn).has_table("meta"):
                raise LedgerSchemaError(f"ledger {parsed} has no tables yet", version=0)
            stored = dict(
                conn.execute(
                    sa.select(meta.c.key, meta.c.value).where(meta.c.key.in_(_BINDING_KEYS))
                ).all()
            )
    finally:
        engine.dispose()
    if set(stored) != set(_BINDING_KEYS):
        raise LedgerError(f"ledger {parsed} is not bound to a chain and DAO yet")
    return int(stored["chain_id"]), stored["dao_address"]


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

    ``location`` is a SQLite file path or a ``postgresql://`` URL (see
    `services.bot.ledger_store`). On SQLite one process writes (the bot holds a lock file) and any
    number of processes read at the same time through ``Ledger.open_readonly`` (WAL mode); on
    PostgreSQL several bots may write. Within one instance, calls from several threads are
    serialised by a lock.
    """

    def __init__(
        self,
        location: str | Path | LedgerLocation,
        *,
        chain_id: int,
        dao_address: str,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        notify_sinks: Sequence[str] = (),
    ) -> None:
        _check_chain_id(chain_id)
        address = _normalise_address(dao_address)
        self._open(location, read_only=False, busy_timeout_ms=busy_timeout_ms)
        #: The notification sinks each new outbox event gets a delivery row for.
        self._sinks = tuple(notify_sinks)
        try:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._migrate()
            self._bind(chain_id, address)
        except BaseException:
            self._engine.dispose()
            raise

    @classmethod
    def open_readonly(
        cls,
        location: str | Path | LedgerLocation,
        *,
        chain_id: int | None = None,
        dao_address: str | None = None,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> Ledger:
        """Open an existing ledger for reading only (e.g. the status command or status server).

        If ``chain_id`` / ``dao_address`` are given they must match the ledger's binding.
        """
        where = LedgerLocation.parse(location)
        if where.path is not None and not where.path.is_file():
            raise FileNotFoundError(f"no ledger at {where.path}; the bot creates it on first run")
        ledger = cls.__new__(cls)
        ledger._open(where, read_only=True, busy_timeout_ms=busy_timeout_ms)
        try:
            version = ledger.schema_version
            if version != SCHEMA_VERSION:
                remedy = (
                    "upgrade spheron-dao-deploy"
                    if version > SCHEMA_VERSION
                    else "run the bot once (read-write) to migrate it"
                )
                raise LedgerSchemaError(
                    f"ledger {ledger.location} has schema version {version}, this code reads "
                    f"version {SCHEMA_VERSION}; {remedy}",
                    version=version,
                )
            if chain_id is not None and chain_id != ledger.chain_id:
                raise LedgerMismatchError(
                    f"ledger {ledger.location} belongs to chain {ledger.chain_id}, "
                    f"not chain {chain_id}"
                )
            if dao_address is not None and _normalise_address(dao_address) != ledger.dao_address:
                raise LedgerMismatchError(
                    f"ledger {ledger.location} belongs to DAO {ledger.dao_address}, "
                    f"not {dao_address}"
                )
        except BaseException:
            ledger._engine.dispose()
            raise
        return ledger

    def _open(
        self, location: str | Path | LedgerLocation, *, read_only: bool, busy_timeout_ms: int
    ) -> None:
        self.location = LedgerLocation.parse(location)
        #: The SQLite file, or None on PostgreSQL.
        self.path = self.location.path
        self.read_only = read_only
        self._sinks: tuple[str, ...] = ()
        self._lock = threading.RLock()
        self._engine = open_engine(
            self.location, read_only=read_only, busy_timeout_ms=busy_timeout_ms
        )

    # -- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._engine.dispose()

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

    @property
    def schema_version(self) -> int:
        with self._read() as conn:
            return schema_version(conn)

    def pragmas(self) -> dict[str, int | str]:
        """The connection's SQLite settings, for diagnostics (journal mode is ``wal``)."""
        if self.path is None:
            raise LedgerError(f"ledger {self.location} is not SQLite; it has no pragmas")
        names = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "user_version")
        with self._read() as conn:
            values = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in names}
        values["journal_mode"] = str(values["journal_mode"]).lower()
        return values

    def checkpoint(self) -> int | None:
        """The last block whose events are all recorded, or ``None`` before the first batch."""
        with self._read() as conn:
            value = conn.execute(
                sa.select(meta.c.value).where(meta.c.key == "checkpoint_block")
            ).scalar()
        return None if value is None else int(value)

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
            insert = _insert(conn, deployments).on_conflict_do_nothing()
            for event in events:
                if not isinstance(event, NewEvent):
                    raise TypeError(
                        f"record_batch expects NewEvent items, got {type(event).__name__}"
                    )
                result = conn.execute(
                    insert,
                    {
                        "proposal_id": str(event.proposal_id),
                        "block_number": event.block_number,
                        "tx_hash": event.tx_hash,
                        "log_index": event.log_index,
                        "sender": event.sender,
                        "spec_json": event.spec_json,
                        "spec_hash": event.spec_hash,
                        "state": DeploymentState.RECORDED.value,
                        "first_seen_at": now,
                        "updated_at": now,
                        "kind": event.kind,
                        "target_id": None if event.target_id is None else str(event.target_id),
                    },
                    execution_options={"preserve_rowcount": True},
                )
                if result.rowcount == 1:
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
            upsert = _insert(conn, meta).values(key="checkpoint_block", value=str(checkpoint_block))
            stored, given = (
                sa.cast(meta.c.value, sa.BigInteger),
                sa.cast(upsert.excluded.value, sa.BigInteger),
            )
            conn.execute(
                upsert.on_conflict_do_update(
                    index_elements=[meta.c.key],
                    set_={
                        "value": sa.case(
                            (stored >= given, meta.c.value), else_=upsert.excluded.value
                        )
                    },
                )
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
            {"deployment_name": deployment_name},
            note=f"dry run: would deploy as {deployment_name}",
        )

    def mark_creating(
        self,
        proposal_id: int,
        deployment_name: str,
        *,
        in_flight_until: float,
        claimed_by: str | None = None,
        deployments_before: Sequence[str] | None = None,
    ) -> DeploymentRow:
        """Commit the intent to create *immediately before* the request is sent; bumps
        ``attempts``. ``in_flight_until`` is the Unix time by which that request has certainly
        ended on the server.

        A retry of a ``CREATING`` row must keep its deployment name, because that name is how
        the bot finds an instance that an earlier attempt may already have created.

        With ``claimed_by``, the row must still be claimed by that replica (`ClaimLostError`
        otherwise): a replica whose claim expired and was taken over while it looked the name
        up must not send a create. This check, made in the same transaction as the commit, is
        what makes claims safe whatever the clocks and however long a step takes.

        An update gives ``deployments_before``, the instance's deployments before it is sent: how
        its own new deployment is recognised after a crash.
        """
        _check_text("deployment_name", deployment_name)
        _check_time("in_flight_until", in_flight_until)
        with self._write() as conn:
            current = self._current(conn, proposal_id)
            if claimed_by is not None and current.claimed_by != claimed_by:
                raise ClaimLostError(
                    f"proposal {proposal_id} is claimed by {current.claimed_by}, not {claimed_by}"
                )
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
                    "in_flight_until": in_flight_until,
                    "deployments_before": None
                    if deployments_before is None
                    else json.dumps(list(deployments_before)),
                },
                previous=current.state,
                bump_attempts=True,
                note=f"{_REQUEST[current.kind]} request {current.attempts + 1} sent as "
                f"{deployment_name}",
            )

    def mark_not_sent(self, proposal_id: int, reason: str) -> DeploymentRow:
        """The row's request (create, update or close) certainly never reached the target (e.g.
        connection refused): the row stays CREATING with no in-flight window, so the next attempt
        need not wait."""
        _check_text("reason", reason)
        return self._transition(
            "mark_not_sent",
            proposal_id,
            DeploymentState.CREATING,
            {"in_flight_until": None},
            note=lambda current: f"{_REQUEST[current.kind]} request not delivered: {reason}",
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
        becomes the voted state of its target's instance, and the update's URLs (of its new order)
        become the instance's; `changes` (what it changed, in words)
        goes into the instance's history and the notification.
        """
        if isinstance(changes, str) or not all(isinstance(item, str) for item in changes):
            raise ValueError(f"changes must be a sequence of str, got {changes!r}")
        with self._write() as conn:
            current = self._current(conn, proposal_id)
            if current.kind == "update" and voted_spec_json is None:
                raise ValueError(f"proposal {proposal_id} is an update: give voted_spec_json")
            row = self._status_update_in(
                conn,
                "mark_deployed",
                current,
                DeploymentState.DEPLOYED,
                deployment_status,
                urls,
                event_fields={"changes": list(changes)} if current.kind == "update" else None,
            )
            if current.kind == "deploy":
                return self._set(conn, proposal_id, voted_spec_json=row.spec_json)
            if current.target_id is not None:
                target = self._set(
                    conn,
                    current.target_id,
                    voted_spec_json=voted_spec_json,
                    urls=json.dumps(list(row.urls)),
                )
                what = ": " + ", ".join(changes) if changes else ""
                self._append_history(
                    conn,
                    current.target_id,
                    target.state,
                    f"updated by proposal {proposal_id}{what}",
                )
            return row

    def mark_closed(self, proposal_id: int) -> DeploymentRow:
        """A close succeeded: terminal; its target's instance is closed from now on."""
        with self._write() as conn:
            current = self._current(conn, proposal_id)
            self._check_allowed("mark_closed", current, DeploymentState.CLOSED)
            if current.kind != "close" or current.target_id is None:
                raise InvalidTransitionError(f"proposal {proposal_id} is not a close")
            target = self._set(conn, current.target_id, closed_by=str(proposal_id), drift=None)
            self._append_history(
                conn, current.target_id, target.state, f"closed by proposal {proposal_id}"
            )
            return self._update(
                conn,
                proposal_id,
                DeploymentState.CLOSED,
                {"in_flight_until": None},
                previous=current.state,
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
            self._set(conn, proposal_id, drift=text)
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

    # -- claims (several replicas on one ledger) --------------------------------------------------

    def now(self) -> float:
        """The database's clock, as Unix time. Every replica compares times against this one
        clock (in-flight windows, deploy timeouts, claim leases), so the clocks of their hosts
        may disagree."""
        with self._read() as conn:
            return float(conn.execute(sa.select(unix_now())).scalar_one())

    def claim(self, proposal_id: int, replica: str, *, lease_s: float) -> Claim | None:
        """Claim (or renew) the row for ``replica`` until ``lease_s`` seconds from now on the
        database's clock. None when the row is finished or another replica's claim has not
        expired; otherwise the row as it is now, which the caller must act on (not an older copy).
        """
        _check_text("replica", replica)
        if not lease_s > 0:
            raise ValueError(f"lease_s must be > 0, got {lease_s!r}")
        with self._write() as conn:
            current = self._current(conn, proposal_id)
            if current.state.is_terminal:
                return None
            holder = current.claimed_by
            if holder not in (None, replica):
                now = conn.execute(sa.select(unix_now())).scalar_one()
                if current.claim_until is not None and current.claim_until > now:
                    return None
            claimed = conn.execute(
                _CLAIM_ROW, {"pid": str(proposal_id), "claimed_by": replica, "lease_s": lease_s}
            ).one()
            return Claim(
                row=_to_row(claimed),
                taken_from=holder if holder not in (None, replica) else None,
                renewed=holder == replica,
            )

    def release_claims(self, replica: str, proposal_id: int | None = None) -> int:
        """Give up ``replica``'s claim on one row (or on all of them), so another replica may
        take it at once; returns how many were released."""
        query = deployments.update().where(deployments.c.claimed_by == replica)
        if proposal_id is not None:
            _check_proposal_id(proposal_id)
            query = query.where(deployments.c.proposal_id == str(proposal_id))
        with self._write() as conn:
            result = conn.execute(query.values(claimed_by=None, claim_until=None))
            return int(result.rowcount)

    def claims_held(self, replica: str) -> int:
        """Unfinished rows ``replica`` holds an unexpired claim on."""
        with self._read() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(deployments)
                    .where(
                        deployments.c.claimed_by == replica,
                        deployments.c.claim_until > unix_now(),
                        deployments.c.state.in_(_UNFINISHED_VALUES),
                    )
                ).scalar_one()
            )

    # -- queries ---------------------------------------------------------------------------------

    def get(self, proposal_id: int) -> DeploymentRow | None:
        _check_proposal_id(proposal_id)
        with self._read() as conn:
            row = conn.execute(_SELECT_ROW, {"pid": str(proposal_id)}).one_or_none()
        return None if row is None else _to_row(row)

    def history(self, proposal_id: int) -> list[HistoryEntry]:
        """The row's history, oldest first."""
        _check_proposal_id(proposal_id)
        with self._read() as conn:
            rows = conn.execute(
                sa.select(history.c.proposal_id, history.c.at, history.c.state, history.c.note)
                .where(history.c.proposal_id == str(proposal_id))
                .order_by(history.c.id)
            ).all()
        return [
            HistoryEntry(int(pid), at, DeploymentState(state), note)
            for pid, at, state, note in rows
        ]

    def live_instances(self) -> list[DeploymentRow]:
        """Deployments whose instance runs as the DAO voted: DEPLOYED, not closed, and with no
        change of it in flight (whose new order would otherwise look like drift)."""
        change = deployments.alias("change")
        in_flight = sa.exists().where(
            change.c.target_id == deployments.c.proposal_id,
            change.c.state.in_([_S.PLANNED.value, _S.CREATING.value, _S.CREATED.value]),
        )
        with self._read() as conn:
            rows = conn.execute(
                sa.select(*_ROW_COLUMNS)
                .where(
                    deployments.c.kind == "deploy",
                    deployments.c.state == _S.DEPLOYED.value,
                    deployments.c.closed_by.is_(None),
                    ~in_flight,
                )
                .order_by(deployments.c.block_number, deployments.c.log_index)
            ).all()
        return [_to_row(row) for row in rows]

    def outbox(self, limit: int | None = None) -> list[OutboxEvent]:
        """Every notification event, oldest first (the newest `limit` with a limit)."""
        query = sa.select(*_EVENT_COLUMNS).order_by(outbox.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [_to_event(row) for row in reversed(rows)]

    def pending_notifications(self, sink: str, *, limit: int) -> list[OutboxEvent]:
        """The events not yet delivered to `sink`, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                sa.select(*_EVENT_COLUMNS)
                .join(deliveries, deliveries.c.event_id == outbox.c.id)
                .where(deliveries.c.sink == sink, deliveries.c.delivered_at.is_(None))
                .order_by(outbox.c.id)
                .limit(limit)
            ).all()
        return [_to_event(row) for row in rows]

    def mark_notified(self, event_id: int, sink: str) -> None:
        """The event reached `sink`: it is not delivered there again."""
        self._change_delivery(
            event_id,
            sink,
            delivered_at=_utc_now(),
            attempts=deliveries.c.attempts + 1,
            last_error=None,
        )

    def notification_failed(self, event_id: int, sink: str, error: str) -> None:
        """A delivery of the event to `sink` failed; it stays pending."""
        self._change_delivery(
            event_id, sink, attempts=deliveries.c.attempts + 1, last_error=error[:500]
        )

    def _change_delivery(self, event_id: int, sink: str, **values: Any) -> None:
        with self._write() as conn:
            conn.execute(
                deliveries.update()
                .where(deliveries.c.event_id == event_id, deliveries.c.sink == sink)
                .values(**values)
            )

    def unfinished(self) -> list[DeploymentRow]:
        """Rows the bot must resume (RECORDED, PLANNED, CREATING, CREATED), in chain order."""
        with self._read() as conn:
            rows = conn.execute(
                sa.select(*_ROW_COLUMNS)
                .where(deployments.c.state.in_(_UNFINISHED_VALUES))
                .order_by(deployments.c.block_number, deployments.c.log_index)
            ).all()
        return [_to_row(row) for row in rows]

    def rows(
        self, limit: int | None = None, *, state: DeploymentState | None = None
    ) -> list[DeploymentRow]:
        """Rows in chain order (block, log index); with ``limit``, only the newest ones."""
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise ValueError(f"limit must be a non-negative int or None, got {limit!r}")
        query = sa.select(*_ROW_COLUMNS).order_by(
            deployments.c.block_number.desc(), deployments.c.log_index.desc()
        )
        if state is not None:
            query = query.where(deployments.c.state == DeploymentState(state).value)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [_to_row(row) for row in reversed(rows)]

    def counts_by_state(self) -> dict[DeploymentState, int]:
        """Row count for every state (zero included)."""
        counts = dict.fromkeys(DeploymentState, 0)
        with self._read() as conn:
            for state, count in conn.execute(
                sa.select(deployments.c.state, sa.func.count()).group_by(deployments.c.state)
            ):
                counts[DeploymentState(state)] = count
        return counts

    # -- copying ---------------------------------------------------------------------------------

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        """Every row of every table (checkpoint, rows, history, notifications, ...), read in one
        transaction: what `restore` writes into another ledger. Rows of a table with a generated
        key come in key order, with their keys (deliveries refer to outbox events by key)."""
        dumped: dict[str, list[dict[str, Any]]] = {}
        with self._read() as conn:
            for table in METADATA.sorted_tables:
                query = sa.select(table)
                if table.autoincrement_column is not None:
                    query = query.order_by(table.autoincrement_column)
                dumped[table.name] = [dict(row) for row in conn.execute(query).mappings()]
        return dumped

    def restore(self, dumped: dict[str, list[dict[str, Any]]]) -> None:
        """Write a `dump` of a ledger with the same binding into this one, in one transaction.

        Refused (`LedgerNotEmptyError`) unless this ledger holds nothing but its binding: a copy
        never mixes two histories. Generated keys keep their values, and the next ones follow
        the largest copied.
        """
        with self._write() as conn:
            self._check_empty(conn)
            for table in METADATA.sorted_tables:
                rows = dumped.get(table.name, [])
                if table is meta:
                    rows = [row for row in rows if row["key"] not in _BINDING_KEYS]
                if rows:
                    conn.execute(table.insert(), rows)
                generated = table.autoincrement_column
                if rows and generated is not None and conn.dialect.name == "postgresql":
                    conn.execute(
                        sa.select(
                            sa.func.setval(
                                sa.func.pg_get_serial_sequence(table.name, generated.name),
                                sa.select(sa.func.max(generated)).scalar_subquery(),
                            )
                        )
                    )

    def _check_empty(self, conn: sa.Connection) -> None:
        for table in METADATA.sorted_tables:
            query = sa.select(sa.func.count()).select_from(table)
            if table is meta:
                query = query.where(meta.c.key.not_in(_BINDING_KEYS))
            if conn.execute(query).scalar_one():
                raise LedgerNotEmptyError(
                    f"ledger {self.location} is not empty (table {table.name} has rows); "
                    "copy only into a new database"
                )

    # -- internals -------------------------------------------------------------------------------

    def _migrate(self) -> None:
        def report(version: int) -> None:
            logger.info("ledger %s migrated to schema version %d", self.location, version)

        with self._write() as conn:
            found = migrate(conn, report)
            if found > SCHEMA_VERSION:
                raise LedgerSchemaError(
                    f"ledger {self.location} has schema version {found}, newer than this code's "
                    f"{SCHEMA_VERSION}; upgrade spheron-dao-deploy",
                    version=found,
                )

    def _bind(self, chain_id: int, dao_address: str) -> None:
        with self._write() as conn:
            # A new ledger takes this binding; a bound one (or one a replica is binding right
            # now) keeps its own, which must be the same.
            conn.execute(
                _insert(conn, meta)
                .values([("chain_id", str(chain_id)), ("dao_address", dao_address)])
                .on_conflict_do_nothing()
            )
            stored = dict(
                conn.execute(
                    sa.select(meta.c.key, meta.c.value).where(meta.c.key.in_(_BINDING_KEYS))
                ).all()
            )
            if stored != {"chain_id": str(chain_id), "dao_address": dao_address}:
                raise LedgerMismatchError(
                    f"ledger {self.location} belongs to chain {stored.get('chain_id')} DAO "
                    f"{stored.get('dao_address')}, not chain {chain_id} DAO {dao_address}; "
                    "use the ledger of that chain and contract"
                )

    def _meta(self, key: str) -> str:
        with self._read() as conn:
            value = conn.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar()
        if value is None:
            raise LedgerError(f"ledger {self.location} has no {key!r} in its meta table")
        return str(value)

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        """One read transaction (a consistent snapshot on SQLite)."""
        with (
            self._lock,
            translated_errors(self.location),
            self._engine.connect() as conn,
            conn.begin(),
        ):
            yield conn

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """One write transaction; on SQLite begun IMMEDIATE, so it never fails half-way on a
        lock."""
        if self.read_only:
            raise LedgerReadOnlyError(f"ledger {self.location} was opened read-only")
        with (
            self._lock,
            translated_errors(self.location),
            self._engine.connect() as plain,
        ):
            conn = plain.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn

    def _transition(
        self,
        method: str,
        proposal_id: int,
        target: DeploymentState,
        changes: dict[str, Any],
        *,
        note: str | Callable[[DeploymentRow], str] | None = None,
    ) -> DeploymentRow:
        """Move the row to ``target``; ``note`` may be written from the row as it was."""
        with self._write() as conn:
            current = self._current(conn, proposal_id)
            self._check_allowed(method, current, target)
            return self._update(
                conn,
                proposal_id,
                target,
                changes,
                previous=current.state,
                note=note(current) if callable(note) else note,
            )

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
        conn: sa.Connection,
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
            previous=current.state,
            note=note,
            history=changed,
            event_fields=event_fields,
        )

    def _current(self, conn: sa.Connection, proposal_id: int) -> DeploymentRow:
        """The row, locked until the end of the write transaction (PostgreSQL's FOR UPDATE;
        SQLite's write transactions hold the whole database)."""
        _check_proposal_id(proposal_id)
        row = conn.execute(_SELECT_ROW_LOCKED, {"pid": str(proposal_id)}).one_or_none()
        if row is None:
            raise UnknownProposalError(f"proposal {proposal_id} is not in ledger {self.location}")
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
        conn: sa.Connection,
        proposal_id: int,
        target: DeploymentState,
        changes: dict[str, Any],
        *,
        previous: DeploymentState,
        bump_attempts: bool = False,
        note: str | None = None,
        history: bool = True,
        event_fields: Mapping[str, Any] | None = None,
    ) -> DeploymentRow:
        """Move the row from ``previous`` (its locked state) to ``target``; arriving in a state
        that is notified writes the notification in the same transaction."""
        values = {"state": target.value, "updated_at": _utc_now(), **changes}
        # An UPDATE ignores a parameter that names no column: a misspelt one would be lost.
        assert values.keys() <= _COLUMN_NAMES, sorted(values.keys() - _COLUMN_NAMES)
        row = _to_row(
            conn.execute(
                _CHANGE_ROW_BUMPING_ATTEMPTS if bump_attempts else _CHANGE_ROW,
                {"pid": str(proposal_id), **values},
            ).one()
        )
        if history:
            self._append_history(conn, proposal_id, target, note)
        if target in _EVENT_OF and previous is not target:
            fields = {**_event_fields(row), **(event_fields or {})}
            self._emit(conn, proposal_id, _EVENT_OF[target](row), fields)
        return row

    @staticmethod
    def _set(conn: sa.Connection, proposal_id: int, **values: Any) -> DeploymentRow:
        """Change columns of a row without moving its state; returns the row as it is now."""
        changed = conn.execute(
            deployments.update()
            .where(deployments.c.proposal_id == str(proposal_id))
            .values(**values)
            .returning(*_ROW_COLUMNS)
        ).one_or_none()
        if changed is None:
            raise UnknownProposalError(f"proposal {proposal_id} is not in the ledger")
        return _to_row(changed)

    def _emit(
        self, conn: sa.Connection, proposal_id: int, kind: str, fields: Mapping[str, Any]
    ) -> None:
        """Write an event to the outbox, with one pending delivery per configured sink, in the
        caller's transaction: it is notified if and only if the change it reports committed."""
        event_id = conn.execute(
            _INSERT_EVENT,
            {
                "proposal_id": str(proposal_id),
                "kind": kind,
                "fields": json.dumps(dict(fields), sort_keys=True),
                "at": _utc_now(),
            },
        ).scalar_one()
        if self._sinks:
            conn.execute(
                _INSERT_DELIVERY, [{"event_id": event_id, "sink": sink} for sink in self._sinks]
            )

    @staticmethod
    def _append_history(
        conn: sa.Connection, proposal_id: int, state: DeploymentState, note: str | None
    ) -> None:
        conn.execute(
            _INSERT_HISTORY,
            {"proposal_id": str(proposal_id), "at": _utc_now(), "state": state.value, "note": note},
        )

    def _report_known_event(self, conn: sa.Connection, event: NewEvent) -> None:
        existing = conn.execute(
            sa.select(*_ROW_COLUMNS).where(
                (deployments.c.proposal_id == str(event.proposal_id))
                | (
                    (deployments.c.tx_hash == event.tx_hash)
                    & (deployments.c.log_index == event.log_index)
                )
            )
        ).all()
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


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    """The backend's INSERT, which both spell ``ON CONFLICT DO NOTHING / DO UPDATE`` alike."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _to_row(row: sa.Row[Any]) -> DeploymentRow:
    values = dict(row._mapping)
    values["proposal_id"] = int(values["proposal_id"])
    values["state"] = DeploymentState(values["state"])
    values["urls"] = tuple(json.loads(values["urls"]))
    for name in ("target_id", "closed_by"):
        if values[name] is not None:
            values[name] = int(values[name])
    if values["drift"] is not None:
        values["drift"] = json.loads(values["drift"])
    if values["deployments_before"] is not None:
        values["deployments_before"] = tuple(json.loads(values["deployments_before"]))
    return DeploymentRow(**values)


def _to_event(row: sa.Row[Any]) -> OutboxEvent:
    event_id, proposal_id, kind, fields = row
    return OutboxEvent(
        id=int(event_id), kind=kind, proposal_id=int(proposal_id), fields=json.loads(fields)
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
