"""Shared fixtures: personas, deployed contracts and factories for the contract tests, and the
local stand-ins (`tests.fixtures.stand_ins`) for the tests of the bot and its clients.

Personas (session-scoped test accounts): `deployer` owns the NFT; `alice`, `bob`, `carol` become
members in the tests that need them; `outsider` never holds a token.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

# A throwaway PostgreSQL (one per session, a database per test), for the ledger's two backends.
from tests.fixtures.postgres import ledger_location, postgres_server, postgres_url  # noqa: F401

# Fixtures that start the local stand-ins (Etherscan, Spheron), for every test that needs them.
from tests.fixtures.stand_ins import (  # noqa: F401
    cleanup,
    etherscan_standin_factory,
    spheron_client,
    spheron_client_factory,
    spheron_emulator,
    spheron_emulator_factory,
    spheron_target,
    spheron_token,
)

NFT_PRICE = 10**16  # 0.01 ether, as in the tutorial system
MAX_SUPPLY = 100
VOTING_PERIOD = 3600
QUORUM_BPS = 2_000  # 20 % of the supply at the snapshot
PROPOSAL_THRESHOLD = 1
MAX_SPEC_BYTES = 8192

SMALL_SPEC = json.dumps(
    {
        "clusterName": "web",
        "type": "demand",
        "configuration": {
            "image": "nginx",
            "tag": "1.27",
            "ports": [{"containerPort": 80, "exposedPort": 80}],
            "region": "any",
            "storage": 10,
            "customSpecs": {"cpu": 1, "memory": 1},
            "replicas": 1,
        },
    },
    separators=(",", ":"),
    sort_keys=True,
)


LOCAL_CHAIN_IDS = frozenset({1337, 31337})


@pytest.fixture(scope="session", autouse=True)
def _no_explorer_lookups_for_local_chains():
    """ape-etherscan asks api.etherscan.io whether a chain id is supported whenever Ape looks for a
    contract type it does not know (e.g. while decoding a constructor revert). Local chains never
    are, and this machine has no internet, so answer that without a network call."""
    from ape_etherscan.explorer import Etherscan as EtherscanExplorer

    original = EtherscanExplorer.supports_chain.__func__

    def supports_chain(cls, chain_id: int) -> bool:
        return chain_id not in LOCAL_CHAIN_IDS and original(cls, chain_id)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(EtherscanExplorer, "supports_chain", classmethod(supports_chain))
        yield


@pytest.fixture(scope="session")
def deployer(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def alice(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def bob(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def carol(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def outsider(accounts):
    return accounts[9]


@pytest.fixture(scope="session")
def deploy_nft(project, deployer) -> Callable:
    """Deploys a SpheronDevsNFT; keyword arguments override the defaults."""

    def deploy(
        *,
        name: str = "Spheron Devs",
        symbol: str = "SPD",
        base_uri: str = "ipfs://bafy-metadata/",
        price: int = NFT_PRICE,
        max_supply: int = MAX_SUPPLY,
        owner=None,
    ):
        owner = owner or deployer
        return deployer.deploy(
            project.SpheronDevsNFT, name, symbol, base_uri, price, max_supply, owner
        )

    return deploy


@pytest.fixture(scope="session")
def nft(deploy_nft):
    return deploy_nft()


@pytest.fixture(scope="session")
def deploy_dao(project, deployer, nft) -> Callable:
    """Deploys a SpheronDevsDAO on `nft`; keyword arguments override the governance parameters."""

    def deploy(
        *,
        token=None,
        voting_period: int = VOTING_PERIOD,
        quorum_bps: int = QUORUM_BPS,
        threshold: int = PROPOSAL_THRESHOLD,
        max_spec_bytes: int = MAX_SPEC_BYTES,
    ):
        return deployer.deploy(
            project.SpheronDevsDAO,
            token or nft,
            voting_period,
            quorum_bps,
            threshold,
            max_spec_bytes,
        )

    return deploy


@pytest.fixture(scope="session")
def dao(deploy_dao):
    return deploy_dao()


@pytest.fixture(scope="session")
def mint(nft) -> Callable:
    """`mint(account, quantity)` buys `quantity` membership tokens at the contract's price."""

    def _mint(account, quantity: int = 1, token=None):
        token = token or nft
        return token.mint(quantity, sender=account, value=token.price() * quantity)

    return _mint


@pytest.fixture
def members(alice, bob, carol, mint):
    """alice holds 3 tokens, bob 2, carol 1 (supply 6, quorum at 20 % = 2 votes)."""
    mint(alice, 3)
    mint(bob, 2)
    mint(carol, 1)
    return alice, bob, carol


@pytest.fixture(scope="session")
def make_proposal(dao) -> Callable:
    """`make_proposal(proposer, spec=SMALL_SPEC)` creates a proposal and returns its id."""

    def _make(proposer, spec: str = SMALL_SPEC, on=None):
        target = on or dao
        proposal_id = target.numProposals() + 1
        target.createProposal(spec, sender=proposer)
        return proposal_id

    return _make


@pytest.fixture(scope="session")
def end_voting(chain) -> Callable:
    """Moves time past the voting deadline of every proposal created so far."""

    def _end(seconds: int = VOTING_PERIOD + 1):
        chain.pending_timestamp += seconds
        chain.mine()

    return _end
