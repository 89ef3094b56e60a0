"""`ape run deployments`: the deploy bot's ledger as a table (or JSON).

    ape run deployments --network ethereum:sepolia
    ape run deployments --db ~/.spheron-dao-deploy/ledger-11155111-0x....sqlite3 --state FAILED

Reads the ledger read-only, so it is safe while the bot runs.
"""

from __future__ import annotations

import json
import sys

import click

from services.network_choice import NetworkChoice

STATES = ("RECORDED", "REJECTED", "PLANNED", "CREATING", "CREATED", "DEPLOYED", "FAILED")


@click.command(short_help="Show the deploy bot's ledger")
@click.option(
    "--network",
    "choice",
    default="ethereum:local",
    show_default=True,
    help="ECOSYSTEM:NETWORK[:PROVIDER] the bot watches (to find its ledger).",
)
@click.option(
    "--dao", "dao_override", help="DAO address (else DAO_CONTRACT_ADDRESS or ape-config)."
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    help="Ledger file (else DEPLOYBOT_DB, else the bot's default for network and DAO).",
)
@click.option("--state", type=click.Choice(STATES, case_sensitive=False), help="Only this state.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the newest N rows.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def cli(choice, dao_override, db_path, state, limit, as_json):
    """Show every DeployEvent the bot has seen and what became of it."""
    from dotenv import load_dotenv

    load_dotenv(override=False)

    from services import exit_codes
    from services.dao_contracts import AddressError
    from services.ledger import DeploymentState, Ledger, LedgerError
    from services.ledger_table import format_ledger_table
    from services.settings import SettingsError, load_settings

    try:
        path = db_path or _default_path(NetworkChoice.parse(choice), dao_override, load_settings())
        with Ledger.open_readonly(path) as ledger:
            rows = ledger.rows(limit=limit, state=DeploymentState(state.upper()) if state else None)
    except (SettingsError, AddressError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(exit_codes.CONFIG)
    except (ValueError, LedgerError, OSError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(exit_codes.FAILED)
    if as_json:
        click.echo(json.dumps([row.to_dict() for row in rows], indent=2))
    else:
        click.echo(f"ledger {path}")
        click.echo(format_ledger_table(rows))


def _default_path(choice: NetworkChoice, dao_override: str | None, settings) -> str:
    from ape import networks

    from services.bot import ledger_path
    from services.dao_contracts import resolve_address

    if settings.deploybot_db:
        return str(settings.deploybot_db)
    dao = resolve_address(
        "SpheronDevsDAO",
        ecosystem=choice.ecosystem,
        network=choice.network,
        override=dao_override or settings.dao_contract_address,
    )
    if choice.is_local:
        with networks.parse_network_choice(choice.text) as provider:
            chain_id = provider.chain_id
    else:
        chain_id = choice.chain_id()
    path = ledger_path(settings, chain_id, dao)
    if not path.exists():
        raise ValueError(f"no ledger at {path}: has the bot run for this network and DAO?")
    return str(path)
