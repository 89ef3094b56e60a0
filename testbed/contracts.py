"""The project's contracts on a local JSON-RPC node, driven over web3 from the compiled artifacts:
deployments, transactions, gas and time travel, for the tests, the benchmarks and the demo.

Transactions are sent from anvil's unlocked default accounts (`eth_sendTransaction`), so nothing is
signed here and each call costs one round trip. Gas figures are the receipts' `gasUsed`, which
includes the 21,000 intrinsic gas and the calldata cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt


class ChainError(RuntimeError):
    """A transaction failed (reverted or not mined), or the node refused a call."""


@dataclass(frozen=True)
class Artifact:
    """A compiled contract: its ABI and deployment bytecode."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def load_artifacts(names: Sequence[str]) -> dict[str, Artifact]:
    """The project's compiled contracts by name (Ape compiles them first if sources changed)."""
    from ape import project

    artifacts = {}
    for name in names:
        contract_type = getattr(project, name).contract_type
        bytecode = contract_type.deployment_bytecode
        if bytecode is None or not bytecode.bytecode:
            raise ChainError(f"{name} has no deployment bytecode; run `ape compile`")
        abi = contract_type.model_dump(mode="json", by_alias=True)["abi"]
        artifacts[name] = Artifact(name, abi, bytecode.bytecode)
    return artifacts


class Chain:
    """A JSON-RPC node with unlocked accounts (anvil), driven through web3."""

    def __init__(self, rpc_url: str, *, timeout_s: float = 60.0) -> None:
        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s}))
        self._timeout_s = timeout_s
        self.accounts: list[str] = list(self.w3.eth.accounts)

    @property
    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def deploy(self, artifact: Artifact, *args: Any, sender: str) -> Contract:
        """Deploy `artifact` with constructor `args` from `sender`."""
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = self._mined(factory.constructor(*args).transact({"from": sender}), artifact.name)
        address = receipt["contractAddress"]
        if address is None:
            raise ChainError(f"deploying {artifact.name} created no contract")
        return self.w3.eth.contract(address=address, abi=artifact.abi)

    def transact(self, call: ContractFunction, *, sender: str, value: int = 0) -> TxReceipt:
        """Send `call` from `sender` and wait for its receipt; ChainError if it reverted."""
        try:
            tx_hash = call.transact({"from": sender, "value": value})
        except Exception as error:  # web3 raises several types for a revert found by estimateGas
            raise ChainError(f"{call.fn_name} from {sender} failed: {error}") from error
        return self._mined(tx_hash, call.fn_name)

    def gas(self, call: ContractFunction, *, sender: str, value: int = 0) -> int:
        """`gasUsed` of `call` sent from `sender`."""
        return int(self.transact(call, sender=sender, value=value)["gasUsed"])

    def increase_time(self, seconds: int) -> None:
        """Move the time of the next block forward by `seconds` (nothing is mined yet)."""
        self._rpc("evm_increaseTime", [int(seconds)])

    def advance(self, seconds: int) -> None:
        """Move chain time forward by `seconds` and mine a block (time travel)."""
        self.increase_time(seconds)
        self.mine()

    def mine(self, blocks: int = 1) -> int:
        """Mine `blocks` empty blocks in one call (anvil); returns the new head number.

        SpheronDevsDAO reads votes at the block before a proposal, so a mint must be a block
        older than the proposal; a Governor's voting period ends after a number of blocks."""
        self._rpc("anvil_mine", [hex(int(blocks))])
        return int(self.w3.eth.block_number)

    def _rpc(self, method: str, params: list[Any]) -> Any:
        answer = self.w3.provider.make_request(method, params)
        if "error" in answer:
            raise ChainError(f"{method} failed: {answer['error']}")
        return answer.get("result")

    def _mined(self, tx_hash: bytes, what: str) -> TxReceipt:
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self._timeout_s)
        if receipt["status"] != 1:
            raise ChainError(f"{what} reverted (tx {tx_hash.hex()})")
        return receipt


@dataclass(frozen=True)
class DaoContracts:
    """An NFT and the DAO that counts its votes."""

    nft: Contract
    dao: Contract


def deploy_spheron(
    chain: Chain,
    artifacts: dict[str, Artifact],
    owner: str,
    *,
    max_supply: int,
    price_wei: int = 10**16,
    voting_period_s: int = 3_600,
    quorum_bps: int = 2_000,
    proposal_threshold: int = 1,
    max_spec_bytes: int = 8_192,
    base_uri: str = "ipfs://testbed/",
) -> DaoContracts:
    """SpheronDevsNFT (owned by `owner`) and a SpheronDevsDAO counting its votes."""
    nft = chain.deploy(
        artifacts["SpheronDevsNFT"],
        "Spheron Devs",
        "SPD",
        base_uri,
        price_wei,
        max_supply,
        owner,
        sender=owner,
    )
    dao = chain.deploy(
        artifacts["SpheronDevsDAO"],
        nft.address,
        voting_period_s,
        quorum_bps,
        proposal_threshold,
        max_spec_bytes,
        sender=owner,
    )
    return DaoContracts(nft, dao)
