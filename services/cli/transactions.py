"""Sending a transaction safely: simulated first (so a revert costs no gas and is explained), then
sent; and the chain's notion of now."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from services.chain.revert_decoding import decode_revert_data
from services.cli.errors import CliError

if TYPE_CHECKING:
    from ape.api import AccountAPI, ReceiptAPI
    from ape.contracts import ContractInstance


def latest_block_time() -> int:
    """Timestamp of the latest block: a time the chain has certainly reached."""
    from ape import chain

    return int(chain.blocks.head.timestamp)


def simulate(
    contract: ContractInstance, method: str, *args: Any, sender: str, value: int = 0
) -> None:
    """Run the transaction as an ``eth_call`` against the pending block and raise
    :class:`DecodedRevert` (or :class:`CliError`) if it would revert, so nothing is sent.

    Ape itself sends a failing transaction on local networks (their gas limit is "max", so it
    does not estimate), and does not decode custom errors from calls on every node; the pending
    block also carries the time the next block will have, even on an idle local chain.
    """
    from ape import chain
    from web3.exceptions import ContractLogicError as Web3ContractLogicError
    from web3.exceptions import Web3RPCError

    call = {
        "from": sender,
        "to": contract.address,
        "data": "0x" + bytes(getattr(contract, method).encode_input(*args)).hex(),
        "value": value,
    }
    web3 = chain.provider.web3
    for block in ("pending", "latest"):
        try:
            web3.eth.call(call, block)  # type: ignore[arg-type]
            return
        except Web3ContractLogicError as exc:
            data = exc.data if isinstance(exc.data, str) else None
            abis = [abi.model_dump(mode="json") for abi in contract.contract_type.errors]
            if data and (decoded := decode_revert_data(data, abis)) is not None:
                raise decoded from None
            reason = exc.message or "no reason given"
            raise CliError(f"the transaction would revert: {reason}") from None
        except Web3RPCError:
            if block == "latest":
                raise  # not a revert: the node refused the call itself


def transact(
    contract: ContractInstance, method: str, *args: Any, sender: AccountAPI, value: int = 0
) -> ReceiptAPI:
    """Simulate (see :func:`simulate`), then send ``contract.method(*args)`` from ``sender``."""
    simulate(contract, method, *args, sender=sender.address, value=value)
    kwargs: dict[str, Any] = {"sender": sender}
    if value:
        kwargs["value"] = value
    return getattr(contract, method)(*args, **kwargs)


def chain_now() -> int:
    """Best estimate of the time the next block will have: the later of the latest block's
    timestamp and the wall clock (a local chain may have moved ahead in time; on a public chain
    the latest block is a few seconds old, and an idle local chain may be minutes old)."""
    return max(latest_block_time(), int(time.time()))
