"""NetworkChoice: parsing --network values without connecting."""

import pytest

from services.network_choice import NetworkChoice


@pytest.mark.parametrize(
    "text, ecosystem, network, provider",
    [
        ("ethereum:sepolia", "ethereum", "sepolia", None),
        ("ethereum:sepolia:infura", "ethereum", "sepolia", "infura"),
        ("ethereum:local:http://127.0.0.1:8545", "ethereum", "local", "http://127.0.0.1:8545"),
    ],
)
def test_parse(text, ecosystem, network, provider):
    choice = NetworkChoice.parse(text)
    assert (choice.ecosystem, choice.network, choice.provider) == (ecosystem, network, provider)
    assert choice.text == text


@pytest.mark.parametrize("text", ["sepolia", ":sepolia", "ethereum:", ""])
def test_parse_rejects_incomplete_choices(text):
    with pytest.raises(ValueError, match="ECOSYSTEM:NETWORK"):
        NetworkChoice.parse(text)


def test_local_networks_are_recognised():
    assert NetworkChoice.parse("ethereum:local:http://x:1").is_local
    assert not NetworkChoice.parse("ethereum:sepolia").is_local


def test_public_chain_ids_are_known_without_connecting():
    assert NetworkChoice.parse("ethereum:sepolia").chain_id() == 11155111
    assert NetworkChoice.parse("ethereum:mainnet").chain_id() == 1
