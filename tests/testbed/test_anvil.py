"""testbed.anvil.Anvil: a real anvil process on a free port, snapshots, stop; and time travel on it
through testbed.contracts.Chain."""

from __future__ import annotations

import pytest
import requests

from testbed.anvil import Anvil, AnvilError
from testbed.contracts import Chain


def test_anvil_lifecycle_and_rpc_helpers():
    node = Anvil(chain_id=4242)
    with node:
        assert node.running
        assert node.url == f"http://127.0.0.1:{node.port}"
        assert node.network_choice == f"ethereum:local:{node.url}"
        assert int(node.rpc("eth_chainId"), 16) == 4242

        chain = Chain(node.url)
        start = node.head()
        assert chain.mine(3) == start + 3
        before = node.head_timestamp()
        chain.advance(3_600)
        assert node.head_timestamp() >= before + 3_600
        assert node.head() == start + 4

        snapshot = node.snapshot()
        chain.mine()
        assert node.revert(snapshot)
        assert node.head() == start + 4

        address = "0x000000000000000000000000000000000000dEaD"
        node.set_balance(address, 12345)
        assert node.balance(address) == 12345
        assert node.nonce(address) == 0

        with pytest.raises(AnvilError, match="no_such_method failed"):
            node.rpc("no_such_method")
        url = node.url
    assert not node.running
    with pytest.raises(requests.ConnectionError):
        requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=2)
    node.stop()  # a second stop is harmless


def test_two_nodes_get_different_ports():
    with Anvil() as first, Anvil() as second:
        assert first.port != second.port
        assert first.head() == second.head() == 0


def test_a_node_that_cannot_start_reports_its_output():
    with pytest.raises(AnvilError, match="anvil exited with code"):
        Anvil(extra_args=["--no-such-flag"], startup_timeout=10).start()
