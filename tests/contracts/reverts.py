"""`reverts_with`: assert that a call reverts with one custom error, by name and every argument.

`ape.reverts(Error, **inputs)` can pass without checking anything: when Ape leaves a revert
undecoded (Ape's test provider does for some view calls, e.g. OpenZeppelin's
`ERC721NonexistentToken` from `tokenURI`) it compares nothing; with an error taken from a contract
container it does not compare the name; and it skips every expected input it does not find.
`reverts_with` decodes the revert data itself, with the contract's compiled error ABIs, whenever
Ape did not, and requires the exact error and all of its arguments.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ape.exceptions import ContractLogicError, CustomError

from services.chain.revert_decoding import decode_revert_data, raw_revert_data


@dataclass(frozen=True)
class Revert:
    """An error as a call reverted with it: its name and its arguments by name."""

    name: str
    arguments: Mapping[str, Any]

    def __str__(self) -> str:
        listed = ", ".join(f"{name}={value!r}" for name, value in self.arguments.items())
        return f"{self.name}({listed})"


@contextmanager
def reverts_with(contract: Any, error: str, **arguments: Any) -> Iterator[None]:
    """Require the block to revert with `contract`'s custom error `error` and exactly `arguments`.

    `contract` is a contract instance or container (`project.X`), whose ABI defines `error`.
    Every argument of the error must be given (TypeError otherwise), so a revert test always
    states the full context the contract reports.
    """
    abi = _error_abi(contract, error)
    names = [item.name for item in abi.inputs]
    if sorted(arguments) != sorted(names):
        raise TypeError(f"{abi.signature} has arguments {names}; got {sorted(arguments)}")
    expected = Revert(error, {name: arguments[name] for name in names})
    try:
        yield
    except ContractLogicError as revert:
        actual = decoded(revert, contract)
    else:
        raise AssertionError(f"expected a revert with {expected}, but the call did not revert")
    if actual != expected:
        raise AssertionError(f"expected a revert with {expected}, got {actual}")


def decoded(revert: ContractLogicError, contract: Any) -> Revert:
    """The error of `revert`: Ape's decoding when it made one, otherwise the raw revert data
    decoded with `contract`'s error ABIs (and `Error(string)`, `Panic(uint256)`). AssertionError
    if there is no data or it matches none of them."""
    if isinstance(revert, CustomError):
        return Revert(revert.abi.name, dict(revert.inputs))
    data = raw_revert_data(revert)
    if not data:
        raise AssertionError(f"the call reverted without revert data ({revert.message!r})")
    abis = [abi.model_dump(mode="json") for abi in contract.contract_type.errors]
    found = decode_revert_data(data, abis)
    if found is None:
        raise AssertionError(f"no error of the contract matches the revert data 0x{data.hex()}")
    return Revert(found.name, found.args_by_name)


def _error_abi(contract: Any, error: str) -> Any:
    matches = [abi for abi in contract.contract_type.errors if abi.name == error]
    if len(matches) != 1:
        raise LookupError(f"{contract.contract_type.name} has {len(matches)} errors named {error}")
    return matches[0]
