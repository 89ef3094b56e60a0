"""Copying a ledger into an empty database (SQLite → PostgreSQL) without redeploying anything,
in process (`copy_ledger`) and as `ape run ledger_copy`, with `ape run deployments` reading the
copy."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from services.bot.ledger import (
    SCHEMA_VERSION,
    DeploymentState,
    Ledger,
    LedgerLocation,
    LedgerMismatchError,
    LedgerNotEmptyError,
)
from services.bot.ledger_copy import copy_ledger
from services.bot.ledger_lock import LedgerInUseError, ledger_lock
from services.common import exit_codes
from testbed.bot_process import APE, ROOT, watcher_environment
from testbed.postgres import PostgresServer
from tests.bot.test_ledger import CHAIN_ID, DAO, SENT, VERSION_1_SCHEMA, make_event

S = DeploymentState


def filled_ledger(location: str | Path) -> None:
    """Rows in every kind of state, with history and a checkpoint."""
    with Ledger(location, chain_id=CHAIN_ID, dao_address=DAO) as ledger:
        ledger.record_batch([make_event(pid) for pid in range(1, 6)], 250)
        ledger.mark_rejected(1, "invalid spec: replicas must be >= 1")
        ledger.mark_creating(2, "dao-2", in_flight_until=SENT + 90)
        ledger.mark_not_sent(2, "connection refused")
        ledger.mark_creating(2, "dao-2", in_flight_until=SENT + 95)
        ledger.mark_creating(3, "dao-3", in_flight_until=SENT + 90)
        ledger.mark_created(3, "inst-3", "order-3", at=SENT + 1)
        ledger.mark_progress(3, "Pending", ["https://p.example"])
        ledger.mark_creating(4, "dao-4", in_flight_until=SENT + 90)
        ledger.mark_created(4, "inst-4", "order-4", at=SENT + 2)
        ledger.mark_deployed(4, "Deployed", ["https://app.example"])
        ledger.note(4, "closed duplicate instance inst-9; kept inst-4")


def snapshot(location: str | Path) -> tuple[list, dict, int | None]:
    with Ledger.open_readonly(location) as ledger:
        rows = ledger.rows()
        history = {row.proposal_id: ledger.history(row.proposal_id) for row in rows}
        return rows, history, ledger.checkpoint()


def test_a_sqlite_ledger_is_copied_whole_into_postgresql(tmp_path: Path, postgres_url: str):
    source = tmp_path / "ledger.sqlite3"
    filled_ledger(source)
    summary = copy_ledger(LedgerLocation.parse(source), LedgerLocation.parse(postgres_url))
    assert (summary.rows, summary.checkpoint, summary.chain_id) == (5, 250, CHAIN_ID)
    assert summary.history_lines == sum(len(lines) for lines in snapshot(source)[1].values())
    assert snapshot(postgres_url) == snapshot(source)
    with Ledger(postgres_url, chain_id=CHAIN_ID, dao_address=DAO) as copy:
        # The copy goes on where the original stopped: nothing seen is seen again.
        assert copy.record_batch([make_event(pid) for pid in range(1, 7)], 260) == [6]
        assert [row.proposal_id for row in copy.unfinished()] == [2, 3, 5, 6]
        assert copy.get(2).attempts == 2 and copy.get(2).in_flight_until == SENT + 95
        copy.mark_deployed(3, "Deployed")
        assert [entry.state for entry in copy.history(3)][-1] is S.DEPLOYED


def test_a_target_that_holds_anything_is_refused(tmp_path: Path, postgres_url: str):
    source = tmp_path / "ledger.sqlite3"
    filled_ledger(source)
    with Ledger(postgres_url, chain_id=CHAIN_ID, dao_address=DAO) as target:
        target.record_batch([], 7)  # a checkpoint alone is already a history
    with pytest.raises(LedgerNotEmptyError) as refused:
        copy_ledger(LedgerLocation.parse(source), LedgerLocation.parse(postgres_url))
    assert str(refused.value) == (
        f"ledger {LedgerLocation.parse(postgres_url)} is not empty (table meta has rows); "
        "copy only into a new database"
    )
    with Ledger.open_readonly(postgres_url) as target:
        assert target.rows() == [] and target.checkpoint() == 7


def test_a_target_bound_to_another_dao_is_refused(tmp_path: Path, postgres_url: str):
    source = tmp_path / "ledger.sqlite3"
    filled_ledger(source)
    Ledger(postgres_url, chain_id=CHAIN_ID, dao_address="0x" + "12" * 20).close()
    with pytest.raises(LedgerMismatchError):
        copy_ledger(LedgerLocation.parse(source), LedgerLocation.parse(postgres_url))


def test_a_ledger_in_use_by_a_bot_is_not_copied(tmp_path: Path, postgres_url: str):
    source = LedgerLocation.parse(tmp_path / "ledger.sqlite3")
    filled_ledger(source)
    with ledger_lock(source, CHAIN_ID, DAO), pytest.raises(LedgerInUseError):
        copy_ledger(source, LedgerLocation.parse(postgres_url))
    target = LedgerLocation.parse(postgres_url)
    with ledger_lock(target, CHAIN_ID, DAO), pytest.raises(LedgerInUseError):
        copy_ledger(source, target)


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(APE), "run", *args],
        cwd=ROOT,
        env=watcher_environment({}),
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_ape_run_ledger_copy_then_deployments_reads_postgresql(
    tmp_path: Path, postgres_server: PostgresServer
):
    """As an operator would: a role with a password, given in the URL; it is never printed."""
    password = "copy-pass-W9qe2L"
    database = postgres_server.create_database()
    postgres_server.create_role("deploybot", password)
    name = database.rsplit("/", 1)[1]
    postgres_server.sql(f'ALTER DATABASE "{name}" OWNER TO deploybot')
    url = postgres_server.url(name, user="deploybot", password=password)
    source = tmp_path / "ledger.sqlite3"
    filled_ledger(source)

    copied = run_script("ledger_copy", str(source), url)
    assert copied.returncode == 0, copied.stderr
    assert "copied 5 rows" in copied.stdout and "nothing was deployed" in copied.stdout
    again = run_script("ledger_copy", str(source), url)
    assert again.returncode == exit_codes.FAILED
    assert again.stderr.strip().splitlines()[-1].startswith("error: ledger postgresql://")
    assert "is not empty" in again.stderr

    listed = run_script("deployments", "--db", url, "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [row["proposal_id"] for row in rows] == [1, 2, 3, 4, 5]
    assert rows[3]["state"] == "DEPLOYED" and rows[3]["urls"] == ["https://app.example"]

    refused = run_script("deployments", "--db", url.replace(password, "wrong-pass-1"))
    assert refused.returncode == exit_codes.CONFIG
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("error: ledger database postgresql://deploybot:***@")
    assert "password authentication failed" in line
    for result in (copied, again, listed, refused):
        assert password not in result.stdout + result.stderr
        assert "wrong-pass-1" not in result.stdout + result.stderr


def test_a_ledger_of_the_first_release_is_migrated_then_copied(tmp_path: Path, postgres_url: str):
    source = tmp_path / "ledger.sqlite3"
    with closing(sqlite3.connect(source, isolation_level=None)) as raw:
        for statement in VERSION_1_SCHEMA:
            raw.execute(statement)
        raw.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [("chain_id", str(CHAIN_ID)), ("dao_address", DAO.lower()), ("checkpoint_block", "9")],
        )
        raw.execute(
            "INSERT INTO deployments (proposal_id, block_number, tx_hash, log_index, sender, "
            "spec_json, spec_hash, deployment_name, state, instance_id, deployment_id, attempts, "
            "first_seen_at, updated_at) VALUES ('7', 8, '0x07', 0, '0xab', '{}', '0xcd', 'dao-7', "
            "'CREATED', 'inst-7', 'order-7', 1, '2026-01-01', '2026-01-02')"
        )
        raw.execute("PRAGMA user_version = 1")
    summary = copy_ledger(LedgerLocation.parse(source), LedgerLocation.parse(postgres_url))
    assert (summary.rows, summary.checkpoint) == (1, 9)
    with Ledger.open_readonly(postgres_url) as copy:
        (row,) = copy.rows()
        assert (row.proposal_id, row.state, row.instance_id) == (7, S.CREATED, "inst-7")
        assert row.created_at is not None  # set by the migration to version 2
        assert copy.schema_version == SCHEMA_VERSION


def test_a_ledger_with_updates_closes_drift_and_notifications_is_copied_whole(
    tmp_path: Path, postgres_url: str
):
    """Notifications keep their ids (deliveries refer to them) and what was pending stays
    pending; new events in the copy get new ids."""
    source = tmp_path / "ledger.sqlite3"
    with Ledger(source, chain_id=CHAIN_ID, dao_address=DAO, notify_sinks=["json-1"]) as ledger:
        ledger.record_batch([make_event(1)], 101)
        ledger.mark_creating(1, "dao-1", in_flight_until=SENT)
        ledger.mark_created(1, "inst-1", "order-1", at=SENT)
        ledger.mark_deployed(1, "Deployed")
        ledger.record_drift(1, {"kind": "changed", "differences": ["tag: voted 1, running 2"]})
        close = json.dumps({"action": "close", "target": 1})
        ledger.record_batch([make_event(2, spec=close)], 102)
        ledger.mark_creating(2, "dao-1", in_flight_until=SENT)
        ledger.mark_closed(2)
        first = ledger.pending_notifications("json-1", limit=1)[0]
        ledger.mark_notified(first.id, "json-1")
        events = ledger.outbox()
        pending = ledger.pending_notifications("json-1", limit=100)
    copy_ledger(LedgerLocation.parse(source), LedgerLocation.parse(postgres_url))
    assert snapshot(postgres_url) == snapshot(source)
    with Ledger(postgres_url, chain_id=CHAIN_ID, dao_address=DAO, notify_sinks=["json-1"]) as copy:
        assert copy.outbox() == events
        assert copy.pending_notifications("json-1", limit=100) == pending
        assert copy.get(1).closed_by == 2 and copy.get(2).state is S.CLOSED
        copy.record_batch([make_event(3)], 103)
        assert copy.outbox()[-1].id == events[-1].id + 1


def test_restore_takes_a_dump_that_leaves_out_tables(tmp_path: Path, postgres_url: str):
    """A table missing from a dump is a table with no rows (the checkpoint lives in meta)."""
    source = tmp_path / "ledger.sqlite3"
    filled_ledger(source)
    with Ledger.open_readonly(source) as original:
        dumped = original.dump()
    partial = {"deployments": dumped["deployments"], "history": dumped["history"]}
    with Ledger(postgres_url, chain_id=CHAIN_ID, dao_address=DAO) as copy:
        copy.restore(partial)
        assert copy.rows() == snapshot(source)[0]
        assert copy.checkpoint() is None and copy.outbox() == []
