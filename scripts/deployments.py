"""`ape run deployments`: the deploy bot's ledger as a table (or JSON).

    ape run deployments --network ethereum:sepolia
    ape run deployments --db ~/.spheron-dao-deploy/ledger-11155111-0x....sqlite3 --state FAILED
    ape run deployments --db postgresql://deploybot@db.example:5432/deploybot

Reads the ledger (SQLite or PostgreSQL) read-only, so it is safe while the bot runs.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click
from ape.cli import network_option

from services.bot.ledger import DeploymentState, LedgerLocation

if TYPE_CHECKING:
    from ape.api import NetworkAPI, ProviderAPI

    from services.bot.settings import BotSettings


@click.command(short_help="Show the deploy bot's ledger")
@network_option(default="ethereum:local")
@click.option(
    "--dao", "dao_override", help="DAO address (else DAO_CONTRACT_ADDRESS or ape-config)."
)
@click.option(
    "--db",
    "db_location",
    help="Ledger: a SQLite file or a postgresql:// URL (else DEPLOYBOT_DB, else the bot's default "
    "for network and DAO).",
)
@click.option(
    "--state",
    type=click.Choice([state.value for state in DeploymentState], case_sensitive=False),
    help="Only this state.",
)
@click.option("--limit", type=click.IntRange(min=1), help="Only the newest N rows.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def cli(
    network: NetworkAPI,
    provider: ProviderAPI,
    dao_override: str | None,
    db_location: str | None,
    state: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """Show every DeployEvent the bot has seen and what became of it."""
    from services.bot.ledger import Ledger
    from services.bot.ledger_table import format_ledger_table
    from services.bot.settings import load_settings
    from services.cli.failures import report_failures
    from services.common.env import load_env

    load_env()
    with report_failures():
        if db_location:
            location = LedgerLocation.parse(db_location)
        else:
            location = _default_location(network, provider, dao_override, load_settings())
        with Ledger.open_readonly(location) as ledger:
            rows = ledger.rows(limit=limit, state=DeploymentState(state.upper()) if state else None)
    if as_json:
        click.echo(json.dumps([row.to_dict() for row in rows], indent=2))
    else:
        click.echo(f"ledger {location}")
        click.echo(format_ledger_table(rows))


def _default_location(
    network: NetworkAPI, provider: ProviderAPI, dao_override: str | None, settings: BotSettings
) -> LedgerLocation:
    from services.bot.assembly import ledger_location
    from services.bot.command import ledger_chain_id
    from services.chain.contracts import resolve_address

    if settings.deploybot_db:
        return LedgerLocation.parse(settings.deploybot_db)
    dao = resolve_address(
        "SpheronDevsDAO",
        ecosystem=network.ecosystem.name,
        network=network.name,
        override=dao_override or settings.dao_contract_address,
    )
    location = ledger_location(settings, ledger_chain_id(network, provider), dao)
    if not location.exists():
        raise FileNotFoundError(
            f"no ledger at {location}: has the bot run for this network and DAO?"
        )
    return location
