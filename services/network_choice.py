"""Parsing `--network ECOSYSTEM:NETWORK[:PROVIDER]` without connecting to anything.

The bot must run on public networks with no RPC connection (Etherscan only), so it cannot let Ape
connect just to learn which network it is on.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NetworkChoice:
    """`ecosystem:network[:provider]`; the provider part may be a URI with colons of its own."""

    text: str
    ecosystem: str
    network: str
    provider: str | None

    @classmethod
    def parse(cls, text: str) -> NetworkChoice:
        parts = text.split(":", 2)
        if len(parts) < 2 or not all(parts[:2]):
            raise ValueError(f"{text!r} is not ECOSYSTEM:NETWORK[:PROVIDER]")
        return cls(text, parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    @property
    def is_local(self) -> bool:
        """A development network: `local`, any fork (`sepolia-fork`, `mainnet-fork`, ...) or any
        other network Ape marks as one. Its logs are read from its own node, never from a public
        explorer, which would serve another chain's logs."""
        from ape import networks
        from ape.exceptions import NetworkError

        if self.network == "local" or self.network.endswith("-fork"):
            return True
        try:
            return bool(networks.get_ecosystem(self.ecosystem).get_network(self.network).is_dev)
        except NetworkError:  # an unknown network: Ape says so when it connects
            return False

    def chain_id(self) -> int:
        """The chain id Ape knows for a public network, without connecting."""
        from ape import networks

        return networks.get_ecosystem(self.ecosystem).get_network(self.network).chain_id
