"""WatcherRun: the command line turned into bot options (defaults differ on development
networks), and the worker that lets the process stop within about two seconds."""

import threading
import time

import pytest
from ape import networks

from services.bot.command import (
    LOCAL_POLL_INTERVAL_S,
    PUBLIC_CONFIRMATIONS,
    PUBLIC_POLL_INTERVAL_S,
    PUBLIC_REREAD_BLOCKS,
    WatcherRun,
    run_until_stopped,
)

DAO = "0x" + "ab" * 20


def make_run(network: str, **overrides) -> WatcherRun:
    """A run on `ecosystem:network[:provider]`, parsed by Ape as `--network` is (no connection)."""
    ecosystem, name, *provider = network.split(":", 2)
    net = networks.get_ecosystem(ecosystem).get_network(name)
    values = dict(
        network=net,
        provider=net.get_provider(provider[0] if provider else None),
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
    options = make_run("ethereum:sepolia")._options(11155111, DAO)
    assert options.confirmations == PUBLIC_CONFIRMATIONS == 2
    assert options.poll_interval_s == PUBLIC_POLL_INTERVAL_S
    assert options.reread_blocks == PUBLIC_REREAD_BLOCKS > 0
    assert options.from_block is None  # the bot asks for the default start when it needs one
    assert (options.chain_id, options.dao_address) == (11155111, DAO)
    assert options.status_host == "127.0.0.1"


@pytest.mark.parametrize(
    "network",
    ["ethereum:local:http://127.0.0.1:8545", "ethereum:sepolia-fork", "ethereum:mainnet-fork"],
)
def test_development_networks_and_forks_read_their_own_node_without_confirmations(network):
    run = make_run(network, source="rpc")
    assert run.network.is_dev
    options = run._options(1337, DAO)
    assert options.confirmations == 0
    assert options.reread_blocks == 0
    assert options.poll_interval_s == LOCAL_POLL_INTERVAL_S


def test_explicit_choices_win():
    run = make_run(
        "ethereum:sepolia",
        from_block=7,
        confirmations=5,
        poll_interval=0.5,
        once=True,
        dry_run=True,
        status_port=9464,
        status_host="0.0.0.0",
        reread_blocks=3,
    )
    options = run._options(11155111, DAO)
    assert options.from_block == 7
    assert options.confirmations == 5
    assert options.poll_interval_s == 0.5
    assert options.reread_blocks == 3
    assert options.once and options.dry_run
    assert (options.status_port, options.status_host) == (9464, "0.0.0.0")


def test_the_worker_returns_the_work_s_code_and_raises_its_errors():
    stop = threading.Event()
    assert run_until_stopped(lambda: 3, stop) == (3, True)

    def broken() -> int:
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        run_until_stopped(broken, stop)


def test_a_stop_request_returns_within_the_grace_even_if_the_work_hangs():
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    code, finished = run_until_stopped(lambda: time.sleep(30) or 0, stop, grace_s=0.3)
    assert (code, finished) == (0, False)
    assert time.monotonic() - started < 1.5


def test_work_that_ends_on_the_stop_request_is_waited_for():
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    assert run_until_stopped(lambda: stop.wait(10) and 0, stop, grace_s=2) == (0, True)
