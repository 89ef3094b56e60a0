"""Where the DAO's contracts are, and reading them through Ape.

Address resolution (:func:`resolve_address`) needs no provider connection and no Ape import, so
the deploy bot can use it as well as the scripts. The order, first found wins:

1. an explicit override (the scripts' ``--dao`` / ``--nft`` options);
2. the environment: ``DAO_CONTRACT_ADDRESS`` / ``NFT_CONTRACT_ADDRESS`` (the scripts load ``.env``
   into the environment first);
3. ``deployments:`` in the project's ``ape-config.yaml`` for the ecosystem and network (the last
   entry of that ``contract_type`` wins, as in Ape);
4. Ape's deployment cache (``<ape data folder>/<ecosystem>/deployments_map.json``), which
   ``account.deploy`` fills on live networks (the last deployment wins).

The rest (:func:`dao_at`, :func:`nft_at`, :func:`read_proposal`, :func:`proposal_created`) works
on a connected Ape provider and uses the project's compiled contract types, so Ape never asks a
block explorer what the contracts are.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from eth_utils import is_checksum_address, is_hex_address, keccak, to_checksum_address

from services.common.errors import ConfigurationError

if TYPE_CHECKING:
    from ape.contracts import ContractInstance

ContractName = Literal["SpheronDevsDAO", "SpheronDevsNFT"]

ENV_VARS: dict[str, str] = {
    "SpheronDevsDAO": "DAO_CONTRACT_ADDRESS",
    "SpheronDevsNFT": "NFT_CONTRACT_ADDRESS",
}
"""The environment variable holding each contract's address."""

OPTIONS: dict[str, str] = {"SpheronDevsDAO": "--dao", "SpheronDevsNFT": "--nft"}
"""The scripts' option overriding each contract's address."""

CONFIG_FILES = ("ape-config.yaml", "ape-config.yml", "ape-config.json")

PROPOSAL_STATES = ("Active", "Defeated", "Succeeded", "Executed")
"""``SpheronDevsDAO.ProposalState`` names by value."""

_ZERO_ADDRESS = "0x" + "0" * 40


class AddressError(ConfigurationError, ValueError):
    """A contract address is missing, malformed or has no contract behind it."""


class MissingAddressError(AddressError):
    """No address was found for a contract; the message says how to give one."""


class InvalidAddressError(AddressError):
    """An address was given but is not a valid (checksummed or single-case) address."""


class NoContractError(AddressError):
    """The address holds no contract code on the connected network."""


class ProposalNotFoundError(LookupError):
    """No proposal has this id."""


class ProposalSpecError(LookupError):
    """The JSON of a proposal could not be found in its ``ProposalCreated`` event."""


@dataclass(frozen=True)
class ResolvedAddress:
    """A contract address and where it came from (for messages such as ``from --dao``)."""

    address: str
    source: str


# ---------------------------------------------------------------------------------------------
# Address resolution (no provider, no Ape)
# ---------------------------------------------------------------------------------------------


def checksum(address: str, source: str) -> str:
    """The checksummed form of ``address``; :class:`InvalidAddressError` naming ``source`` if it is
    not a 20-byte hex address, has a wrong mixed-case checksum, or is the zero address."""
    text = address.strip()
    if not is_hex_address(text):
        raise InvalidAddressError(f"{source}: {text!r} is not an address (0x and 40 hex digits)")
    body = text[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(text):
        raise InvalidAddressError(
            f"{source}: {text} has a wrong checksum (mixed case must match EIP-55; "
            "check for a typo, or give it in lower case)"
        )
    if text.lower() == _ZERO_ADDRESS:
        raise InvalidAddressError(f"{source}: the zero address is not a contract")
    return to_checksum_address(text)


def locate_address(
    contract_name: ContractName,
    *,
    ecosystem: str,
    network: str,
    override: str | None,
    environ: Mapping[str, str] | None = None,
    project_root: Path | None = None,
    data_folder: Path | None = None,
) -> ResolvedAddress:
    """Like :func:`resolve_address`, also telling where the address came from.

    ``environ`` defaults to ``os.environ``, ``project_root`` to the current directory and
    ``data_folder`` to Ape's (``$APE_DATA_FOLDER`` or ``~/.ape``).
    """
    if contract_name not in ENV_VARS:
        raise ValueError(f"unknown contract {contract_name!r}")
    environ = os.environ if environ is None else environ
    option, variable = OPTIONS[contract_name], ENV_VARS[contract_name]
    if override:
        return ResolvedAddress(checksum(override, option), option)
    if value := environ.get(variable, "").strip():
        return ResolvedAddress(checksum(value, variable), variable)
    root = Path.cwd() if project_root is None else project_root
    config_file, configured = _config_deployment(root, contract_name, ecosystem, network)
    if configured:
        source = f"{config_file} deployments ({ecosystem}:{network})"
        return ResolvedAddress(checksum(configured, source), source)
    folder = _ape_data_folder(environ) if data_folder is None else data_folder
    if cached := _cached_deployment(folder, contract_name, ecosystem, network):
        source = f"Ape's deployment cache ({ecosystem}:{network})"
        return ResolvedAddress(checksum(cached, source), source)
    raise MissingAddressError(
        f"no {contract_name} address for {ecosystem}:{network}: pass {option} ADDRESS, set "
        f"{variable}=ADDRESS in the environment or .env, or add it to ape-config.yaml under "
        f"deployments: {ecosystem}: {network}: as - contract_type: {contract_name} / "
        "address: ADDRESS (`ape run deploy` prints these lines)"
    )


def resolve_address(
    contract_name: ContractName,
    *,
    ecosystem: str,
    network: str,
    override: str | None,
    environ: Mapping[str, str] | None = None,
    project_root: Path | None = None,
    data_folder: Path | None = None,
) -> str:
    """The checksummed address of ``contract_name`` on ``ecosystem:network`` (order in the
    module docstring). Raises :class:`MissingAddressError` or :class:`InvalidAddressError`."""
    return locate_address(
        contract_name,
        ecosystem=ecosystem,
        network=network,
        override=override,
        environ=environ,
        project_root=project_root,
        data_folder=data_folder,
    ).address


def _ape_data_folder(environ: Mapping[str, str]) -> Path:
    if folder := environ.get("APE_DATA_FOLDER"):
        return Path(folder)
    return Path.home() / ".ape"


def _config_deployment(
    root: Path, contract_name: str, ecosystem: str, network: str
) -> tuple[str, str | None]:
    """(config file name, last configured address or None), reading the file as Ape does:
    environment variables expanded, then YAML or JSON."""
    for name in CONFIG_FILES:
        path = root / name
        if not path.is_file():
            continue
        text = os.path.expandvars(path.read_text(encoding="utf-8"))
        try:
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise AddressError(f"{name} cannot be read: {exc}") from None
        entries = _get_path(data, "deployments", ecosystem, network)
        address = None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("contract_type") == contract_name:
                address = _address_text(entry.get("address")) or address
        return name, address
    return CONFIG_FILES[0], None


def _address_text(value: Any) -> str | None:
    """A configured address as text. YAML reads an unquoted ``0x...`` as a hexadecimal integer;
    such a number is turned back into 40 hex digits."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return "0x" + format(value, "040x") if 0 <= value < 2**160 else str(value)
    return str(value) or None


def _cached_deployment(
    data_folder: Path, contract_name: str, ecosystem: str, network: str
) -> str | None:
    path = data_folder / ecosystem / "deployments_map.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    network_key = network.removesuffix("-fork")
    entries = _get_path(data, "ecosystems", ecosystem, network_key, contract_name)
    if isinstance(entries, list) and entries and isinstance(entries[-1], dict):
        return str(entries[-1].get("address", "")) or None
    return None


def _get_path(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


# ---------------------------------------------------------------------------------------------
# Contract instances (connected provider)
# ---------------------------------------------------------------------------------------------


def _instance(contract_name: ContractName, address: str) -> ContractInstance:
    from ape import chain, project

    address = checksum(address, contract_name)
    if not chain.provider.get_code(address):
        network = chain.provider.network_choice
        raise NoContractError(
            f"no contract at {address} on {network}: is the {contract_name} address meant for "
            f"another network? (set it with {OPTIONS[contract_name]} or {ENV_VARS[contract_name]})"
        )
    container = getattr(project, contract_name)
    # The project's type is given, so Ape never asks an explorer (offline that raises), and
    # these contracts are no proxies.
    return container.at(address, fetch_from_explorer=False, detect_proxy=False)


def dao_at(address: str) -> ContractInstance:
    """The ``SpheronDevsDAO`` at ``address``, typed by the project; its token is registered too so
    that reverts coming from the token decode. Raises :class:`NoContractError` if no code."""
    dao = _instance("SpheronDevsDAO", address)
    nft_at(dao.token())
    return dao


def nft_at(address: str) -> ContractInstance:
    """The ``SpheronDevsNFT`` at ``address``, typed by the project."""
    return _instance("SpheronDevsNFT", address)


# ---------------------------------------------------------------------------------------------
# Proposals
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalInfo:
    """``getProposal`` and ``state`` of one proposal, as plain Python values."""

    proposal_id: int
    state: str
    spec_hash: str
    snapshot: int
    deadline: int
    quorum: int
    for_votes: int
    against_votes: int
    abstain_votes: int
    executed: bool
    passed: bool

    @property
    def quorum_reached(self) -> bool:
        """For and Abstain votes count toward quorum."""
        return self.for_votes + self.abstain_votes >= self.quorum


def require_proposal(dao: ContractInstance, proposal_id: int) -> int:
    """Check that ``proposal_id`` exists (ids run 1..numProposals) and return numProposals.

    Checked before reading, because a view call that reverts is not decoded on every node.
    """
    count = int(dao.numProposals())
    if not 1 <= proposal_id <= count:
        if count == 0:
            raise ProposalNotFoundError(
                f"proposal {proposal_id} not found (the DAO has no proposals yet)"
            )
        ids = "id 1" if count == 1 else f"ids 1 to {count}"
        noun = "proposal" if count == 1 else "proposals"
        raise ProposalNotFoundError(
            f"proposal {proposal_id} not found (the DAO has {count} {noun}, {ids})"
        )
    return count


def read_proposal(dao: ContractInstance, proposal_id: int) -> ProposalInfo:
    """The proposal's stored data and current state (call :func:`require_proposal` first)."""
    view = dao.getProposal(proposal_id)
    return ProposalInfo(
        proposal_id=proposal_id,
        state=PROPOSAL_STATES[int(dao.state(proposal_id))],
        spec_hash="0x" + bytes(view.specHash).hex(),
        snapshot=int(view.snapshot),
        deadline=int(view.deadline),
        quorum=int(view.quorum),
        for_votes=int(view.forVotes),
        against_votes=int(view.againstVotes),
        abstain_votes=int(view.abstainVotes),
        executed=bool(view.executed),
        passed=bool(view.passed),
    )


@dataclass(frozen=True)
class ProposalCreation:
    """What the ``ProposalCreated`` event of a proposal says."""

    proposal_id: int
    proposer: str
    spec_json: str
    block_number: int
    transaction_hash: str


def proposal_created(
    dao: ContractInstance, proposal_id: int, info: ProposalInfo | None = None
) -> ProposalCreation:
    """The ``ProposalCreated`` event of ``proposal_id`` whose JSON hashes to the stored spec hash.

    The proposal was created in the block after its snapshot (the snapshot is ``block.number - 1``
    at creation), so that single block is queried first; the DAO's whole life (from its
    ``deploymentBlock()``) only if that finds nothing.
    """
    info = info or read_proposal(dao, proposal_id)
    expected = bytes.fromhex(info.spec_hash[2:])
    creation_block = info.snapshot + 1
    found = _matching_creation(dao, proposal_id, expected, creation_block, creation_block + 1)
    if found is None:
        from ape import chain

        head = int(chain.blocks.head.number)
        found = _matching_creation(dao, proposal_id, expected, int(dao.deploymentBlock()), head + 1)
    if found is not None:
        return found
    raise ProposalSpecError(
        f"no ProposalCreated event of proposal {proposal_id} carries JSON with the stored spec "
        f"hash {info.spec_hash} (is the node missing old logs?)"
    )


def _matching_creation(
    dao: ContractInstance, proposal_id: int, expected: bytes, start: int, stop: int
) -> ProposalCreation | None:
    """The first ``ProposalCreated`` of ``proposal_id`` in blocks [start, stop) whose JSON hashes
    to ``expected``."""
    for log in dao.ProposalCreated.range(start, stop, search_topics={"proposalId": proposal_id}):
        text = str(log.spheronInstanceJson)
        if keccak(text.encode("utf-8")) == expected:
            return ProposalCreation(
                proposal_id=proposal_id,
                proposer=str(log.proposer),
                spec_json=text,
                block_number=int(log.block_number),
                transaction_hash=str(log.transaction_hash),
            )
    return None
