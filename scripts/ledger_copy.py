"""`ape run ledger_copy SOURCE TARGET`: copy the deploy bot's ledger into an empty database.

    ape run ledger_copy ~/.spheron-dao-deploy/ledger-11155111-0x....sqlite3 \\
        postgresql://deploybot@db.example:5432/deploybot

Moves a single bot's SQLite ledger to the PostgreSQL database that replicas share: the binding,
the checkpoint, every row and its history, in one transaction. Nothing is deployed or redeployed:
the replicas resume exactly where the bot stopped. Stop the bot first (the copy takes the ledger's
lock); a target that already holds rows or a checkpoint is refused. A password is better given in
PGPASSWORD than in the URL; either way it is never printed.
"""

from __future__ import annotations

import click


@click.command(short_help="Copy the deploy bot's ledger into an empty database")
@click.argument("source")
@click.argument("target")
def cli(source: str, target: str) -> None:
    """Copy the ledger at SOURCE (a SQLite file or a postgresql:// URL) into TARGET."""
    from services.bot.ledger import LedgerError, LedgerLocation
    from services.bot.ledger_copy import copy_ledger
    from services.cli.errors import CliError
    from services.cli.failures import report_failures
    from services.common.env import load_env
    from services.common.errors import ConfigurationError

    load_env()
    with report_failures():
        origin, destination = LedgerLocation.parse(source), LedgerLocation.parse(target)
        try:
            summary = copy_ledger(origin, destination)
        except ConfigurationError:
            raise
        except (LedgerError, FileNotFoundError, ValueError) as error:
            raise CliError(str(error)) from None
    click.echo(
        f"copied {summary.rows} rows, {summary.history_lines} history lines and checkpoint "
        f"{summary.checkpoint} of chain {summary.chain_id} DAO {summary.dao_address} "
        f"from {origin} to {destination}; nothing was deployed"
    )
