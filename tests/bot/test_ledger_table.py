"""The status command's table of ledger rows."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.bot.ledger import Ledger, NewEvent
from services.bot.ledger_table import EMPTY_LEDGER_MESSAGE, REASON_MAX_CHARS, format_ledger_table

DAO = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
LONG_REASON = "spheron: 400 Bad Request: " + "region eu-west is out of capacity; " * 5


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite3", chain_id=1, dao_address=DAO) as opened:
        yield opened


def record(ledger: Ledger, *pids: int, spec: str = "{}") -> None:
    ledger.record_batch(
        [
            NewEvent(
                proposal_id=pid,
                sender="0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                spec_json=spec,
                spec_hash="0x" + hashlib.sha256(spec.encode()).hexdigest(),
                block_number=pid,
                tx_hash="0x" + hashlib.sha256(str(pid).encode()).hexdigest(),
                log_index=0,
            )
            for pid in pids
        ],
        checkpoint_block=max(pids),
    )


def lines_with(table: str, needle: str) -> list[str]:
    return [line for line in table.splitlines() if needle in line]


def test_rows_render_with_expected_cells(ledger: Ledger) -> None:
    record(ledger, 1, 2, 3)
    ledger.mark_creating(1, "dao-1-1", in_flight_until=1.8e9)
    ledger.mark_created(1, "66f0c1d2e3a4b5c6d7e8f901", "order-77", at=1.8e9)
    ledger.mark_deployed(
        1, "Deployed", ["https://provider.example:31234", "https://second.example"]
    )
    ledger.mark_creating(2, "dao-1-2", in_flight_until=1.8e9)
    ledger.mark_creating(2, "dao-1-2", in_flight_until=1.8e9)
    ledger.mark_failed(2, LONG_REASON)

    table = format_ledger_table(ledger.rows(), console_width=220)

    assert "\x1b[" not in table  # no colour or cursor codes
    assert table.startswith("Deployments (3)\n") and table.endswith("┘\n")
    assert all(line == line.rstrip() for line in table.splitlines())
    header = lines_with(table, "Spheron instance id")
    assert len(header) == 1
    for title in ("proposal", "action", "state", "deployment status", "URL", "attempts", "reason"):
        assert title in header[0]

    (deployed,) = lines_with(table, "DEPLOYED")
    for cell in ("66f0c1d2e3a4b5c6d7e8f901", "Deployed", "https://provider.example:31234"):
        assert cell in deployed
    assert "second.example" not in table  # only the first URL is shown

    (failed,) = lines_with(table, "FAILED")
    cells = [cell.strip() for cell in failed.split("│")]
    assert "2" in cells  # attempts
    truncated = LONG_REASON[: REASON_MAX_CHARS - 1] + "…"
    assert truncated in cells

    (recorded,) = lines_with(table, "RECORDED")
    assert recorded.split("│")[1].strip() == "3"


def test_narrow_console_folds_ids_instead_of_cutting_them(ledger: Ledger) -> None:
    record(ledger, 5)
    ledger.mark_creating(5, "dao-1-5", in_flight_until=1.8e9)
    instance_id = "abcdef0123456789abcdef0123456789"
    ledger.mark_created(5, instance_id, "order-5", at=1.8e9)
    table = format_ledger_table(ledger.rows(), console_width=70)
    assert all(len(line) <= 70 for line in table.splitlines())
    joined = "".join(cell.strip() for line in table.splitlines() for cell in line.split("│")[4:5])
    assert instance_id in joined


def test_empty_ledger_says_so(ledger: Ledger) -> None:
    assert format_ledger_table(ledger.rows()) == EMPTY_LEDGER_MESSAGE + "\n"


def test_changes_name_their_target_and_instances_show_closes_and_drift(ledger: Ledger) -> None:
    for pid in (1, 2):
        record(ledger, pid)
        ledger.mark_creating(pid, f"dao-1-{pid}", in_flight_until=1.8e9)
        ledger.mark_created(pid, f"inst-{pid}", f"order-{pid}", at=1.8e9)
        ledger.mark_deployed(pid, "Deployed", voted_spec_json="{}")
    record(ledger, 3, spec='{"action": "close", "target": 1}')
    ledger.mark_creating(3, "dao-1-1", in_flight_until=1.8e9)
    ledger.mark_closed(3)
    ledger.record_drift(2, {"kind": "changed", "differences": ["tag: voted 1, running 2"]})
    table = format_ledger_table(ledger.rows(), console_width=220)
    cells = {
        line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:4]]
        for line in table.splitlines()
        if line.startswith("│") and line.split("│")[1].strip().isdigit()
    }
    assert cells == {
        "1": ["deploy", "DEPLOYED, closed by #3"],
        "2": ["deploy", "DEPLOYED, drift: changed"],
        "3": ["close #1", "CLOSED"],
    }
