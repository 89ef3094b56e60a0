"""The ledger's tables and their versioned migrations, the same on SQLite and PostgreSQL.

`METADATA` describes the current schema (version `SCHEMA_VERSION`); the bot's queries use it:
`meta` (binding and checkpoint), `deployments` (one row per DeployEvent), `history` (every step of
each row), and the notification `outbox` with one `deliveries` row per event and sink. A
database is brought to that version by `migrate`, which runs, in one transaction, every step after
the version the database has: step N takes it from version N - 1 to N. Steps are plain functions
written once for both backends (SQLAlchemy Core, plus `add_column` for ``ALTER TABLE``), and are
never edited once released: a change of schema is a new step. SQLite ledger files written by
earlier releases (versions 1 and 2) are migrated in place by the same steps.

Where the version is kept is the one difference: SQLite files keep it in ``PRAGMA user_version``
(as every release did), PostgreSQL in the one-row table ``schema_version``. On PostgreSQL the
migration holds a transaction-level advisory lock, so replicas starting together migrate once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn
from sqlalchemy.sql.functions import FunctionElement

#: States a row may hold (the CHECK constraint); `services.bot.ledger.DeploymentState` names them.
STATES = ("RECORDED", "REJECTED", "PLANNED", "CREATING", "CREATED", "DEPLOYED", "CLOSED", "FAILED")
#: The states of versions 1 and 2 (version 3 added CLOSED).
_V1_STATES = tuple(state for state in STATES if state != "CLOSED")
#: What a row's proposal asks for (see `services.spec.proposal`).
KINDS = ("deploy", "update", "close")
#: Seconds a CREATING row left by a version-1 bot waits before its lookup (one default window).
_V1_INFLIGHT_WINDOW_S = 90.0
#: Key of the advisory lock that serialises migrations on PostgreSQL ("ledger" in ASCII).
_MIGRATION_LOCK_KEY = 0x6C6564676572


class unix_now(FunctionElement[float]):
    """The database's clock as Unix time in seconds (float). With several replicas on several
    hosts, every time the ledger compares (in-flight windows, claim leases) comes from this one
    clock, so the hosts' clocks may disagree."""

    type = sa.Double()
    inherit_cache = True


@compiles(unix_now, "sqlite")
def _unix_now_sqlite(_element: unix_now, _compiler: Any, **_kw: Any) -> str:
    return "((julianday('now') - 2440587.5) * 86400.0)"


@compiles(unix_now, "postgresql")
def _unix_now_postgres(_element: unix_now, _compiler: Any, **_kw: Any) -> str:
    return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)"


# -- the current schema ---------------------------------------------------------------------------

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: a rowid alias


def _version_1_deployment_columns() -> list[sa.Column[Any]]:
    """The columns of `deployments` as version 1 created them."""
    return [
        sa.Column("proposal_id", sa.Text, primary_key=True, nullable=False),  # uint256 as text
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("tx_hash", sa.Text, nullable=False),
        sa.Column("log_index", sa.BigInteger, nullable=False),
        sa.Column("sender", sa.Text, nullable=False),
        sa.Column("spec_json", sa.Text, nullable=False),
        sa.Column("spec_hash", sa.Text, nullable=False),
        sa.Column("deployment_name", sa.Text),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("instance_id", sa.Text),
        sa.Column("deployment_id", sa.Text),
        sa.Column("deployment_status", sa.Text),
        sa.Column("urls", sa.Text, nullable=False, server_default="[]"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("first_seen_at", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Text, nullable=False),
    ]


def _version_2_deployment_columns() -> list[sa.Column[Any]]:
    """Added by version 2: the in-flight bound of a create and when it was accepted."""
    return [sa.Column("in_flight_until", sa.Double), sa.Column("created_at", sa.Double)]


def _version_3_deployment_columns() -> list[sa.Column[Any]]:
    """Added by version 3: what the proposal asks for (a deployment, or an update or close of the
    instance proposal `target_id` deployed), a deployment's voted state, the close that closed it
    and its drift, and the deployments an update in flight found before it was sent."""
    kinds = ", ".join(f"'{kind}'" for kind in KINDS)
    return [
        sa.Column(
            "kind",
            sa.Text,
            sa.CheckConstraint(f"kind IN ({kinds})"),
            nullable=False,
            server_default="deploy",
        ),
        sa.Column("target_id", sa.Text),
        sa.Column("voted_spec_json", sa.Text),
        sa.Column("closed_by", sa.Text),
        sa.Column("drift", sa.Text),
        sa.Column("deployments_before", sa.Text),
    ]


def _version_4_deployment_columns() -> list[sa.Column[Any]]:
    """Added by version 4: which replica works on the row, and until when (database time)."""
    return [sa.Column("claimed_by", sa.Text), sa.Column("claim_until", sa.Double)]


def _deployments_table(
    metadata: sa.MetaData,
    columns: list[sa.Column[Any]],
    *,
    states: tuple[str, ...] = STATES,
    name: str = "deployments",
) -> sa.Table:
    """`deployments` as it is with `columns` and `states`; under another `name` (without its
    indexes, whose names are the real table's), a copy to rebuild it from."""
    allowed = ", ".join(f"'{state}'" for state in states)
    indexes = []
    if name == "deployments":
        indexes += [
            sa.Index("deployments_by_state", "state", "block_number", "log_index"),
            sa.Index("deployments_by_position", "block_number", "log_index"),
        ]
        if any(column.name == "target_id" for column in columns):
            indexes.append(sa.Index("deployments_by_target", "target_id"))
    return sa.Table(
        name,
        metadata,
        *columns,
        sa.UniqueConstraint("tx_hash", "log_index"),
        sa.CheckConstraint("block_number >= 0"),
        sa.CheckConstraint("log_index >= 0"),
        sa.CheckConstraint("attempts >= 0"),
        sa.CheckConstraint(f"state IN ({allowed})"),
        *indexes,
    )


def _meta_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "meta",
        metadata,
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sqlite_with_rowid=False,
    )


def _history_table(
    metadata: sa.MetaData, *, name: str = "history", rows: str = "deployments"
) -> sa.Table:
    """`history`, whose rows belong to rows of `rows`; under another `name` (without its index),
    a copy to rebuild it from."""
    index = [sa.Index("history_by_proposal", "proposal_id", "id")] if name == "history" else []
    return sa.Table(
        name,
        metadata,
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("proposal_id", sa.Text, sa.ForeignKey(f"{rows}.proposal_id"), nullable=False),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("note", sa.Text),
        *index,
        sqlite_autoincrement=True,
    )


def _outbox_table(metadata: sa.MetaData) -> sa.Table:
    """Notifications, written in the transaction of the change each reports (`fields`: JSON)."""
    return sa.Table(
        "outbox",
        metadata,
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("proposal_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("fields", sa.Text, nullable=False),
        sa.Column("at", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )


def _deliveries_table(metadata: sa.MetaData) -> sa.Table:
    """One row per outbox event and notification sink: delivered yet, and the last failure."""
    return sa.Table(
        "deliveries",
        metadata,
        sa.Column("event_id", _BIG_ID, sa.ForeignKey("outbox.id"), primary_key=True),
        sa.Column("sink", sa.Text, primary_key=True),
        sa.Column("delivered_at", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Index("deliveries_pending", "sink", "delivered_at", "event_id"),
        sqlite_with_rowid=False,
    )


METADATA = sa.MetaData()
meta = _meta_table(METADATA)
deployments = _deployments_table(
    METADATA,
    [
        *_version_1_deployment_columns(),
        *_version_2_deployment_columns(),
        *_version_3_deployment_columns(),
        *_version_4_deployment_columns(),
    ],
)
history = _history_table(METADATA)
outbox = _outbox_table(METADATA)
deliveries = _deliveries_table(METADATA)


# -- migrations -----------------------------------------------------------------------------------


def add_column(connection: sa.Connection, table: str, column: sa.Column[Any]) -> None:
    """``ALTER TABLE table ADD COLUMN`` with the column's type as the backend spells it."""
    spec = CreateColumn(column).compile(dialect=connection.dialect)
    connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {spec}")


def _to_version_1(connection: sa.Connection) -> None:
    """The first release: bound to one chain and DAO, one row per DeployEvent."""
    version_1 = sa.MetaData()
    _meta_table(version_1)
    _deployments_table(version_1, _version_1_deployment_columns(), states=_V1_STATES)
    version_1.create_all(connection)


def _to_version_2(connection: sa.Connection) -> None:
    """The in-flight bound of a create, the time it was accepted, and the history of each row."""
    for column in _version_2_deployment_columns():
        add_column(connection, "deployments", column)
    # A version-1 bot may have been cut off mid-create: wait one default window for it.
    connection.execute(
        deployments.update()
        .where(deployments.c.state == "CREATING")
        .values(in_flight_until=unix_now() + _V1_INFLIGHT_WINDOW_S)
    )
    # The deploy timeout of rows already being followed counts from the upgrade.
    connection.execute(
        deployments.update().where(deployments.c.state == "CREATED").values(created_at=unix_now())
    )
    history.create(connection)
    connection.execute(
        history.insert().from_select(
            ["proposal_id", "at", "state", "note"],
            sa.select(
                deployments.c.proposal_id,
                deployments.c.updated_at,
                deployments.c.state,
                deployments.c.reason,
            ).order_by(deployments.c.block_number, deployments.c.log_index),
        )
    )


def _to_version_3(connection: sa.Connection) -> None:
    """Updates and closes (a row's kind and target, the CLOSED state, an instance's voted state),
    drift, and the notification outbox.

    Neither backend lets a CHECK constraint be changed in place the same way, so `deployments` is
    rebuilt under a new name with the new columns and states and `history` with it (its rows
    refer to deployments), then the old tables are dropped and the new ones renamed. Foreign keys
    stay on throughout: each table is dropped only once nothing refers to it.
    """
    new = sa.MetaData()
    columns = [
        *_version_1_deployment_columns(),
        *_version_2_deployment_columns(),
        *_version_3_deployment_columns(),
    ]
    rows = _deployments_table(new, columns, name="deployments_v3")
    steps = _history_table(new, name="history_v3", rows="deployments_v3")
    new.create_all(connection)
    kept = [column.name for column in _version_1_deployment_columns()]
    kept += [column.name for column in _version_2_deployment_columns()]
    old_rows, old_steps = sa.table("deployments", *map(sa.column, kept)), sa.table("history")
    # A deployment already DEPLOYED runs its own spec: that is its instance's voted state.
    voted = sa.case((old_rows.c.state == "DEPLOYED", old_rows.c.spec_json), else_=sa.null())
    connection.execute(
        rows.insert().from_select(
            [*kept, "voted_spec_json"], sa.select(*old_rows.c, voted.label("voted_spec_json"))
        )
    )
    step_columns = ["id", "proposal_id", "at", "state", "note"]
    connection.execute(
        steps.insert().from_select(
            step_columns,
            sa.select(*(sa.column(name) for name in step_columns)).select_from(old_steps),
        )
    )
    connection.exec_driver_sql("DROP TABLE history")
    connection.exec_driver_sql("DROP TABLE deployments")
    connection.exec_driver_sql("ALTER TABLE deployments_v3 RENAME TO deployments")
    connection.exec_driver_sql("ALTER TABLE history_v3 RENAME TO history")
    if connection.dialect.name == "postgresql":  # the id sequence keeps counting from the last
        connection.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('history', 'id'), "
            "COALESCE((SELECT MAX(id) FROM history), 0) + 1, false)"
        )
    for index in (*deployments.indexes, *history.indexes):
        index.create(connection)
    outbox.create(connection)
    deliveries.create(connection)


def _to_version_4(connection: sa.Connection) -> None:
    """Row claims, so that several replicas share one ledger (no row is claimed yet)."""
    for column in _version_4_deployment_columns():
        add_column(connection, "deployments", column)


#: Step N (index N - 1) takes a database from version N - 1 to N.
MIGRATIONS: tuple[Callable[[sa.Connection], None], ...] = (
    _to_version_1,
    _to_version_2,
    _to_version_3,
    _to_version_4,
)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(connection: sa.Connection) -> int:
    """The version the database is at; 0 for an empty database."""
    if connection.dialect.name == "sqlite":
        return int(connection.exec_driver_sql("PRAGMA user_version").scalar_one())
    if not sa.inspect(connection).has_table("schema_version"):
        return 0
    return int(connection.exec_driver_sql("SELECT version FROM schema_version").scalar_one())


def migrate(connection: sa.Connection, on_step: Callable[[int], None]) -> int:
    """Run every step the database lacks, inside the caller's write transaction; returns the
    version found. A database newer than this code is left alone (the caller refuses it)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
    found = schema_version(connection)
    if found >= SCHEMA_VERSION:
        return found
    for step in range(found, SCHEMA_VERSION):
        MIGRATIONS[step](connection)
        on_step(step + 1)
    _store_version(connection, found)
    return found


def _store_version(connection: sa.Connection, previous: int) -> None:
    if connection.dialect.name == "sqlite":
        # PRAGMA takes no parameters; the value is this module's constant.
        connection.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return
    if previous == 0:
        connection.exec_driver_sql("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        connection.exec_driver_sql("INSERT INTO schema_version VALUES (0)")
    connection.execute(
        sa.text("UPDATE schema_version SET version = :version"), {"version": SCHEMA_VERSION}
    )
