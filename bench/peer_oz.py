"""Gas of SpheronDevsDAO beside OpenZeppelin Governor (`gas.peer_oz.*`), on one chain and one NFT.

The peer is `contracts/peers/PeerGovernor.sol`: `Governor` with `GovernorSettings`,
`GovernorCountingSimple`, `GovernorVotes` and `GovernorVotesQuorumFraction`, no timelock, on the
same SpheronDevsNFT (an ERC721Votes token) with the same quorum (20 %) and proposal threshold (1).
Its proposals call `PeerDeployExecutor`. A Governor can carry the spec in two ways, both measured:

- `governor_calldata`: the JSON is the argument of `deploy(json)` in the proposal's calldata, with a
  short fixed description; execution passes the calldata again and the executor emits the JSON, as
  SpheronDevsDAO's DeployEvent does (the executor's event has no proposal id or sender, which the
  Governor cannot pass to it: that saves it two topics and the "Deploy" string).
- `governor_description`: the JSON is the proposal's description only; the action is
  `deploySpecHash(keccak256(json))`, so execution emits only the hash and a bot must read the JSON
  from `ProposalCreated`.

Scenario, the same for the three systems (`spheron`, `governor_calldata`, `governor_description`):

1. ten accounts are members: `one` holds 1 token, `many` holds `many_nfts`, the eight others 1 each;
2. `member` makes four proposals A, B, C, D, each with its own spec of `spec_bytes` bytes;
3. every vote is For. On A, `one` votes first (`vote_first_1nft`), then `many`
   (`vote_later_50nft`); on B, `many` first (`vote_first_50nft`), then `one` (`vote_later_1nft`);
   on C only `many`; on D all ten accounts;
4. after the voting period (time for SpheronDevsDAO, blocks for the Governor), `member` executes
   C (`execute_1kb`) and D.

`propose_1kb` is C's proposal. `lifecycle_1vote` is C's propose + vote + execute, and
`lifecycle_10votes` is D's propose + ten votes + execute. A Governor's first vote on a proposal
fills the empty tally slot of its side; later votes on that side update it, hence the two vote
figures. `gas.peer_oz.ratio.<variant>.<op>` is SpheronDevsDAO's figure divided by the variant's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from eth_utils import keccak
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from bench.contracts import (
    GOVERNOR_VOTING_PERIOD_BLOCKS,
    NFT_PRICE_WEI,
    VOTING_PERIOD_S,
    GovernorContracts,
    deploy_peer_governor,
    deploy_spheron,
)
from bench.specs import spec_json
from testbed.contracts import Artifact, Chain, ChainError

PEER_CONTRACTS = ("PeerGovernor", "PeerDeployExecutor")

#: The systems measured, and the Governor variants among them.
SYSTEMS = ("spheron", "governor_calldata", "governor_description")
VARIANTS = SYSTEMS[1:]

#: Operation names: `gas.peer_oz.<system>.<op>` and `gas.peer_oz.ratio.<variant>.<op>`.
OPERATIONS = (
    "propose_1kb",
    "vote_first_1nft",
    "vote_first_50nft",
    "vote_later_1nft",
    "vote_later_50nft",
    "execute_1kb",
    "lifecycle_1vote",
    "lifecycle_10votes",
)

PREFIX = "gas.peer_oz."
ACCOUNTS_NEEDED = 10

#: The description of a `governor_calldata` proposal: the spec is in the calldata.
CALLDATA_DESCRIPTION = "Deploy the Spheron instance spec given in this proposal's calldata"

_FOR = 1  # For in both SpheronDevsDAO.VoteType and GovernorCountingSimple.VoteType
_PROPOSALS = "abcd"


Proposal = TypeVar("Proposal")


class _System(Protocol[Proposal]):
    """One governance system, driven through the same steps; `Proposal` is its proposal handle."""

    def propose(self, spec: str) -> tuple[Proposal, int]:
        """Create a proposal to deploy `spec`; (the proposal's handle, gas)."""
        ...

    def vote(self, proposal: Proposal, voter: str) -> int:
        """Vote For on `proposal` from `voter`; gas."""
        ...

    def execute(self, proposal: Proposal) -> int:
        """Execute `proposal`, which passed, and check that it announced the deployment; gas."""
        ...


@dataclass(frozen=True)
class _SpheronProposal:
    proposal_id: int
    spec: str


class _Spheron:
    def __init__(self, chain: Chain, dao: Contract, member: str) -> None:
        self._chain, self._dao, self._member = chain, dao, member

    def propose(self, spec: str) -> tuple[_SpheronProposal, int]:
        proposal = _SpheronProposal(self._dao.functions.numProposals().call() + 1, spec)
        return proposal, self._chain.gas(
            self._dao.functions.createProposal(spec), sender=self._member
        )

    def vote(self, proposal: _SpheronProposal, voter: str) -> int:
        return self._chain.gas(
            self._dao.functions.voteOnProposal(proposal.proposal_id, _FOR), sender=voter
        )

    def execute(self, proposal: _SpheronProposal) -> int:
        receipt = self._chain.transact(
            self._dao.functions.executeProposal(proposal.proposal_id, proposal.spec),
            sender=self._member,
        )
        _require_one(self._dao, "DeployEvent", receipt)
        return int(receipt["gasUsed"])


@dataclass(frozen=True)
class _GovernorProposal:
    proposal_id: int
    targets: list[str]
    values: list[int]
    calldatas: list[bytes]
    description_hash: bytes


class _Governor:
    def __init__(
        self,
        chain: Chain,
        contracts: GovernorContracts,
        member: str,
        carry: Literal["calldata", "description"],
    ) -> None:
        self._chain, self._contracts, self._member, self._carry = chain, contracts, member, carry

    def propose(self, spec: str) -> tuple[_GovernorProposal, int]:
        governor, executor = self._contracts.governor, self._contracts.executor
        if self._carry == "calldata":
            call, description = executor.encode_abi("deploy", [spec]), CALLDATA_DESCRIPTION
        else:
            call, description = executor.encode_abi("deploySpecHash", [keccak(text=spec)]), spec
        targets, values, calldatas = [executor.address], [0], [bytes.fromhex(call[2:])]
        description_hash = keccak(text=description)
        gas = self._chain.gas(
            governor.functions.propose(targets, values, calldatas, description),
            sender=self._member,
        )
        proposal_id = governor.functions.hashProposal(
            targets, values, calldatas, description_hash
        ).call()
        return _GovernorProposal(proposal_id, targets, values, calldatas, description_hash), gas

    def vote(self, proposal: _GovernorProposal, voter: str) -> int:
        return self._chain.gas(
            self._contracts.governor.functions.castVote(proposal.proposal_id, _FOR), sender=voter
        )

    def execute(self, proposal: _GovernorProposal) -> int:
        receipt = self._chain.transact(
            self._contracts.governor.functions.execute(
                proposal.targets, proposal.values, proposal.calldatas, proposal.description_hash
            ),
            sender=self._member,
        )
        event = "DeployEvent" if self._carry == "calldata" else "DeploySpecHash"
        _require_one(self._contracts.executor, event, receipt)
        return int(receipt["gasUsed"])


@dataclass(frozen=True)
class _Members:
    one: str
    many: str
    member: str
    everyone: list[str]


def measure_peer_oz(
    chain: Chain, artifacts: dict[str, Artifact], *, spec_bytes: int, many_nfts: int
) -> dict[str, int | float]:
    """`gas.peer_oz.<system>.<op>` for every system and operation, and the ratios.

    `artifacts` must hold SpheronDevsNFT, SpheronDevsDAO and `PEER_CONTRACTS`. `many_nfts` must be
    at least 3, so that `many` alone reaches quorum in `lifecycle_1vote`.
    """
    if many_nfts < 3:
        raise ValueError(f"many_nfts must be at least 3 (one vote must reach quorum): {many_nfts}")
    if len(chain.accounts) < ACCOUNTS_NEEDED:
        raise ChainError(
            f"the node has {len(chain.accounts)} unlocked accounts; {ACCOUNTS_NEEDED} are needed"
        )
    everyone = chain.accounts[:ACCOUNTS_NEEDED]
    owner, one, many, member = everyone[:4]
    members = _Members(one, many, member, everyone)
    contracts = deploy_spheron(chain, artifacts, owner, max_supply=many_nfts + len(everyone) - 1)
    token = contracts.nft.address
    systems: dict[str, _System[Any]] = {
        "spheron": _Spheron(chain, contracts.dao, member),
        "governor_calldata": _Governor(
            chain, deploy_peer_governor(chain, artifacts, token, owner), member, "calldata"
        ),
        "governor_description": _Governor(
            chain, deploy_peer_governor(chain, artifacts, token, owner), member, "description"
        ),
    }
    for account in everyone:
        quantity = many_nfts if account == many else 1
        chain.transact(
            contracts.nft.functions.mint(quantity), sender=account, value=NFT_PRICE_WEI * quantity
        )
    chain.mine()
    specs = [spec_json(spec_bytes, cluster=f"peer-{name}") for name in _PROPOSALS]
    return _flatten(
        {name: _scenario(chain, system, specs, members) for name, system in systems.items()}
    )


def _scenario(
    chain: Chain, system: _System[Any], specs: list[str], members: _Members
) -> dict[str, int]:
    """The module's scenario on one system; its figure for every operation."""
    (a, _), (b, _), (c, propose_c), (d, propose_d) = (system.propose(spec) for spec in specs)
    figures = {
        "propose_1kb": propose_c,
        "vote_first_1nft": system.vote(a, members.one),
        "vote_later_50nft": system.vote(a, members.many),
        "vote_first_50nft": system.vote(b, members.many),
        "vote_later_1nft": system.vote(b, members.one),
    }
    vote_c = system.vote(c, members.many)
    votes_d = sum(system.vote(d, voter) for voter in members.everyone)
    chain.advance(VOTING_PERIOD_S + 1)
    chain.mine(GOVERNOR_VOTING_PERIOD_BLOCKS + 1)
    figures["execute_1kb"] = system.execute(c)
    figures["lifecycle_1vote"] = propose_c + vote_c + figures["execute_1kb"]
    figures["lifecycle_10votes"] = propose_d + votes_d + system.execute(d)
    return figures


def _flatten(figures: dict[str, dict[str, int]]) -> dict[str, int | float]:
    flat: dict[str, int | float] = {
        f"{PREFIX}{name}.{op}": figures[name][op] for name in SYSTEMS for op in OPERATIONS
    }
    for variant in VARIANTS:
        for op in OPERATIONS:
            ratio = figures["spheron"][op] / figures[variant][op]
            flat[f"{PREFIX}ratio.{variant}.{op}"] = round(ratio, 4)
    return flat


def _require_one(contract: Contract, event: str, receipt: TxReceipt) -> None:
    """The measured execution must be one that deploys, or the figure means something else."""
    found = contract.events[event]().process_receipt(receipt, errors=DISCARD)
    if len(found) != 1:
        raise ChainError(f"the execution emitted {len(found)} {event} events, expected 1")
