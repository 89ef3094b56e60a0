"""The web app's ``config.json``: which chain, which contracts, which RPC and bot URLs.

The browser reads the chain through ``rpc_url`` and the bot's status through ``bot_url``; they are
also the only places the page may connect to (see :func:`content_security_policy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.chain.contracts import checksum
from services.common.cors import origin_of

#: How often the page looks for a new block: quick on a local chain, about a block on a public one.
LOCAL_POLL_INTERVAL_MS = 1000
PUBLIC_POLL_INTERVAL_MS = 4000


class AppConfigError(ValueError):
    """A setting of the app's config is invalid; the message names it."""


def http_origin(url: str, name: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL; AppConfigError naming ``name`` otherwise."""
    try:
        return origin_of(url)
    except ValueError as error:
        raise AppConfigError(f"{name}: {error}") from None


@dataclass(frozen=True)
class AppConfig:
    """Everything the page needs to know about the network it serves."""

    chain_id: int
    chain_name: str
    rpc_url: str
    dao_address: str
    nft_address: str
    deployment_block: int
    bot_url: str | None = None
    explorer_url: str | None = None
    poll_interval_ms: int = PUBLIC_POLL_INTERVAL_MS

    def __post_init__(self) -> None:
        if self.chain_id <= 0:
            raise AppConfigError(f"chain id must be positive, got {self.chain_id}")
        if self.deployment_block < 0:
            raise AppConfigError(f"deployment block must be >= 0, got {self.deployment_block}")
        if self.poll_interval_ms < 100:
            raise AppConfigError(f"poll interval must be >= 100 ms, got {self.poll_interval_ms}")
        http_origin(self.rpc_url, "RPC URL")
        for name, url in (("bot URL", self.bot_url), ("explorer URL", self.explorer_url)):
            if url is not None:
                http_origin(url, name)
        object.__setattr__(self, "dao_address", checksum(self.dao_address, "DAO address"))
        object.__setattr__(self, "nft_address", checksum(self.nft_address, "NFT address"))

    def to_json(self) -> dict[str, Any]:
        """The ``config.json`` the page reads (webapp/src/config.ts)."""
        return {
            "chainId": self.chain_id,
            "chainName": self.chain_name,
            "rpcUrl": self.rpc_url,
            "daoAddress": self.dao_address,
            "nftAddress": self.nft_address,
            "deploymentBlock": self.deployment_block,
            "botUrl": self.bot_url,
            "explorerUrl": self.explorer_url,
            "pollIntervalMs": self.poll_interval_ms,
        }

    def connect_origins(self) -> list[str]:
        """Where the page may send requests besides its own origin: the RPC and the bot."""
        origins = [http_origin(self.rpc_url, "RPC URL")]
        if self.bot_url is not None:
            origins.append(http_origin(self.bot_url, "bot URL"))
        return list(dict.fromkeys(origins))


def content_security_policy(config: AppConfig) -> str:
    """The page's Content-Security-Policy: scripts and styles only from the page's own files (no
    inline script, no eval), images only from itself or data: URIs (wallet icons), and requests
    only to itself, the configured RPC and the bot. No framing, no forms, no plugins."""
    connect = " ".join(["'self'", *config.connect_origins()])
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {connect}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
