"""WatcherRun: the command line turned into bot options (defaults differ on local chains)."""

from services.network_choice import NetworkChoice
from services.watcher_command import (
    LOCAL_POLL_INTERVAL_S,
    PUBLIC_CONFIRMATIONS,
    PUBLIC_POLL_INTERVAL_S,
    WatcherRun,
)

DAO = "0x" + "ab" * 20


def make_run(network: str, **overrides) -> WatcherRun:
    values = dict(
        choice=NetworkChoice.parse(network),
        source="etherscan",
        dao_override=None,
        from_block=None,
        confirmations=None,
        poll_interval=None,
        once=False,
        dry_run=False,
        status_port=None,
    )
    values.update(overrides)
    return WatcherRun(**values)


def test_public_network_defaults():
    options = make_run("ethereum:sepolia")._options(11155111, DAO, default_start=0)
    assert options.watch.confirmations == PUBLIC_CONFIRMATIONS == 2
    assert options.watch.poll_interval_s == PUBLIC_POLL_INTERVAL_S
    assert options.watch.start_block == 0
    assert (options.chain_id, options.dao_address) == (11155111, DAO)


def test_local_chain_defaults_start_at_the_dao_deployment_block():
    run = make_run("ethereum:local:http://127.0.0.1:8545", source="rpc")
    options = run._options(1337, DAO, default_start=42)
    assert options.watch.confirmations == 0
    assert options.watch.poll_interval_s == LOCAL_POLL_INTERVAL_S
    assert options.watch.start_block == 42


def test_explicit_choices_win():
    run = make_run(
        "ethereum:sepolia",
        from_block=7,
        confirmations=5,
        poll_interval=0.5,
        once=True,
        dry_run=True,
        status_port=9464,
    )
    options = run._options(11155111, DAO, default_start=0)
    assert options.watch.start_block == 7
    assert options.watch.confirmations == 5
    assert options.watch.poll_interval_s == 0.5
    assert options.watch.once and options.dry_run
    assert options.status_port == 9464
