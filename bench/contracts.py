"""The benchmarks' contracts and parameters: the project's DAO as the benchmarks configure it, the
OpenZeppelin Governor peer and the tutorial baseline. The chain driver (deployments, transactions,
gas, time travel) is `testbed.contracts`, shared with the tests and the demo."""

from __future__ import annotations

from dataclasses import dataclass

from web3.contract import Contract

from testbed.contracts import Artifact, Chain, DaoContracts
from testbed.contracts import deploy_spheron as deploy_dao

#: Tutorial price of one membership NFT, also used for SpheronDevsNFT.
NFT_PRICE_WEI = 10**16

#: Governance parameters of the SpheronDevsDAO under test.
VOTING_PERIOD_S = 3_600
QUORUM_BPS = 2_000
PROPOSAL_THRESHOLD = 1
MAX_SPEC_BYTES = 8_192

#: The tutorial's voting window (5 minutes).
BASELINE_VOTING_PERIOD_S = 300

#: The OpenZeppelin Governor peer counts in blocks (the NFT's clock): votes open in the block after
#: the proposal and last about as long as `VOTING_PERIOD_S` with 12-second blocks; quorum and
#: proposal threshold are those of the SpheronDevsDAO under test.
GOVERNOR_VOTING_DELAY_BLOCKS = 0
GOVERNOR_VOTING_PERIOD_BLOCKS = VOTING_PERIOD_S // 12
GOVERNOR_QUORUM_PERCENT = QUORUM_BPS // 100


def deploy_spheron(
    chain: Chain,
    artifacts: dict[str, Artifact],
    owner: str,
    *,
    max_supply: int,
    voting_period_s: int = VOTING_PERIOD_S,
    quorum_bps: int = QUORUM_BPS,
    base_uri: str = "ipfs://bench/",
) -> DaoContracts:
    """SpheronDevsNFT and a SpheronDevsDAO on it, with the benchmark's governance parameters
    unless given."""
    return deploy_dao(
        chain,
        artifacts,
        owner,
        max_supply=max_supply,
        price_wei=NFT_PRICE_WEI,
        voting_period_s=voting_period_s,
        quorum_bps=quorum_bps,
        proposal_threshold=PROPOSAL_THRESHOLD,
        max_spec_bytes=MAX_SPEC_BYTES,
        base_uri=base_uri,
    )


@dataclass(frozen=True)
class GovernorContracts:
    """An OpenZeppelin Governor and the executor its proposals call."""

    governor: Contract
    executor: Contract


def deploy_peer_governor(
    chain: Chain, artifacts: dict[str, Artifact], token: str, owner: str
) -> GovernorContracts:
    """PeerGovernor on the votes token at `token` (the module's Governor settings) and the
    PeerDeployExecutor that only it may call."""
    governor = chain.deploy(
        artifacts["PeerGovernor"],
        token,
        GOVERNOR_VOTING_DELAY_BLOCKS,
        GOVERNOR_VOTING_PERIOD_BLOCKS,
        PROPOSAL_THRESHOLD,
        GOVERNOR_QUORUM_PERCENT,
        sender=owner,
    )
    executor = chain.deploy(artifacts["PeerDeployExecutor"], governor.address, sender=owner)
    return GovernorContracts(governor, executor)


def deploy_baseline(
    chain: Chain, artifacts: dict[str, Artifact], owner: str, *, max_supply: int
) -> DaoContracts:
    """The tutorial-style TutorialNFT and TutorialDAO."""
    nft = chain.deploy(artifacts["TutorialNFT"], "ipfs://bench", max_supply, sender=owner)
    dao = chain.deploy(artifacts["TutorialDAO"], nft.address, sender=owner)
    return DaoContracts(nft, dao)
