"""The deploy bot's ledger: schema, binding, state machine, batches and crash safety.

Every test that takes the `ledger` or `ledger_location` fixture runs twice: on a SQLite file and
on a PostgreSQL database (a real server, `tests/fixtures/postgres.py`). Tests of what only SQLite
has (WAL, pragmas, files written by earlier releases) take `ledger_path`."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.bot.ledger import (
    SCHEMA_VERSION,
    ClaimLostError,
    DeploymentState,
    InvalidTransitionError,
    Ledger,
    LedgerError,
    LedgerLocation,
    LedgerMismatchError,
    LedgerReadOnlyError,
    LedgerSchemaError,
    LedgerUnavailableError,
    NewEvent,
    UnknownProposalError,
    default_ledger_path,
    read_binding,
    read_rows,
)
from services.bot.ledger_schema import MIGRATIONS

CHAIN_ID = 31337
DAO = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
MEMBER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
S = DeploymentState
#: A Unix time at which the tests' create requests are sent.
SENT = 1_800_000_000.0


def make_event(
    proposal_id: int,
    *,
    block: int | None = None,
    log_index: int = 0,
    spec: str | None = None,
    sender: str = MEMBER,
    tx_seed: int | None = None,
) -> NewEvent:
    spec_json = spec if spec is not None else json.dumps({"clusterName": f"app-{proposal_id}"})
    tx = tx_seed if tx_seed is not None else proposal_id
    return NewEvent(
        proposal_id=proposal_id,
        sender=sender,
        spec_json=spec_json,
        spec_hash="0x" + hashlib.sha256(spec_json.encode()).hexdigest(),
        block_number=block if block is not None else 100 + proposal_id,
        tx_hash="0x" + hashlib.sha256(f"tx-{tx}".encode()).hexdigest(),
        log_index=log_index,
    )


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.sqlite3"


@pytest.fixture
def ledger(ledger_location: str | Path) -> Iterator[Ledger]:
    with Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=DAO) as opened:
        yield opened


def raw_engine(location: str | Path) -> sa.Engine:
    """A plain connection to the ledger's database, behind the ledger's back."""
    if isinstance(location, Path):
        return sa.create_engine(f"sqlite:///{location}")
    return sa.create_engine(sa.make_url(location).set(drivername="postgresql+psycopg"))


def store_schema_version(location: str | Path, version: int) -> None:
    """Write the schema version where each backend keeps it."""
    engine = raw_engine(location)
    with engine.begin() as raw:
        if isinstance(location, Path):
            raw.exec_driver_sql(f"PRAGMA user_version = {version}")
        else:
            raw.exec_driver_sql(f"UPDATE schema_version SET version = {version}")
    engine.dispose()


@pytest.fixture
def row_in_state(ledger: Ledger) -> Callable[[DeploymentState, int], int]:
    """Factory: record proposal ``pid`` and drive it to ``state`` through allowed moves only."""

    def drive(state: DeploymentState, pid: int = 1) -> int:
        if state is S.CLOSED:  # a close of another proposal's instance
            target = pid + 1000
            drive(S.DEPLOYED, target)
            close = json.dumps({"action": "close", "target": target})
            ledger.record_batch([make_event(pid, spec=close)], 100 + pid)
            ledger.mark_creating(pid, f"dao-{target}", in_flight_until=SENT + 90)
            ledger.mark_closed(pid)
            return pid
        ledger.record_batch([make_event(pid)], checkpoint_block=100 + pid)
        if state is S.PLANNED:
            ledger.mark_planned(pid, f"dao-{pid}")
        elif state is S.REJECTED:
            ledger.mark_rejected(pid, "spec: replicas must be >= 1")
        elif state is S.FAILED:
            ledger.mark_failed(pid, "secret DB_PASSWORD is not set")
        elif state in (S.CREATING, S.CREATED, S.DEPLOYED):
            ledger.mark_creating(pid, f"dao-{pid}", in_flight_until=SENT + 90)
            if state in (S.CREATED, S.DEPLOYED):
                ledger.mark_created(pid, "inst-1", "order-1", at=SENT + 1)
            if state is S.DEPLOYED:
                ledger.mark_deployed(pid, "Deployed", ["https://app.example"])
        row = ledger.get(pid)
        assert row is not None and row.state is state
        return pid

    return drive


# -- schema, binding, paths -----------------------------------------------------------------------


def test_new_ledger_is_wal_with_full_sync_and_current_schema(ledger_path: Path) -> None:
    with Ledger(ledger_path, chain_id=CHAIN_ID, dao_address=DAO) as ledger:
        pragmas = ledger.pragmas()
    assert pragmas["journal_mode"] == "wal"
    assert pragmas["synchronous"] == 1  # NORMAL: durable against kill -9 in WAL mode
    assert pragmas["foreign_keys"] == 1
    assert pragmas["busy_timeout"] > 0
    assert pragmas["user_version"] == SCHEMA_VERSION


def test_new_ledger_has_the_current_schema_and_binding(
    ledger: Ledger, ledger_location: str | Path
) -> None:
    assert ledger.schema_version == SCHEMA_VERSION
    engine = raw_engine(ledger_location)
    with engine.connect() as raw:
        schema = sa.inspect(raw)
        tables = set(schema.get_table_names())
        columns = {column["name"] for column in schema.get_columns("deployments")}
    engine.dispose()
    assert {"meta", "deployments", "history"} <= tables
    assert columns == {
        "proposal_id", "block_number", "tx_hash", "log_index", "sender", "spec_json",
        "spec_hash", "deployment_name", "state", "reason", "instance_id", "deployment_id",
        "deployment_status", "urls", "attempts", "first_seen_at", "updated_at",
        "in_flight_until", "created_at", "kind", "target_id", "voted_spec_json", "closed_by",
        "drift", "deployments_before", "claimed_by", "claim_until",
    }  # fmt: skip
    assert ledger.chain_id == CHAIN_ID
    assert ledger.dao_address == DAO.lower()
    assert ledger.checkpoint() is None


def test_database_refuses_duplicate_log_position_and_unknown_state(
    ledger: Ledger, ledger_location: str | Path
) -> None:
    ledger.record_batch([make_event(1)], 101)
    engine = raw_engine(ledger_location)
    with engine.connect() as raw:
        with pytest.raises(sa.exc.IntegrityError):
            raw.exec_driver_sql("UPDATE deployments SET state = 'BOGUS'")
        raw.rollback()
        tx = make_event(1).tx_hash
        with pytest.raises(sa.exc.IntegrityError):
            raw.execute(
                sa.text(
                    "INSERT INTO deployments (proposal_id, block_number, tx_hash, log_index, "
                    "sender, spec_json, spec_hash, state, first_seen_at, updated_at) "
                    "VALUES ('2', 1, :tx, 0, 'x', '{}', 'aa', 'RECORDED', 't', 't')"
                ),
                {"tx": tx},
            )
    engine.dispose()


def test_reopening_keeps_rows_and_binding(ledger_location: str | Path) -> None:
    with Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=DAO) as first:
        first.record_batch([make_event(1)], 101)
        first.mark_creating(1, "dao-1", in_flight_until=SENT + 90)
    with Ledger(
        ledger_location, chain_id=CHAIN_ID, dao_address=DAO.upper().replace("0X", "0x")
    ) as again:
        row = again.get(1)
        assert row is not None and row.state is S.CREATING and row.attempts == 1
        assert row.in_flight_until == SENT + 90
        assert again.checkpoint() == 101
        assert again.schema_version == SCHEMA_VERSION


def test_newer_schema_is_refused(ledger_location: str | Path) -> None:
    Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=DAO).close()
    store_schema_version(ledger_location, SCHEMA_VERSION + 1)
    with pytest.raises(LedgerSchemaError, match="newer"):
        Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=DAO)
    with pytest.raises(LedgerSchemaError, match="upgrade"):
        Ledger.open_readonly(ledger_location)


def test_read_only_open_refuses_an_unmigrated_ledger(ledger_location: str | Path) -> None:
    raw_engine(ledger_location).connect().close()  # an empty database at schema version 0
    with pytest.raises(LedgerSchemaError, match="run the bot once") as refused:
        Ledger.open_readonly(ledger_location)
    assert refused.value.version == 0
    assert read_rows(ledger_location) == []


def test_replicas_opening_a_new_database_together_migrate_it_once(
    ledger_location: str | Path,
) -> None:
    opened: list[Ledger] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            opened.append(Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=DAO))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {ledger.schema_version for ledger in opened} == {SCHEMA_VERSION}
    opened[0].record_batch([make_event(1)], 101)
    assert all(ledger.get(1) is not None for ledger in opened)
    for ledger in opened:
        ledger.close()


VERSION_1_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    """CREATE TABLE deployments (
        proposal_id TEXT PRIMARY KEY NOT NULL, block_number INTEGER NOT NULL, tx_hash TEXT NOT NULL,
        log_index INTEGER NOT NULL, sender TEXT NOT NULL, spec_json TEXT NOT NULL,
        spec_hash TEXT NOT NULL, deployment_name TEXT, state TEXT NOT NULL, reason TEXT,
        instance_id TEXT, deployment_id TEXT, deployment_status TEXT,
        urls TEXT NOT NULL DEFAULT '[]', attempts INTEGER NOT NULL DEFAULT 0,
        first_seen_at TEXT NOT NULL, updated_at TEXT NOT NULL, UNIQUE (tx_hash, log_index))""",
    "CREATE INDEX deployments_by_state ON deployments (state, block_number, log_index)",
    "CREATE INDEX deployments_by_position ON deployments (block_number, log_index)",
)


def test_a_version_1_ledger_is_migrated_in_place_keeping_every_row(ledger_path: Path) -> None:
    """The ledger as the first release wrote it: a CREATING row (a bot cut off mid-create) waits
    one window before its lookup, and a CREATED row's deploy timeout starts at the upgrade."""
    with closing(sqlite3.connect(ledger_path, isolation_level=None)) as raw:
        for statement in VERSION_1_SCHEMA:
            raw.execute(statement)
        raw.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [
                ("chain_id", str(CHAIN_ID)),
                ("dao_address", DAO.lower()),
                ("checkpoint_block", "120"),
            ],
        )
        for pid, state in ((1, "CREATING"), (2, "CREATED"), (3, "DEPLOYED")):
            raw.execute(
                "INSERT INTO deployments (proposal_id, block_number, tx_hash, log_index, sender, "
                "spec_json, spec_hash, deployment_name, state, instance_id, deployment_id, "
                "attempts, first_seen_at, updated_at) "
                "VALUES (?, ?, ?, 0, ?, '{}', '0xab', ?, ?, ?, ?, 1, '2026-01-01', '2026-01-02')",
                (str(pid), 100 + pid, f"0x{pid:064x}", MEMBER.lower(), f"dao-{pid}", state,
                 None if pid == 1 else f"inst-{pid}", None if pid == 1 else f"order-{pid}"),
            )  # fmt: skip
        raw.execute("PRAGMA user_version = 1")
    before = time.time()
    with Ledger(ledger_path, chain_id=CHAIN_ID, dao_address=DAO) as migrated:
        after = time.time()
        assert migrated.schema_version == SCHEMA_VERSION == 4
        assert migrated.checkpoint() == 120
        creating, created, deployed = (migrated.get(pid) for pid in (1, 2, 3))
        assert creating.state is S.CREATING and creating.attempts == 1
        assert before + 89 <= creating.in_flight_until <= after + 91
        assert created.state is S.CREATED and before - 1 <= created.created_at <= after + 1
        assert deployed.state is S.DEPLOYED and deployed.created_at is None
        assert {row.claimed_by for row in (creating, created, deployed)} == {None}
        assert [h.state for h in migrated.history(2)] == [S.CREATED]
        assert deployed.voted_spec_json == deployed.spec_json  # its instance runs its spec
        assert (deployed.kind, created.voted_spec_json) == ("deploy", None)
        assert migrated.record_batch([make_event(4)], 130) == [4]


def test_a_version_1_database_is_migrated_on_either_backend(
    ledger_location: str | Path,
) -> None:
    """The same steps build version 1 and upgrade it, on SQLite and PostgreSQL alike."""
    engine = raw_engine(ledger_location)
    with engine.begin() as raw:
        MIGRATIONS[0](raw)
        if not isinstance(ledger_location, Path):
            raw.exec_driver_sql("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            raw.exec_driver_sql("INSERT INTO schema_version VALUES (0)")
        raw.exec_driver_sql(
            "INSERT INTO meta VALUES ('chain_id', '31337'), "
            f"('dao_address', '{DAO.lower()}'), ('checkpoint_block', '120')"
        )
        raw.exec_driver_sql(
            "INSERT INTO deployments (proposal_id, block_number, tx_hash, log_index, sender, "
            "spec_json, spec_hash, deployment_name, state, attempts, first_seen_at, updated_at) "
            f"VALUES ('1', 101, '0x{1:064x}', 0, '{MEMBER.lower()}', '{{}}', '0xab', 'dao-1', "
            "'CREATING', 1, '2026-01-01', '2026-01-02')"
        )
    engine.dispose()
    store_schema_version(ledger_location, 1)
    before = time.time()
    with Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=DAO) as migrated:
        assert migrated.schema_version == SCHEMA_VERSION
        assert migrated.checkpoint() == 120
        row = migrated.get(1)
        assert row is not None and row.state is S.CREATING and row.attempts == 1
        assert before + 85 <= row.in_flight_until <= time.time() + 95
        assert [entry.state for entry in migrated.history(1)] == [S.CREATING]


@pytest.mark.parametrize(
    ("chain_id", "dao"),
    [(1, DAO), (CHAIN_ID, "0x" + "12" * 20)],
    ids=["other-chain", "other-dao"],
)
def test_opening_with_another_chain_or_dao_raises_mismatch(
    ledger_location: str | Path, chain_id: int, dao: str
) -> None:
    with Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=DAO) as ledger:
        ledger.record_batch([make_event(1)], 101)
    with pytest.raises(LedgerMismatchError, match=f"chain {CHAIN_ID}"):
        Ledger(ledger_location, chain_id=chain_id, dao_address=dao)
    with pytest.raises(LedgerMismatchError):
        Ledger.open_readonly(ledger_location, chain_id=chain_id, dao_address=dao)
    with Ledger.open_readonly(ledger_location, chain_id=CHAIN_ID, dao_address=DAO) as reader:
        assert reader.get(1) is not None


def test_default_path_is_per_chain_and_lowercase_contract(tmp_path: Path) -> None:
    path = default_ledger_path(CHAIN_ID, DAO, base_dir=tmp_path)
    assert path == tmp_path / f"ledger-{CHAIN_ID}-{DAO.lower()}.sqlite3"
    assert not path.exists()
    assert default_ledger_path(1, DAO) == (
        Path.home() / ".spheron-dao-deploy" / f"ledger-1-{DAO.lower()}.sqlite3"
    )
    assert default_ledger_path(1, DAO) != default_ledger_path(10, DAO)
    with pytest.raises(ValueError, match="DAO address"):
        default_ledger_path(1, "0x1234")
    with pytest.raises(ValueError, match="chain_id"):
        default_ledger_path(0, DAO)


# -- state machine --------------------------------------------------------------------------------

# method -> states it may be called from (the contract stated in services/ledger.py)
ALLOWED = {
    "mark_rejected": {S.RECORDED, S.PLANNED, S.CREATING},
    "mark_planned": {S.RECORDED, S.PLANNED},
    "mark_creating": {S.RECORDED, S.PLANNED, S.CREATING},
    "mark_not_sent": {S.CREATING},
    "mark_created": {S.RECORDED, S.PLANNED, S.CREATING},
    "mark_progress": {S.CREATED},
    "mark_deployed": {S.CREATED},
    "mark_failed": {S.RECORDED, S.PLANNED, S.CREATING, S.CREATED},
}
CALLS: dict[str, tuple[tuple[object, ...], dict[str, object], DeploymentState]] = {
    "mark_rejected": (("policy: image not allowed",), {}, S.REJECTED),
    "mark_planned": (("dao-1",), {}, S.PLANNED),
    "mark_creating": (("dao-1",), {"in_flight_until": SENT + 90}, S.CREATING),
    "mark_not_sent": (("connection refused",), {}, S.CREATING),
    "mark_created": (("inst-9", "order-9"), {"at": SENT}, S.CREATED),
    "mark_progress": (("Pending", ["https://p.example"]), {}, S.CREATED),
    "mark_deployed": (("Deployed", ["https://d.example"]), {}, S.DEPLOYED),
    "mark_failed": (("spheron: 400 invalid region",), {}, S.FAILED),
}


@pytest.mark.parametrize("start", list(DeploymentState), ids=lambda s: s.value)
@pytest.mark.parametrize("method", sorted(ALLOWED))
def test_every_transition_is_allowed_or_refused(
    ledger: Ledger,
    row_in_state: Callable[[DeploymentState, int], int],
    method: str,
    start: DeploymentState,
) -> None:
    pid = row_in_state(start, 1)
    before = ledger.get(pid)
    history = ledger.history(pid)
    args, kwargs, target = CALLS[method]
    if start in ALLOWED[method]:
        after = getattr(ledger, method)(pid, *args, **kwargs)
        assert after.state is target
        assert ledger.get(pid) == after
        assert ledger.history(pid)[-1].state is target
    else:
        with pytest.raises(InvalidTransitionError, match=f"cannot go from {start.value}"):
            getattr(ledger, method)(pid, *args, **kwargs)
        assert ledger.get(pid) == before
        assert ledger.history(pid) == history


def test_terminal_states_accept_no_transition() -> None:
    terminal = {state for state in DeploymentState if state.is_terminal}
    assert terminal == {S.REJECTED, S.DEPLOYED, S.CLOSED, S.FAILED}
    assert not any(terminal & allowed for allowed in ALLOWED.values())


def test_the_ledger_stores_outcomes_and_the_target_text_without_knowing_its_words(
    ledger: Ledger, row_in_state: Callable[[DeploymentState, int], int]
) -> None:
    pid = row_in_state(S.CREATED, 7)
    row = ledger.mark_progress(pid, "Deployed", ["https://a.example", "https://b.example"])
    assert (row.state, row.deployment_status) == (S.CREATED, "Deployed")  # the caller decides
    assert row.urls == ("https://a.example", "https://b.example")
    assert (row.instance_id, row.deployment_id, row.created_at) == ("inst-1", "order-1", SENT + 1)
    row = ledger.mark_failed(pid, "ended Failed", deployment_status="Failed")
    assert (row.state, row.deployment_status, row.reason) == (S.FAILED, "Failed", "ended Failed")


def test_status_updates_without_urls_keep_stored_urls_and_repeats_add_no_history(
    ledger: Ledger, row_in_state: Callable[[DeploymentState, int], int]
) -> None:
    pid = row_in_state(S.CREATED, 1)
    ledger.mark_progress(pid, "Pending", ["https://first.example"])
    lines = len(ledger.history(pid))
    ledger.mark_progress(pid, "Pending")
    assert len(ledger.history(pid)) == lines
    row = ledger.mark_deployed(pid, "Deployed")
    assert row.state is S.DEPLOYED and row.urls == ("https://first.example",)
    assert [h.note for h in ledger.history(pid)][-2:] == [
        "deployment status Pending",
        "deployment status Deployed",
    ]


def test_creating_retry_counts_attempts_keeps_its_name_and_its_in_flight_bound(
    ledger: Ledger, row_in_state: Callable[[DeploymentState, int], int]
) -> None:
    pid = row_in_state(S.PLANNED, 3)
    row = ledger.mark_creating(pid, "dao-3-renamed", in_flight_until=SENT + 90)
    assert (row.attempts, row.in_flight_until) == (1, SENT + 90)
    row = ledger.mark_not_sent(pid, "connection refused")
    assert (row.state, row.in_flight_until) == (S.CREATING, None)
    row = ledger.mark_creating(pid, "dao-3-renamed", in_flight_until=SENT + 200)
    assert (row.attempts, row.in_flight_until) == (2, SENT + 200)
    with pytest.raises(InvalidTransitionError, match="reuse that name"):
        ledger.mark_creating(pid, "dao-3-other", in_flight_until=SENT)
    with pytest.raises(ValueError, match="in_flight_until"):
        ledger.mark_creating(pid, "dao-3-renamed", in_flight_until=-1)
    row = ledger.get(pid)
    assert row is not None and row.deployment_name == "dao-3-renamed" and row.attempts == 2
    notes = [entry.note for entry in ledger.history(pid)]
    assert notes[-3:] == [
        "create request 1 sent as dao-3-renamed",
        "create request not delivered: connection refused",
        "create request 2 sent as dao-3-renamed",
    ]


def test_history_records_every_step_and_notes(
    ledger: Ledger, row_in_state: Callable[[DeploymentState, int], int]
) -> None:
    pid = row_in_state(S.DEPLOYED, 4)
    ledger.note(pid, "closed duplicate instance inst-2; kept inst-1")
    history = ledger.history(pid)
    assert [entry.state for entry in history] == [
        S.RECORDED,
        S.CREATING,
        S.CREATED,
        S.DEPLOYED,
        S.DEPLOYED,
    ]
    assert history[0].note.startswith("DeployEvent in block 104")
    assert history[-1].note == "closed duplicate instance inst-2; kept inst-1"
    assert history[0].to_dict()["state"] == "RECORDED"
    with pytest.raises(UnknownProposalError):
        ledger.note(99, "x")
    assert ledger.history(99) == []


def test_transitions_reject_unknown_proposals_and_empty_values(
    ledger: Ledger, row_in_state: Callable[[DeploymentState, int], int]
) -> None:
    with pytest.raises(UnknownProposalError, match="proposal 42"):
        ledger.mark_failed(42, "x")
    pid = row_in_state(S.RECORDED, 1)
    with pytest.raises(ValueError, match="reason"):
        ledger.mark_rejected(pid, "  ")
    ledger.mark_creating(pid, "dao-1", in_flight_until=SENT)
    ledger.mark_created(pid, "i", "o", at=SENT)
    with pytest.raises(ValueError, match="urls"):
        ledger.mark_progress(pid, "Pending", "https://not-a-list.example")  # type: ignore[arg-type]
    row = ledger.get(pid)
    assert row is not None and row.deployment_status is None


# -- recording batches ----------------------------------------------------------------------------


def test_record_batch_inserts_new_events_and_advances_checkpoint(ledger: Ledger) -> None:
    events = [make_event(3), make_event(1), make_event(2**256 - 1, block=103)]
    assert ledger.record_batch(events, 500) == [3, 1, 2**256 - 1]
    assert ledger.checkpoint() == 500
    row = ledger.get(2**256 - 1)
    assert row is not None
    assert row.state is S.RECORDED and row.attempts == 0 and row.urls == ()
    assert row.spec_json == events[2].spec_json and row.sender == MEMBER.lower()
    assert row.first_seen_at == row.updated_at


def test_replaying_a_batch_inserts_nothing_and_never_moves_checkpoint_back(
    ledger: Ledger,
) -> None:
    batch = [make_event(pid) for pid in range(1, 6)]
    assert ledger.record_batch(batch, 200) == [1, 2, 3, 4, 5]
    snapshot = ledger.rows()
    assert ledger.record_batch(batch, 200) == []
    assert ledger.record_batch(batch, 150) == []
    assert ledger.checkpoint() == 200
    assert ledger.rows() == snapshot
    assert ledger.record_batch([], 250) == []
    assert ledger.checkpoint() == 250


def test_conflicting_payload_for_known_proposal_is_not_overwritten(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    original = make_event(1)
    ledger.record_batch([original], 101)
    ledger.mark_creating(1, "dao-1", in_flight_until=SENT)
    forged = make_event(1, spec='{"clusterName": "evil"}', tx_seed=99, block=300)
    same_position = make_event(2, tx_seed=1, block=101)  # another id at original's log position
    with caplog.at_level(logging.WARNING, logger="services.bot.ledger"):
        assert ledger.record_batch([forged, same_position], 300) == []
    row = ledger.get(1)
    assert row is not None
    assert (row.spec_json, row.spec_hash, row.tx_hash) == (
        original.spec_json,
        original.spec_hash,
        original.tx_hash,
    )
    assert row.state is S.CREATING
    assert ledger.get(2) is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert forged.spec_hash in warnings[0] and original.spec_hash in warnings[0]
    assert ledger.checkpoint() == 300


def test_same_payload_seen_again_at_another_position_is_ignored_quietly(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    ledger.record_batch([make_event(1)], 101)
    moved = make_event(1, tx_seed=7, block=130)  # e.g. re-included after a reorg
    with caplog.at_level(logging.WARNING, logger="services.bot.ledger"):
        assert ledger.record_batch([moved], 130) == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    row = ledger.get(1)
    assert row is not None and row.block_number == 101


def test_duplicate_inside_one_batch_is_inserted_once(ledger: Ledger) -> None:
    event = make_event(4)
    assert ledger.record_batch([event, event], 104) == [4]
    assert len(ledger.rows()) == 1


def test_error_while_iterating_a_batch_rolls_everything_back(ledger: Ledger) -> None:
    ledger.record_batch([make_event(1)], 101)

    def events() -> Iterator[NewEvent]:
        yield make_event(2)
        yield make_event(3)
        raise RuntimeError("log source broke mid-batch")

    with pytest.raises(RuntimeError, match="mid-batch"):
        ledger.record_batch(events(), 900)
    assert [row.proposal_id for row in ledger.rows()] == [1]
    assert ledger.checkpoint() == 101
    assert ledger.record_batch([make_event(2)], 102) == [2]  # ledger still usable


def test_record_batch_refuses_bad_input(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="checkpoint_block"):
        ledger.record_batch([], -1)
    with pytest.raises(TypeError, match="NewEvent"):
        ledger.record_batch([{"proposal_id": 1}], 5)  # type: ignore[list-item]
    assert ledger.checkpoint() is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("proposal_id", -1, "proposal_id"),
        ("proposal_id", 2**256, "proposal_id"),
        ("sender", "0xabc", "sender"),
        ("tx_hash", "0x" + "g" * 64, "tx_hash"),
        ("spec_hash", "not-hex", "spec_hash"),
        ("block_number", -5, "block_number"),
        ("log_index", True, "log_index"),
    ],
)
def test_new_event_validates_fields(field: str, value: object, message: str) -> None:
    fields = {
        "proposal_id": 1,
        "sender": MEMBER,
        "spec_json": "{}",
        "spec_hash": "0xab",
        "block_number": 1,
        "tx_hash": "0x" + "ab" * 32,
        "log_index": 0,
        field: value,
    }
    with pytest.raises(ValueError, match=message):
        NewEvent(**fields)  # type: ignore[arg-type]


# -- queries --------------------------------------------------------------------------------------


def test_unfinished_lists_resumable_rows_in_chain_order(ledger: Ledger) -> None:
    events = [
        make_event(11, block=300, log_index=0),
        make_event(10, block=300, log_index=1),
        make_event(12, block=200),
        make_event(13, block=250),
        make_event(14, block=260),
        make_event(15, block=270),
        make_event(16, block=280),
        make_event(17, block=290),
    ]
    ledger.record_batch(events, 300)
    ledger.mark_planned(13, "dao-13")
    ledger.mark_creating(14, "dao-14", in_flight_until=SENT)
    ledger.mark_creating(15, "dao-15", in_flight_until=SENT)
    ledger.mark_created(15, "inst", "order", at=SENT)
    ledger.mark_rejected(16, "bad spec")
    ledger.mark_failed(17, "secret API_KEY is not set")
    assert [row.proposal_id for row in ledger.unfinished()] == [12, 13, 14, 15, 11, 10]
    counts = ledger.counts_by_state()
    assert counts == {
        S.RECORDED: 3,
        S.PLANNED: 1,
        S.CREATING: 1,
        S.CREATED: 1,
        S.REJECTED: 1,
        S.FAILED: 1,
        S.DEPLOYED: 0,
        S.CLOSED: 0,
    }
    assert [row.proposal_id for row in ledger.rows()] == [12, 13, 14, 15, 16, 17, 11, 10]
    assert [row.proposal_id for row in ledger.rows(limit=2)] == [11, 10]
    assert [row.proposal_id for row in ledger.rows(state=S.RECORDED)] == [12, 11, 10]
    assert ledger.rows(limit=0) == []


def test_row_to_dict_is_json_ready(
    ledger: Ledger, row_in_state: Callable[[DeploymentState, int], int]
) -> None:
    pid = row_in_state(S.DEPLOYED, 5)
    row = ledger.get(pid)
    assert row is not None
    data = json.loads(json.dumps(row.to_dict()))
    assert data["state"] == "DEPLOYED"
    assert data["urls"] == ["https://app.example"]
    assert data["proposal_id"] == 5 and data["deployment_status"] == "Deployed"


def test_writes_from_many_threads_all_land(ledger: Ledger) -> None:
    def worker(offset: int) -> None:
        ledger.record_batch([make_event(offset + i) for i in range(25)], offset)

    threads = [threading.Thread(target=worker, args=(n * 1000,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ledger.rows()) == 200
    assert ledger.checkpoint() == 7000


# -- read-only access -----------------------------------------------------------------------------


def test_read_only_ledger_sees_writer_commits_but_cannot_write(
    ledger: Ledger, ledger_location: str | Path
) -> None:
    ledger.record_batch([make_event(1)], 101)
    with Ledger.open_readonly(ledger_location) as reader:
        assert reader.get(1) is not None
        ledger.record_batch([make_event(2)], 102)  # writer keeps working while a reader is open
        assert reader.checkpoint() == 102 and reader.get(2) is not None
        writes: list[Callable[[], object]] = [
            lambda: reader.record_batch([make_event(3)], 103),
            lambda: reader.mark_rejected(1, "x"),
            lambda: reader.mark_planned(1, "n"),
            lambda: reader.mark_creating(1, "n", in_flight_until=SENT),
            lambda: reader.note(1, "x"),
            lambda: reader.mark_failed(1, "x"),
        ]
        for write in writes:
            with pytest.raises(LedgerReadOnlyError, match="read-only"):
                write()
        # The database itself refuses writes on the reader's connection, too.
        with (
            reader._engine.begin() as raw,
            pytest.raises(sa.exc.DBAPIError, match=r"read-?only"),
        ):
            raw.exec_driver_sql("DELETE FROM history")
    row = ledger.get(1)
    assert row is not None and row.state is S.RECORDED
    assert ledger.get(3) is None and ledger.checkpoint() == 102


def test_read_only_open_of_missing_file_fails_clearly(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sqlite3"
    with pytest.raises(FileNotFoundError) as error:
        Ledger.open_readonly(missing)
    assert str(error.value) == f"no ledger at {missing}; the bot creates it on first run"
    assert not missing.exists()


# -- crash safety (real SIGKILL of a writer process) ----------------------------------------------

CRASH_WRITER = """
import sys, time
from services.bot.ledger import Ledger, NewEvent

path, mode = sys.argv[1], sys.argv[2]
ledger = Ledger(path, chain_id=31337, dao_address="0x5FbDB2315678afecb367f032d93F642f64180aa3")
padding = "x" * 4000  # large rows so the open transaction spills pages into the WAL file

def event(pid):
    return NewEvent(pid, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                    '{"pad": "%s"}' % padding, "0x" + "ab" * 32, 1 + pid // 10,
                    "0x%064x" % pid, 0)

if mode == "mid-transaction":
    ledger.record_batch([event(i) for i in range(50)], 100)
    print("committed", flush=True)
    def events():
        for i in range(1000, 3000):
            if i == 2500:
                print("inside", flush=True)
                time.sleep(60)
            yield event(i)
    ledger.record_batch(events(), 200)
else:
    batch = 0
    while True:
        ledger.record_batch([event(batch * 10 + j) for j in range(10)], batch)
        print(batch, flush=True)
        batch += 1
"""


def run_writer_until(location: str | Path, mode: str, ready: Callable[[str], bool]) -> None:
    """Start the writer process, wait until it prints a line ``ready`` accepts, then SIGKILL it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASH_WRITER, str(location), mode],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if ready(line.strip()):
                os.kill(proc.pid, signal.SIGKILL)
                break
        else:
            pytest.fail(f"writer exited early with code {proc.wait()}")
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL


def test_sigkill_inside_a_batch_keeps_none_of_it(ledger_location: str | Path) -> None:
    run_writer_until(ledger_location, "mid-transaction", lambda line: line == "inside")
    if isinstance(ledger_location, Path):
        wal = ledger_location.with_name(ledger_location.name + "-wal")
        assert wal.stat().st_size > 1_000_000  # uncommitted pages really reached the disk
    with Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=DAO) as reopened:
        ids = sorted(row.proposal_id for row in reopened.rows())  # one block holds ten
        assert ids == list(range(50))
        assert reopened.checkpoint() == 100
        assert reopened.record_batch([make_event(1000)], 200) == [1000]


@pytest.mark.parametrize("committed_batches", [3, 17, 40])
def test_sigkill_at_any_moment_leaves_checkpoint_and_rows_consistent(
    ledger_location: str | Path, committed_batches: int
) -> None:
    run_writer_until(ledger_location, "loop", lambda line: int(line) >= committed_batches)
    with Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=DAO) as reopened:
        checkpoint = reopened.checkpoint()
        assert checkpoint is not None and checkpoint >= committed_batches
        ids = {row.proposal_id for row in reopened.rows()}
        assert ids == set(range((checkpoint + 1) * 10))


# -- updates, closes, drift, outbox ---------------------------------------------------------------


def test_an_update_that_deployed_becomes_its_targets_voted_state(
    ledger: Ledger, row_in_state: Callable[[DeploymentState, int], int]
) -> None:
    target = row_in_state(S.DEPLOYED, 1)
    assert ledger.get(target).voted_spec_json == ledger.get(target).spec_json
    change = json.dumps({"action": "update", "target": 1, "changes": {"tag": "2"}})
    ledger.record_batch([make_event(2, spec=change)], 102)
    ledger.mark_creating(2, "dao-1", in_flight_until=SENT, deployments_before=["order-1"])
    assert ledger.get(2).deployments_before == ("order-1",)
    ledger.mark_created(2, "inst-1", "order-2", at=SENT)
    with pytest.raises(ValueError, match="give voted_spec_json"):
        ledger.mark_deployed(2, "Deployed")
    for wrong in ("tag 1 → 2", ["tag 1 → 2", 3]):
        with pytest.raises(ValueError, match=r"^changes must be a sequence of str, got "):
            ledger.mark_deployed(2, "Deployed", voted_spec_json="{}", changes=wrong)
    assert ledger.get(2).state is S.CREATED
    row = ledger.mark_deployed(
        2,
        "Deployed",
        ["http://order-2.example:30010"],
        voted_spec_json='{"voted": "after update"}',
        changes=["tag 1 → 2"],
    )
    assert (row.state, row.kind, row.target_id) == (S.DEPLOYED, "update", 1)
    assert ledger.get(1).voted_spec_json == '{"voted": "after update"}'
    assert ledger.get(1).urls == ("http://order-2.example:30010",)  # the instance's URLs now
    assert ledger.history(1)[-1].note == "updated by proposal 2: tag 1 → 2"
    last = ledger.outbox()[-1]
    assert (last.kind, last.fields["changes"]) == ("updated", ["tag 1 → 2"])
    assert (last.fields["action"], ledger.outbox()[0].fields["action"]) == ("update", "deploy")
    [executed] = [e for e in ledger.outbox() if e.kind == "executed" and e.proposal_id == 2]
    assert (executed.fields["action"], executed.fields["target"]) == ("update", 1)


def test_an_update_that_changed_nothing_in_words_is_noted_plainly_and_needs_its_target(
    ledger: Ledger, row_in_state: Callable[[DeploymentState, int], int]
) -> None:
    row_in_state(S.DEPLOYED, 1)
    updates = [
        json.dumps({"action": "update", "target": target, "changes": {"tag": "2"}})
        for target in (1, 99)
    ]
    ledger.record_batch([make_event(2, spec=updates[0]), make_event(3, spec=updates[1])], 103)
    for pid in (2, 3):
        ledger.mark_creating(pid, "dao-1", in_flight_until=SENT)
        ledger.mark_created(pid, "inst-1", f"order-{pid}", at=SENT)
    ledger.mark_deployed(2, "Deployed", voted_spec_json='{"voted": 2}')
    assert ledger.history(1)[-1].note == "updated by proposal 2"
    with pytest.raises(UnknownProposalError, match=r"^proposal 99 is not in the ledger$"):
        ledger.mark_deployed(3, "Deployed", voted_spec_json='{"voted": 3}')
    assert ledger.get(3).state is S.CREATED  # nothing of the refused step was written


def test_a_close_is_done_only_once_sent_and_clears_its_window_and_its_targets_drift(
    ledger: Ledger, row_in_state: Callable[[DeploymentState, int], int]
) -> None:
    target = row_in_state(S.DEPLOYED, 7)
    ledger.record_drift(target, {"kind": "changed", "differences": ["tag: voted 1, running 2"]})
    ledger.record_batch([make_event(8, spec=json.dumps({"action": "close", "target": 7}))], 108)
    with pytest.raises(
        InvalidTransitionError,
        match=r"^mark_closed: proposal 8 cannot go from RECORDED to CLOSED \(allowed from: ",
    ):
        ledger.mark_closed(8)  # never sent: not closed
    ledger.mark_creating(8, "dao-7", in_flight_until=SENT + 90)
    row = ledger.mark_closed(8)
    assert (row.state, row.in_flight_until) == (S.CLOSED, None)
    assert ledger.history(8)[-1].note == "closed the instance of proposal 7"
    closed = ledger.get(7)
    assert (closed.closed_by, closed.drift) == (8, None)  # a closed instance drifts no more
    update = json.dumps({"action": "update", "target": 7, "changes": {"tag": "2"}})
    ledger.record_batch([make_event(9, spec=update)], 109)
    ledger.mark_creating(9, "dao-7", in_flight_until=SENT + 90)
    with pytest.raises(InvalidTransitionError, match=r"^proposal 9 is not a close$"):
        ledger.mark_closed(9)


def test_a_close_closes_its_target_for_good(
    ledger: Ledger, row_in_state: Callable[[DeploymentState, int], int]
) -> None:
    closer = row_in_state(S.CLOSED, 3)
    target = ledger.get(3 + 1000)
    assert target.closed_by == closer and target.state is S.DEPLOYED
    assert ledger.history(target.proposal_id)[-1].note == f"closed by proposal {closer}"
    assert [row.proposal_id for row in ledger.live_instances()] == []
    deploy = row_in_state(S.DEPLOYED, 4)
    assert [row.proposal_id for row in ledger.live_instances()] == [deploy]
    creating = row_in_state(S.CREATING, 5)
    with pytest.raises(InvalidTransitionError, match="not a close"):
        ledger.mark_closed(creating)


def test_drift_is_recorded_once_per_change_and_notified(
    ledger: Ledger, row_in_state: Callable[[DeploymentState, int], int]
) -> None:
    pid = row_in_state(S.DEPLOYED, 1)
    drift = {"kind": "changed", "differences": ["tag: voted 1, running 2"]}
    assert ledger.record_drift(pid, drift) is True
    assert ledger.record_drift(pid, dict(drift)) is False  # the same drift: nothing new
    assert ledger.get(pid).drift == drift
    assert ledger.record_drift(pid, None) is True
    assert ledger.get(pid).drift is None
    drifts = [e for e in ledger.outbox() if e.kind == "drift"]
    assert len(drifts) == 1
    assert drifts[0].fields["differences"] == ["tag: voted 1, running 2"]
    assert [h.note for h in ledger.history(pid)][-2:] == [
        "drift (changed): tag: voted 1, running 2",
        "drift: none any more",
    ]


def test_every_change_worth_telling_is_in_the_outbox_in_its_own_transaction(
    ledger_location: str | Path,
) -> None:
    with Ledger(
        ledger_location, chain_id=CHAIN_ID, dao_address=DAO, notify_sinks=["slack-1", "json-2"]
    ) as ledger:
        ledger.record_batch([make_event(1), make_event(2)], 102)
        ledger.mark_rejected(2, "refused by policy")
        ledger.mark_creating(1, "dao-1", in_flight_until=SENT)
        ledger.mark_created(1, "inst-1", "order-1", at=SENT)
        ledger.mark_progress(1, "Pending")
        ledger.mark_deployed(1, "Deployed", ["https://x.example"])
        kinds = [(event.kind, event.proposal_id) for event in ledger.outbox()]
        assert kinds == [("executed", 1), ("executed", 2), ("rejected", 2), ("deployed", 1)]
        deployed = ledger.outbox()[-1]
        assert deployed.fields["urls"] == ["https://x.example"]
        assert deployed.fields["instance_id"] == "inst-1"
        pending = ledger.pending_notifications("slack-1", limit=10)
        assert [event.kind for event in pending] == ["executed", "executed", "rejected", "deployed"]
        ledger.mark_notified(pending[0].id, "slack-1")
        ledger.notification_failed(pending[1].id, "slack-1", "HTTP 500")
        assert [e.id for e in ledger.pending_notifications("slack-1", limit=10)] == [
            e.id for e in pending[1:]
        ]
        assert len(ledger.pending_notifications("json-2", limit=10)) == 4
        assert ledger.pending_notifications("unknown", limit=10) == []
    with Ledger(
        ledger_location, chain_id=CHAIN_ID, dao_address=DAO, notify_sinks=["slack-1"]
    ) as again:
        assert len(again.pending_notifications("slack-1", limit=10)) == 3  # survives a restart


def test_a_failed_transition_writes_no_event(
    ledger: Ledger, row_in_state: Callable[[DeploymentState, int], int]
) -> None:
    pid = row_in_state(S.DEPLOYED, 1)
    events = ledger.outbox()
    with pytest.raises(InvalidTransitionError):
        ledger.mark_failed(pid, "too late")
    assert ledger.outbox() == events


def test_a_migrated_ledger_keeps_its_foreign_keys_and_history(ledger_path: Path) -> None:
    """The version 3 rebuild of `deployments` (with foreign keys off) leaves history intact."""
    with closing(sqlite3.connect(ledger_path, isolation_level=None)) as raw:
        for statement in VERSION_1_SCHEMA:
            raw.execute(statement)
        raw.execute("PRAGMA user_version = 1")
    with Ledger(ledger_path, chain_id=CHAIN_ID, dao_address=DAO) as first:
        first.record_batch([make_event(1)], 101)
    with closing(sqlite3.connect(ledger_path, isolation_level=None)) as raw:
        foreign = raw.execute("PRAGMA foreign_key_check").fetchall()
    assert foreign == []
    with Ledger(ledger_path, chain_id=CHAIN_ID, dao_address=DAO) as again:
        assert again.get(1).kind == "deploy" and again.history(1)[0].state is S.RECORDED


@pytest.mark.parametrize(
    ("spec", "kind", "target"),
    [
        ('{"action": "update", "target": 7, "changes": {}}', "update", 7),
        ('{"action": "close", "target": 3}', "close", 3),
        ('{"clusterName": "web"}', "deploy", None),
        ('{"action": "close", "target": "3"}', "deploy", None),
        ('{"action": "close", "target": true}', "deploy", None),
        ('{"action": "explode", "target": 3}', "deploy", None),
        ("not json", "deploy", None),
    ],
)
def test_an_events_kind_and_target_come_from_its_json(
    ledger: Ledger, spec: str, kind: str, target: int | None
) -> None:
    """Filed from the voted text itself, so a row can never claim a kind its JSON does not; a
    malformed envelope is filed as a deployment, whose validation then rejects it with reasons."""
    event = make_event(1, spec=spec)
    assert (event.kind, event.target_id) == (kind, target)
    ledger.record_batch([event], 101)
    assert (ledger.get(1).kind, ledger.get(1).target_id) == (kind, target)


# -- claims: several replicas on one ledger -------------------------------------------------------


def test_a_claim_is_exclusive_until_it_expires_on_the_database_clock(ledger: Ledger) -> None:
    ledger.record_batch([make_event(1)], 101)
    first = ledger.claim(1, "replica-a", lease_s=30)
    assert first is not None and first.taken_from is None and not first.renewed
    assert first.row.claimed_by == "replica-a"
    assert 25 < first.row.claim_until - ledger.now() <= 30
    assert ledger.claim(1, "replica-b", lease_s=30) is None
    again = ledger.claim(1, "replica-a", lease_s=30)
    assert again is not None and again.renewed and again.taken_from is None
    assert ledger.claims_held("replica-a") == 1 and ledger.claims_held("replica-b") == 0
    ledger.claim(1, "replica-a", lease_s=0.2)
    time.sleep(0.3)  # the lease runs out: replica-a stopped renewing it
    taken = ledger.claim(1, "replica-b", lease_s=30)
    assert taken is not None and taken.taken_from == "replica-a"
    assert ledger.claims_held("replica-a") == 0


def test_a_replica_whose_claim_was_taken_over_cannot_send_a_create(ledger: Ledger) -> None:
    ledger.record_batch([make_event(1)], 101)
    ledger.claim(1, "replica-a", lease_s=0.1)
    time.sleep(0.2)
    ledger.claim(1, "replica-b", lease_s=30)
    with pytest.raises(ClaimLostError, match="claimed by replica-b"):
        ledger.mark_creating(1, "dao-1", in_flight_until=SENT, claimed_by="replica-a")
    row = ledger.get(1)
    assert row is not None and row.state is S.RECORDED and row.attempts == 0
    created = ledger.mark_creating(1, "dao-1", in_flight_until=SENT, claimed_by="replica-b")
    assert created.state is S.CREATING


def test_finished_rows_are_never_claimed_and_released_claims_are_free(ledger: Ledger) -> None:
    ledger.record_batch([make_event(1), make_event(2)], 102)
    ledger.mark_rejected(1, "invalid spec")
    assert ledger.claim(1, "replica-a", lease_s=30) is None
    ledger.claim(2, "replica-a", lease_s=30)
    assert ledger.release_claims("replica-a") == 1
    free = ledger.claim(2, "replica-b", lease_s=30)
    assert free is not None and free.taken_from is None  # released, not taken over


def test_replicas_racing_for_rows_claim_each_exactly_once(ledger_location: str | Path) -> None:
    with Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=DAO) as setup:
        setup.record_batch([make_event(pid) for pid in range(1, 41)], 200)
    won: dict[str, list[int]] = {}

    def replica(name: str) -> None:
        with Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=DAO) as own:
            won[name] = [pid for pid in range(1, 41) if own.claim(pid, name, lease_s=60)]

    threads = [threading.Thread(target=replica, args=(f"r{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = sorted(pid for pids in won.values() for pid in pids)
    assert claimed == list(range(1, 41))


# -- exact errors, notes and limits ----------------------------------------------------------------


def test_read_rows_answers_empty_until_the_bot_has_created_the_ledger(
    ledger_location: str | Path,
) -> None:
    assert read_rows(ledger_location) == []
    engine = raw_engine(ledger_location)
    engine.connect().close()  # the database exists, its first migration is not committed yet
    engine.dispose()
    assert read_rows(ledger_location) == []
    with Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=DAO) as ledger:
        ledger.record_batch([make_event(1)], 101)
    assert [row.proposal_id for row in read_rows(ledger_location)] == [1]


def test_read_rows_refuses_a_ledger_of_a_newer_schema(ledger_location: str | Path) -> None:
    Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=DAO).close()
    store_schema_version(ledger_location, SCHEMA_VERSION + 1)
    with pytest.raises(LedgerSchemaError) as refused:
        read_rows(ledger_location)
    assert refused.value.version == SCHEMA_VERSION + 1
    with pytest.raises(LedgerSchemaError) as refused:
        Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=DAO)
    assert refused.value.version == SCHEMA_VERSION + 1


def test_schema_errors_say_what_to_do(ledger_location: str | Path) -> None:
    shown = LedgerLocation.parse(ledger_location)
    raw_engine(ledger_location).connect().close()
    with pytest.raises(LedgerSchemaError) as older:
        Ledger.open_readonly(ledger_location)
    assert str(older.value) == (
        f"ledger {shown} has schema version 0, this code reads version {SCHEMA_VERSION}; "
        "run the bot once (read-write) to migrate it"
    )
    Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=DAO).close()
    store_schema_version(ledger_location, SCHEMA_VERSION + 3)
    with pytest.raises(LedgerSchemaError) as newer:
        Ledger.open_readonly(ledger_location)
    assert str(newer.value) == (
        f"ledger {shown} has schema version {SCHEMA_VERSION + 3}, this code reads version "
        f"{SCHEMA_VERSION}; upgrade spheron-dao-deploy"
    )
    with pytest.raises(LedgerSchemaError) as newer:
        Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=DAO)
    assert str(newer.value) == (
        f"ledger {shown} has schema version {SCHEMA_VERSION + 3}, newer than this code's "
        f"{SCHEMA_VERSION}; upgrade spheron-dao-deploy"
    )


def test_a_new_ledger_logs_each_migration_and_may_live_in_a_new_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="services.bot.ledger")
    path = tmp_path / "state" / "bot" / "ledger.sqlite3"
    with Ledger(path, chain_id=CHAIN_ID, dao_address=DAO) as ledger:
        assert ledger.read_only is False
    assert [r.getMessage() for r in caplog.records] == [
        f"ledger {path} migrated to schema version {version}"
        for version in range(1, SCHEMA_VERSION + 1)
    ]


def test_a_database_that_cannot_use_wal_is_refused() -> None:
    with pytest.raises(
        LedgerError, match=r"^could not switch :memory: to WAL journal mode \(got 'memory'\)$"
    ):
        Ledger(":memory:", chain_id=CHAIN_ID, dao_address=DAO)


def test_pragmas_are_the_five_diagnostics(ledger_path: Path) -> None:
    with Ledger(ledger_path, chain_id=CHAIN_ID, dao_address=DAO) as ledger:
        assert set(ledger.pragmas()) == {
            "journal_mode", "synchronous", "foreign_keys", "busy_timeout", "user_version"
        }  # fmt: skip


def test_a_postgresql_ledger_has_no_pragmas(postgres_url: str) -> None:
    with (
        Ledger(postgres_url, chain_id=CHAIN_ID, dao_address=DAO) as ledger,
        pytest.raises(LedgerError) as refused,
    ):
        ledger.pragmas()
    assert str(refused.value) == (
        f"ledger {LedgerLocation.parse(postgres_url)} is not SQLite; it has no pragmas"
    )


def test_mismatch_errors_name_both_bindings(ledger_location: str | Path) -> None:
    shown = LedgerLocation.parse(ledger_location)
    other = "0x" + "12" * 20
    Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=DAO).close()
    with pytest.raises(LedgerMismatchError) as mismatch:
        Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=other)
    assert str(mismatch.value) == (
        f"ledger {shown} belongs to chain {CHAIN_ID} DAO {DAO.lower()}, not chain "
        f"{CHAIN_ID} DAO {other}; use the ledger of that chain and contract"
    )
    with pytest.raises(LedgerMismatchError) as mismatch:
        Ledger.open_readonly(ledger_location, chain_id=1)
    assert str(mismatch.value) == f"ledger {shown} belongs to chain {CHAIN_ID}, not chain 1"
    with pytest.raises(LedgerMismatchError) as mismatch:
        Ledger.open_readonly(ledger_location, dao_address=other)
    assert str(mismatch.value) == f"ledger {shown} belongs to DAO {DAO.lower()}, not {other}"


def test_a_ledger_whose_binding_was_never_committed_says_so(ledger_location: str | Path) -> None:
    Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=DAO).close()
    engine = raw_engine(ledger_location)
    with engine.begin() as raw:
        raw.exec_driver_sql("DELETE FROM meta")
    engine.dispose()
    with Ledger.open_readonly(ledger_location) as reader, pytest.raises(LedgerError) as missing:
        reader.chain_id  # noqa: B018
    shown = LedgerLocation.parse(ledger_location)
    assert str(missing.value) == f"ledger {shown} has no 'chain_id' in its meta table"


@pytest.mark.parametrize("block", [True, "7", 7.0])
def test_record_batch_refuses_a_checkpoint_that_is_not_an_int(ledger: Ledger, block) -> None:
    with pytest.raises(ValueError, match=r"^checkpoint_block must be an int, got "):
        ledger.record_batch([], block)


def test_record_batch_takes_the_largest_checkpoint_and_names_a_wrong_item(ledger: Ledger) -> None:
    assert ledger.record_batch([], 2**63 - 1) == []
    assert ledger.checkpoint() == 2**63 - 1
    with pytest.raises(ValueError, match=r"^checkpoint_block must be in 0\.\.2\*\*63-1, got "):
        ledger.record_batch([], 2**63)
    with pytest.raises(TypeError, match=r"^record_batch expects NewEvent items, got str$"):
        ledger.record_batch(["not an event"], 1)  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda ledger: ledger.mark_rejected(1, " "), "reason"),
        (lambda ledger: ledger.mark_planned(1, ""), "deployment_name"),
        (lambda ledger: ledger.mark_creating(1, "", in_flight_until=SENT), "deployment_name"),
        (lambda ledger: ledger.mark_creating(1, "dao-1", in_flight_until=-1), "in_flight_until"),
        (lambda ledger: ledger.mark_not_sent(1, ""), "reason"),
        (lambda ledger: ledger.mark_created(1, "", "order-1", at=SENT), "instance_id"),
        (lambda ledger: ledger.mark_created(1, "inst-1", "", at=SENT), "deployment_id"),
        (lambda ledger: ledger.mark_created(1, "inst-1", "order-1", at=True), "at"),
        (lambda ledger: ledger.mark_progress(1, ""), "deployment_status"),
        (lambda ledger: ledger.mark_failed(1, ""), "reason"),
        (lambda ledger: ledger.mark_failed(1, "x", deployment_status=""), "deployment_status"),
        (lambda ledger: ledger.note(1, ""), "text"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_each_bad_value_is_refused_by_its_name(ledger: Ledger, call, field: str) -> None:
    ledger.record_batch([make_event(1)], 101)
    with pytest.raises(ValueError, match=rf"^{field} must be "):
        call(ledger)


def test_unix_time_zero_is_a_time(ledger: Ledger) -> None:
    ledger.record_batch([make_event(1)], 101)
    ledger.mark_creating(1, "dao-1", in_flight_until=0)
    assert ledger.mark_created(1, "inst-1", "order-1", at=0).created_at == 0
    with pytest.raises(ValueError, match=r"^in_flight_until must be a Unix time"):
        ledger.mark_creating(1, "dao-1", in_flight_until=False)


def test_each_transition_writes_its_history_note(ledger: Ledger) -> None:
    ledger.record_batch([make_event(1), make_event(2), make_event(3)], 103)
    ledger.mark_planned(1, "dao-1")
    ledger.mark_rejected(2, "refused by policy: too many replicas")
    ledger.mark_failed(3, "missing secret: DAO_SECRET_X", deployment_status="Failed")
    notes = {pid: ledger.history(pid)[-1] for pid in (1, 2, 3)}
    assert notes[1].note == "dry run: would deploy as dao-1"
    assert notes[2].note == "refused by policy: too many replicas"
    assert notes[3].note == "missing secret: DAO_SECRET_X"
    assert ledger.get(3).deployment_status == "Failed"
    assert ledger.get(1).deployment_name == "dao-1" and ledger.get(1).reason is None
    entry = notes[2]
    assert entry.proposal_id == 2 and entry.state is S.REJECTED
    assert datetime.fromisoformat(entry.at).utcoffset() == timedelta(0)
    assert datetime.fromisoformat(ledger.get(2).first_seen_at).utcoffset() == timedelta(0)


def test_a_refused_transition_names_the_states_it_is_allowed_from(ledger: Ledger) -> None:
    ledger.record_batch([make_event(1)], 101)
    ledger.mark_creating(1, "dao-1", in_flight_until=SENT)
    ledger.mark_created(1, "inst-1", "order-1", at=SENT)
    with pytest.raises(InvalidTransitionError) as refused:
        ledger.mark_planned(1, "dao-1")
    assert str(refused.value) == (
        "mark_planned: proposal 1 cannot go from CREATED to PLANNED "
        "(allowed from: PLANNED, RECORDED)"
    )


@pytest.mark.parametrize("limit", [-1, True, "3"])
def test_rows_refuses_a_limit_that_is_not_a_non_negative_int(ledger: Ledger, limit) -> None:
    with pytest.raises(ValueError, match=r"^limit must be a non-negative int or None, got "):
        ledger.rows(limit)


@pytest.mark.parametrize("value", [True, "1", 0, -5])
def test_chain_ids_must_be_positive_ints(ledger_path: Path, value) -> None:
    with pytest.raises(ValueError, match=r"^chain_id must be a positive int"):
        Ledger(ledger_path, chain_id=value, dao_address=DAO)


@pytest.mark.parametrize("value", [True, "1", -1, 2**256])
def test_proposal_ids_must_be_uint256_ints(ledger: Ledger, value) -> None:
    steps = (ledger.get, ledger.history, lambda pid: ledger.mark_rejected(pid, "bad"))
    for step in steps:
        with pytest.raises(ValueError, match=r"^proposal_id must be an int in the uint256 range"):
            step(value)


def test_each_step_stamps_the_row_with_its_time(ledger: Ledger) -> None:
    ledger.record_batch([make_event(1)], 101)
    recorded = ledger.get(1)
    time.sleep(0.01)
    planned = ledger.mark_planned(1, "dao-1")
    assert planned.updated_at > recorded.updated_at
    assert planned.first_seen_at == recorded.first_seen_at


def test_a_known_event_seen_again_is_logged_as_ignored(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="services.bot.ledger")
    event = make_event(1)
    ledger.record_batch([event], 101)
    ledger.record_batch([event], 101)
    assert caplog.records[-1].getMessage() == (
        f"proposal 1 already recorded (tx {event.tx_hash} log 0); ignored"
    )


def test_a_conflicting_event_is_logged_with_both_payloads(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    kept = make_event(1)
    other = make_event(1, spec='{"clusterName": "other"}', sender=DAO, tx_seed=9, log_index=2)
    ledger.record_batch([kept], 101)
    ledger.record_batch([other], 110)
    assert caplog.records[-1].getMessage() == (
        f"conflicting DeployEvent ignored: proposal 1 from {DAO.lower()} spec {other.spec_hash} "
        f"at tx {other.tx_hash} log 2; the ledger keeps proposal 1 from {MEMBER.lower()} spec "
        f"{kept.spec_hash} at tx {kept.tx_hash} log 0"
    )


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_closing_a_ledger_releases_its_files(ledger_path: Path) -> None:
    before = open_files()
    with Ledger(ledger_path, chain_id=CHAIN_ID, dao_address=DAO) as ledger:
        ledger.record_batch([make_event(1)], 101)
        assert open_files() > before
    assert open_files() == before
    reader = Ledger.open_readonly(ledger_path)
    reader.close()
    assert open_files() == before


def test_a_ledger_that_refuses_to_open_leaves_no_file_open(ledger_path: Path) -> None:
    Ledger(ledger_path, chain_id=CHAIN_ID, dao_address=DAO).close()
    before = open_files()
    with pytest.raises(LedgerMismatchError) as refused:
        Ledger(ledger_path, chain_id=1, dao_address=DAO)
    assert open_files() == before
    with pytest.raises(LedgerMismatchError) as refused:
        Ledger.open_readonly(ledger_path, chain_id=1)
    assert open_files() == before
    assert refused.value  # the traceback, which holds the ledger object, is still alive here


def test_status_updates_refuse_urls_that_are_not_strings(ledger: Ledger) -> None:
    ledger.record_batch([make_event(1)], 101)
    ledger.mark_creating(1, "dao-1", in_flight_until=SENT)
    ledger.mark_created(1, "inst-1", "order-1", at=SENT)
    for urls in ("https://app.example", [1]):
        with pytest.raises(ValueError, match=r"^urls must be a sequence of str, got "):
            ledger.mark_progress(1, "Pending", urls)  # type: ignore[arg-type]


def test_a_failed_notification_counts_its_attempt_and_keeps_its_error(
    ledger_location: str | Path,
) -> None:
    with Ledger(
        ledger_location, chain_id=CHAIN_ID, dao_address=DAO, notify_sinks=["slack-1"]
    ) as ledger:
        ledger.record_batch([make_event(1)], 101)
        [event] = ledger.pending_notifications("slack-1", limit=10)
        ledger.notification_failed(event.id, "slack-1", "HTTP 500 " + "x" * 600)
        ledger.notification_failed(event.id, "slack-1", "connection refused")
        [delivery] = ledger.dump()["deliveries"]
        assert (delivery["attempts"], delivery["last_error"]) == (2, "connection refused")
        assert delivery["delivered_at"] is None
        ledger.notification_failed(event.id, "slack-1", "HTTP 500 " + "x" * 600)
        [delivery] = ledger.dump()["deliveries"]
        assert (
            delivery["attempts"] == 3 and delivery["last_error"] == ("HTTP 500 " + "x" * 600)[:500]
        )
        assert [e.id for e in ledger.pending_notifications("slack-1", limit=10)] == [event.id]
        ledger.mark_notified(event.id, "slack-1")
        [delivery] = ledger.dump()["deliveries"]
        assert (delivery["attempts"], delivery["last_error"]) == (4, None)
        assert delivery["delivered_at"] is not None
        assert ledger.pending_notifications("slack-1", limit=10) == []


def test_pending_notifications_come_oldest_first_and_at_most_the_limit(
    ledger_location: str | Path,
) -> None:
    with Ledger(
        ledger_location, chain_id=CHAIN_ID, dao_address=DAO, notify_sinks=["slack-1"]
    ) as ledger:
        ledger.record_batch([make_event(pid) for pid in (1, 2, 3)], 103)
        events = ledger.pending_notifications("slack-1", limit=10)
        assert [event.proposal_id for event in events] == [1, 2, 3]
        ledger.notification_failed(events[0].id, "slack-1", "HTTP 500")
        assert ledger.pending_notifications("slack-1", limit=10) == events
        assert ledger.pending_notifications("slack-1", limit=2) == events[:2]


def test_a_claim_needs_a_replica_name_and_a_positive_lease(ledger: Ledger) -> None:
    ledger.record_batch([make_event(1)], 101)
    with pytest.raises(ValueError, match=r"^replica must be a non-empty string, got ' '$"):
        ledger.claim(1, " ", lease_s=30)
    for lease in (0, -1.0):
        with pytest.raises(ValueError, match=rf"^lease_s must be > 0, got {lease!r}$"):
            ledger.claim(1, "replica-a", lease_s=lease)
    assert ledger.get(1).claimed_by is None


def test_a_replica_releases_one_claim_and_counts_only_live_claims_on_unfinished_rows(
    ledger: Ledger,
) -> None:
    ledger.record_batch([make_event(pid) for pid in (1, 2, 3)], 103)
    for pid in (1, 2, 3):
        ledger.claim(pid, "replica-a", lease_s=30)
    assert ledger.release_claims("replica-b", 1) == 0  # not its claim
    assert ledger.release_claims("replica-a", 1) == 1
    released = ledger.get(1)
    assert released is not None and (released.claimed_by, released.claim_until) == (None, None)
    assert ledger.get(2).claimed_by == "replica-a"
    assert ledger.claims_held("replica-a") == 2
    ledger.mark_rejected(3, "invalid spec")
    assert ledger.get(3).claimed_by == "replica-a"  # a finished row's claim no longer counts
    assert ledger.claims_held("replica-a") == 1
    ledger.record_batch([make_event(4)], 104)
    ledger.claim(4, "replica-a", lease_s=0.1)
    assert ledger.claims_held("replica-a") == 2
    time.sleep(0.2)  # nobody took it over, but the lease ran out
    assert ledger.claims_held("replica-a") == 1
    with pytest.raises(ValueError, match=r"^proposal_id must be an int in the uint256 range"):
        ledger.release_claims("replica-a", -1)


def test_read_binding_says_what_a_ledger_lacks(ledger_location: str | Path) -> None:
    shown = LedgerLocation.parse(ledger_location)
    if isinstance(ledger_location, Path):
        with pytest.raises(FileNotFoundError) as missing:
            read_binding(ledger_location)
        assert str(missing.value) == f"no ledger at {ledger_location}"
    engine = raw_engine(ledger_location)
    engine.connect().close()
    with pytest.raises(LedgerSchemaError) as empty:
        read_binding(ledger_location)
    assert (str(empty.value), empty.value.version) == (f"ledger {shown} has no tables yet", 0)
    Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=DAO).close()
    assert read_binding(ledger_location) == (CHAIN_ID, DAO.lower())
    with engine.begin() as raw:
        raw.exec_driver_sql("DELETE FROM meta WHERE key = 'dao_address'")
    engine.dispose()
    with pytest.raises(LedgerError) as unbound:
        read_binding(ledger_location)
    assert str(unbound.value) == f"ledger {shown} is not bound to a chain and DAO yet"


def test_read_binding_leaves_a_first_release_ledger_as_it_was(ledger_path: Path) -> None:
    with closing(sqlite3.connect(ledger_path, isolation_level=None)) as raw:
        for statement in VERSION_1_SCHEMA:
            raw.execute(statement)
        raw.executemany(
            "INSERT INTO meta VALUES (?, ?)", [("chain_id", "5"), ("dao_address", DAO.lower())]
        )
        raw.execute("PRAGMA user_version = 1")
    before = open_files()
    assert read_binding(ledger_path) == (5, DAO.lower())
    assert open_files() == before
    with closing(sqlite3.connect(ledger_path)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # not switched to WAL
        assert raw.execute("PRAGMA user_version").fetchone() == (1,)


def test_read_binding_of_an_unreachable_database_names_it() -> None:
    location = "postgresql://deploybot@127.0.0.1:1/ledger"
    shown = re.escape(str(LedgerLocation.parse(location)))
    with pytest.raises(LedgerUnavailableError, match=rf"^ledger database {shown} unavailable: "):
        read_binding(location)


def test_outbox_with_a_limit_gives_the_newest_events_oldest_first(ledger: Ledger) -> None:
    ledger.record_batch([make_event(1), make_event(2), make_event(3)], 103)
    ledger.mark_rejected(2, "invalid spec")
    everything = ledger.outbox()
    assert [(e.kind, e.proposal_id) for e in everything] == [
        ("executed", 1), ("executed", 2), ("executed", 3), ("rejected", 2)
    ]  # fmt: skip
    assert ledger.outbox(limit=2) == everything[-2:]
    assert ledger.outbox(limit=0) == []


def test_a_replayed_event_is_compared_with_its_own_row_only(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    """Rows that share only a transaction or only a log index with it are other events."""
    caplog.set_level(logging.DEBUG, logger="services.bot.ledger")
    first, other_log = make_event(1), make_event(2, tx_seed=1, log_index=1)
    ledger.record_batch([first, other_log, make_event(3)], 103)
    caplog.clear()
    ledger.record_batch([first], 103)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.DEBUG, f"proposal 1 already recorded (tx {first.tx_hash} log 0); ignored")
    ]


def test_dump_gives_rows_with_generated_keys_in_key_order_whatever_the_order_written(
    ledger_location: str | Path, tmp_path: Path
) -> None:
    with Ledger(tmp_path / "source.sqlite3", chain_id=CHAIN_ID, dao_address=DAO) as source:
        source.record_batch([make_event(pid) for pid in (1, 2, 3)], 103)
        source.mark_rejected(2, "invalid spec")
        dumped = source.dump()
    shuffled = {**dumped, "history": dumped["history"][::-1], "outbox": dumped["outbox"][::-1]}
    with Ledger(ledger_location, chain_id=CHAIN_ID, dao_address=DAO) as copy:
        copy.restore(shuffled)
        again = copy.dump()
    for table in ("history", "outbox"):
        assert [row["id"] for row in again[table]] == [row["id"] for row in dumped[table]]
        assert again[table] == dumped[table]


def test_live_instances_are_deployed_deployments_without_a_change_in_flight_in_chain_order(
    ledger: Ledger,
) -> None:
    def deploy(pid: int, block: int, log_index: int, *, settle: bool = True) -> None:
        ledger.record_batch([make_event(pid, block=block, log_index=log_index)], block)
        ledger.mark_creating(pid, f"dao-{pid}", in_flight_until=SENT)
        ledger.mark_created(pid, f"inst-{pid}", f"order-{pid}", at=SENT)
        if settle:
            ledger.mark_deployed(pid, "Deployed")

    def change(pid: int, target: int) -> None:
        update = json.dumps({"action": "update", "target": target, "changes": {"replicas": 2}})
        ledger.record_batch([make_event(pid, block=200 + pid, spec=update)], 200 + pid)

    deploy(5, 100, 1)
    deploy(9, 100, 0)
    deploy(7, 99, 5)
    deploy(6, 98, 0)
    deploy(8, 97, 0, settle=False)  # still being deployed
    change(20, 6)
    ledger.mark_creating(20, "dao-6", in_flight_until=SENT)  # an update of 6 in flight
    change(21, 7)
    ledger.mark_rejected(21, "refused by policy")  # an update of 7 that never ran
    live = ledger.live_instances()
    assert [row.proposal_id for row in live] == [7, 9, 5]
    assert all(row.kind == "deploy" and row.state is S.DEPLOYED for row in live)


def test_a_drift_is_noted_with_all_its_differences_and_notified_with_its_instance(
    ledger: Ledger, row_in_state: Callable[[DeploymentState, int], int]
) -> None:
    pid = row_in_state(S.DEPLOYED, 1)
    changed = ["tag: voted 1.27, running 1.28", "replicas: voted 2, running 3"]
    assert ledger.record_drift(pid, {"kind": "changed", "differences": changed})
    assert ledger.record_drift(pid, {"kind": "closed"})  # a drift may come without details
    assert [h.note for h in ledger.history(pid)][-2:] == [
        "drift (changed): tag: voted 1.27, running 1.28; replicas: voted 2, running 3",
        "drift (closed): ",
    ]
    assert [e.fields for e in ledger.outbox() if e.kind == "drift"] == [
        {"drift_kind": "changed", "differences": changed, "instance_id": "inst-1"},
        {"drift_kind": "closed", "differences": [], "instance_id": "inst-1"},
    ]
