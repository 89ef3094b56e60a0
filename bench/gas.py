"""Gas of the DAO's operations, on SpheronDevsDAO and on the tutorial baseline, on one node.

Both systems run the same scenario, so their figures compare like for like:

1. three accounts become members: `one` mints 1 token, `many` mints `many_nfts`, then `member`
   mints 1 — that last mint (a new holder, the contract already in use) is `mint_1`;
2. `member` creates three proposals with the same spec; the third is measured (`create_proposal`),
   so no figure carries the one-off cost of the first write of the proposal counter;
3. `one` votes For on the first proposal (`vote_1nft`), `many` on the second (`vote_50nft`) and on
   the third; each measured vote is the first vote on its proposal;
4. after the voting period, `member` executes the third proposal, which passed, so the
   measured execution (`execute`) emits the DeployEvent.

SpheronDevsNFT mints `many_nfts` in one `mint(quantity)` call; the tutorial NFT mints one per
call, so its holder makes `many_nfts` calls (not measured).

The same run then compares SpheronDevsDAO with OpenZeppelin Governor on one NFT
(`gas.peer_oz.*`, see `bench.peer_oz`).
"""

from __future__ import annotations

from collections.abc import Callable

from web3.logs import DISCARD
from web3.types import TxReceipt

from bench.contracts import (
    BASELINE_VOTING_PERIOD_S,
    NFT_PRICE_WEI,
    VOTING_PERIOD_S,
    deploy_baseline,
    deploy_spheron,
)
from bench.peer_oz import PEER_CONTRACTS, measure_peer_oz
from bench.specs import spec_json
from testbed.contracts import Artifact, Chain, ChainError, DaoContracts, load_artifacts

SPHERON_CONTRACTS = ("SpheronDevsNFT", "SpheronDevsDAO")
BASELINE_CONTRACTS = ("TutorialNFT", "TutorialDAO")

#: Operation names; results are `gas.<op>` (SpheronDevsDAO) and `gas.baseline.<op>`.
OPERATIONS = ("create_proposal_1kb", "vote_1nft", "vote_50nft", "execute_1kb", "mint_1")

_PROPOSALS = 3
_FOR = 1  # SpheronDevsDAO.VoteType.For
_YAY = 0  # TutorialDAO.Vote.YAY

Scenario = Callable[[Chain, dict[str, Artifact], str, int], dict[str, int]]


def measure_gas(
    rpc_url: str, *, many_nfts: int = 50, spec_bytes: int = 1024
) -> dict[str, int | float]:
    """`gas.<op>` and `gas.baseline.<op>` for every operation in `OPERATIONS`, then the
    `gas.peer_oz.*` figures and ratios of `bench.peer_oz`.

    The key names state the default sizes (`many_nfts=50`, `spec_bytes=1024`); other sizes are
    for quick checks only. The node must have unlocked, funded accounts (anvil).
    """
    chain = Chain(rpc_url)
    if len(chain.accounts) < 4:
        raise ChainError(f"the node has {len(chain.accounts)} unlocked accounts; 4 are needed")
    artifacts = load_artifacts([*SPHERON_CONTRACTS, *BASELINE_CONTRACTS, *PEER_CONTRACTS])
    spec = spec_json(spec_bytes)
    figures: dict[str, int | float] = {}
    scenarios: tuple[tuple[str, Scenario], ...] = (
        ("gas.", _spheron_scenario),
        ("gas.baseline.", _baseline_scenario),
    )
    for prefix, scenario in scenarios:
        for operation, gas in scenario(chain, artifacts, spec, many_nfts).items():
            figures[prefix + operation] = gas
    figures.update(measure_peer_oz(chain, artifacts, spec_bytes=spec_bytes, many_nfts=many_nfts))
    return figures


def _spheron_scenario(
    chain: Chain, artifacts: dict[str, Artifact], spec: str, many_nfts: int
) -> dict[str, int]:
    owner, one, many, member = chain.accounts[:4]
    contracts = deploy_spheron(chain, artifacts, owner, max_supply=many_nfts + 2)
    nft, dao = contracts.nft, contracts.dao

    def mint(account: str, quantity: int) -> int:
        return chain.gas(
            nft.functions.mint(quantity), sender=account, value=NFT_PRICE_WEI * quantity
        )

    mint(one, 1)
    mint(many, many_nfts)
    figures = {"mint_1": mint(member, 1)}
    chain.mine()
    first_id = dao.functions.numProposals().call() + 1
    for _ in range(_PROPOSALS):
        figures["create_proposal_1kb"] = chain.gas(
            dao.functions.createProposal(spec), sender=member
        )
    vote_one, vote_many, executed = range(first_id, first_id + _PROPOSALS)
    figures["vote_1nft"] = chain.gas(dao.functions.voteOnProposal(vote_one, _FOR), sender=one)
    figures["vote_50nft"] = chain.gas(dao.functions.voteOnProposal(vote_many, _FOR), sender=many)
    chain.transact(dao.functions.voteOnProposal(executed, _FOR), sender=many)
    chain.advance(VOTING_PERIOD_S + 1)
    receipt = chain.transact(dao.functions.executeProposal(executed, spec), sender=member)
    _require_deploy_event(contracts, receipt, "SpheronDevsDAO")
    figures["execute_1kb"] = int(receipt["gasUsed"])
    return figures


def _baseline_scenario(
    chain: Chain, artifacts: dict[str, Artifact], spec: str, many_nfts: int
) -> dict[str, int]:
    owner, one, many, member = chain.accounts[:4]
    contracts = deploy_baseline(chain, artifacts, owner, max_supply=many_nfts + 2)
    nft, dao = contracts.nft, contracts.dao

    def mint(account: str) -> int:
        return chain.gas(nft.functions.mint(), sender=account, value=NFT_PRICE_WEI)

    mint(one)
    for _ in range(many_nfts):
        mint(many)
    figures = {"mint_1": mint(member)}
    chain.mine()
    first_index = dao.functions.numProposals().call()
    for _ in range(_PROPOSALS):
        figures["create_proposal_1kb"] = chain.gas(
            dao.functions.createProposal(spec), sender=member
        )
    vote_one, vote_many, executed = range(first_index, first_index + _PROPOSALS)
    figures["vote_1nft"] = chain.gas(dao.functions.voteOnProposal(vote_one, _YAY), sender=one)
    figures["vote_50nft"] = chain.gas(dao.functions.voteOnProposal(vote_many, _YAY), sender=many)
    chain.transact(dao.functions.voteOnProposal(executed, _YAY), sender=many)
    chain.advance(BASELINE_VOTING_PERIOD_S + 1)
    receipt = chain.transact(dao.functions.executeProposal(executed), sender=member)
    _require_deploy_event(contracts, receipt, "TutorialDAO")
    figures["execute_1kb"] = int(receipt["gasUsed"])
    return figures


def _require_deploy_event(contracts: DaoContracts, receipt: TxReceipt, name: str) -> None:
    """The measured execution must be one that deploys, or the figure means something else."""
    events = contracts.dao.events.DeployEvent().process_receipt(receipt, errors=DISCARD)
    if len(events) != 1:
        raise ChainError(f"{name}.executeProposal emitted {len(events)} DeployEvents, expected 1")
