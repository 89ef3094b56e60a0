"""Building `DeployEvent` logs exactly as the contract emits them, for the stand-ins and tests."""

from __future__ import annotations

from eth_abi import encode

from services.chain.events import checksum_address, deploy_event_topic0


def encode_deploy_event(
    proposal_id: int, sender: str, msg: str, spec_json: str
) -> tuple[tuple[str, ...], str]:
    """Build the (topics, data) a `DeployEvent(proposal_id, sender, msg, spec_json)` emits.

    Used by the local stand-ins and tests to produce logs identical to the contract's.
    """
    if not 0 <= proposal_id < 2**256:
        raise ValueError(f"proposal id {proposal_id} does not fit in uint256")
    sender_bytes = bytes.fromhex(checksum_address(sender)[2:])
    topics = (
        deploy_event_topic0(),
        "0x" + proposal_id.to_bytes(32, "big").hex(),
        "0x" + sender_bytes.rjust(32, b"\x00").hex(),
    )
    data = "0x" + encode(["string", "string"], [msg, spec_json]).hex()
    return topics, data
