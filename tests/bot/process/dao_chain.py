"""A real SpheronDevsNFT + SpheronDevsDAO on anvil for the bot's process tests, driven over web3
(`testbed.contracts`): the test process itself is connected to Ape's built-in chain."""

from __future__ import annotations

from dataclasses import dataclass

from testbed.anvil import Anvil
from testbed.contracts import Chain, DaoContracts, deploy_spheron, load_artifacts

VOTING_PERIOD = 30
FOR = 1


@dataclass
class DaoChain:
    """NFT and DAO deployed on `anvil`, one member with three tokens, and the proposal lifecycle."""

    chain: Chain
    contracts: DaoContracts

    @classmethod
    def deploy(cls, anvil: Anvil) -> DaoChain:
        chain = Chain(anvil.url)
        artifacts = load_artifacts(["SpheronDevsNFT", "SpheronDevsDAO"])
        owner = chain.accounts[0]
        contracts = deploy_spheron(
            chain, artifacts, owner, max_supply=100, price_wei=0, voting_period_s=VOTING_PERIOD
        )
        chain.transact(contracts.nft.functions.mint(3), sender=chain.accounts[1])
        chain.mine()  # votes count at the block before a proposal: the mint must be older
        return cls(chain, contracts)

    @property
    def dao(self):
        return self.contracts.dao

    @property
    def member(self) -> str:
        return self.chain.accounts[1]

    def propose_and_pass(self, spec_json: str) -> int:
        """Create a proposal, vote for it, and end its voting period; returns its id."""
        proposal_id = self.dao.functions.numProposals().call() + 1
        self.chain.transact(self.dao.functions.createProposal(spec_json), sender=self.member)
        self.chain.transact(self.dao.functions.voteOnProposal(proposal_id, FOR), sender=self.member)
        self.chain.advance(VOTING_PERIOD + 1)
        return proposal_id

    def execute(self, proposal_id: int, spec_json: str) -> dict:
        """Execute; returns the receipt (the DeployEvent is in its block)."""
        call = self.dao.functions.executeProposal(proposal_id, spec_json)
        return self.chain.transact(call, sender=self.member)
