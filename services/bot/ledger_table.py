"""Plain-text table of ledger rows for the ``status`` command (rendered with ``rich``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from io import StringIO

from rich.console import Console
from rich.table import Table

from services.bot.ledger import DeploymentRow

EMPTY_LEDGER_MESSAGE = "No deployments recorded in the ledger yet."
REASON_MAX_CHARS = 60
_MISSING = "-"


def format_ledger_table(rows: Iterable[DeploymentRow], *, console_width: int | None = None) -> str:
    """Render ``rows`` as a table without colour or other escape codes.

    ``console_width`` defaults to the terminal width (120 columns when not attached to one).
    Ids and URLs fold onto extra lines rather than being cut; reasons are truncated to
    ``REASON_MAX_CHARS`` characters.
    """
    rows = list(rows)
    if not rows:
        return EMPTY_LEDGER_MESSAGE + "\n"
    table = Table(title=f"Deployments ({len(rows)})", title_justify="left")
    table.add_column("proposal", justify="right", overflow="fold")
    table.add_column("action", no_wrap=True)
    table.add_column("state", overflow="fold")
    table.add_column("Spheron instance id", overflow="fold")
    table.add_column("deployment status", no_wrap=True)
    table.add_column("URL", overflow="fold")
    table.add_column("attempts", justify="right", no_wrap=True)
    table.add_column("reason", overflow="fold")
    for row in rows:
        table.add_row(
            str(row.proposal_id),
            row.kind if row.target_id is None else f"{row.kind} #{row.target_id}",
            _state(row),
            row.instance_id or _MISSING,
            row.deployment_status or _MISSING,
            row.urls[0] if row.urls else _MISSING,
            str(row.attempts),
            _truncate(row.reason) if row.reason else _MISSING,
        )
    width = console_width or shutil.get_terminal_size(fallback=(120, 24)).columns
    buffer = StringIO()
    console = Console(
        file=buffer,
        width=width,
        color_system=None,
        force_terminal=False,
        no_color=True,
        highlight=False,
        emoji=False,
        markup=False,
    )
    console.print(table)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def _state(row: DeploymentRow) -> str:
    """The row's state, and for an instance what happened to it since: closed, or drifted."""
    text = row.state.value
    if row.closed_by is not None:
        text += f", closed by #{row.closed_by}"
    elif row.drift is not None:
        text += f", drift: {row.drift.get('kind')}"
    return text


def _truncate(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= REASON_MAX_CHARS:
        return text
    return text[: REASON_MAX_CHARS - 1] + "…"
