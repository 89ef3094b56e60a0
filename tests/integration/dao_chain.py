"""A real SpheronDevsNFT + SpheronDevsDAO on anvil, driven with web3 from the compiled artifacts.

The test process is connected to Ape's built-in chain, so the anvil chain that the bot process
watches is driven directly over JSON-RPC (anvil's default accounts are unlocked).
"""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from services.localchain import Anvil

VOTING_PERIOD = 30
FOR = 1


def _artifact(name: str) -> tuple[list[dict], str]:
    from ape import project

    contract_type = getattr(project, name).contract_type
    abi = [item.model_dump(mode="json", by_alias=True) for item in contract_type.abi]
    return abi, contract_type.deployment_bytecode.bytecode


@dataclass
class DaoChain:
    """NFT and DAO deployed on `anvil`, with helpers for the proposal lifecycle."""

    anvil: Anvil
    web3: Web3
    nft: object
    dao: object

    @classmethod
    def deploy(cls, anvil: Anvil) -> DaoChain:
        web3 = Web3(Web3.HTTPProvider(anvil.url))
        owner = web3.eth.accounts[0]
        nft = cls._deploy(web3, "SpheronDevsNFT", "Devs", "DEV", "ipfs://m/", 0, 100, owner)
        member = web3.eth.accounts[1]
        cls._transact(nft.functions.mint(3), member)
        dao = cls._deploy(web3, "SpheronDevsDAO", nft.address, VOTING_PERIOD, 2_000, 1, 8192)
        return cls(anvil, web3, nft, dao)

    @property
    def member(self) -> str:
        return self.web3.eth.accounts[1]

    def propose_and_pass(self, spec_json: str) -> int:
        """Create a proposal, vote for it, and end its voting period; returns its id."""
        proposal_id = self.dao.functions.numProposals().call() + 1
        self._transact(self.dao.functions.createProposal(spec_json), self.member)
        self._transact(self.dao.functions.voteOnProposal(proposal_id, FOR), self.member)
        self.anvil.advance(VOTING_PERIOD + 1)
        return proposal_id

    def execute(self, proposal_id: int, spec_json: str) -> dict:
        """Execute; returns the receipt (the DeployEvent is in its block)."""
        return self._transact(
            self.dao.functions.executeProposal(proposal_id, spec_json), self.member
        )

    @staticmethod
    def _deploy(web3: Web3, name: str, *args):
        abi, bytecode = _artifact(name)
        factory = web3.eth.contract(abi=abi, bytecode=bytecode)
        receipt = DaoChain._transact(factory.constructor(*args), web3.eth.accounts[0])
        return web3.eth.contract(address=receipt["contractAddress"], abi=abi)

    @staticmethod
    def _transact(call, sender: str) -> dict:
        web3 = call.w3
        tx_hash = call.transact({"from": sender})
        receipt = web3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        assert receipt["status"] == 1, f"transaction reverted: {receipt}"
        return receipt
