"""The Ape side of `ape run watcher`: which network, which DAO, whether to connect to a node.

The bot itself (`services.bot`) is plain Python; this module turns the command line into its
options. On public networks with the Etherscan source nothing connects to a node: the chain id is
the network's. Otherwise the bot runs inside the Ape provider's context.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from services.bot import BotOptions, etherscan_source, rpc_source, run_bot
from services.network_choice import NetworkChoice
from services.settings import BotSettings
from services.watcher import WatchOptions

#: Ape's default for live networks; reorgs on Ethereum are almost always one block deep.
PUBLIC_CONFIRMATIONS = 2
#: Seconds between polls when not given: Etherscan's free tier allows 3 calls/s.
PUBLIC_POLL_INTERVAL_S = 5.0
LOCAL_POLL_INTERVAL_S = 1.0


@dataclass(frozen=True)
class WatcherRun:
    """The command line's choices. `execute` resolves the DAO and the chain, connects to a node
    only when the log source needs one, and runs the bot."""

    choice: NetworkChoice
    source: str
    dao_override: str | None
    from_block: int | None
    confirmations: int | None
    poll_interval: float | None
    once: bool
    dry_run: bool
    status_port: int | None
    cors_origins: tuple[str, ...] = ()

    def execute(self, settings: BotSettings, stop: threading.Event) -> int:
        from ape import networks, project

        from services.dao_contracts import resolve_address

        choice = self.choice
        dao = resolve_address(
            "SpheronDevsDAO",
            ecosystem=choice.ecosystem,
            network=choice.network,
            override=self.dao_override,
        )
        if self.source == "etherscan" and not choice.is_local:
            # No RPC connection at all: the chain id is the network's, and Etherscan's address
            # index makes a scan from block 0 cheap when there is no checkpoint yet.
            chain_id = choice.chain_id()
            return run_bot(
                settings,
                lambda metrics: etherscan_source(settings, chain_id, dao, metrics),
                self._options(chain_id, dao, default_start=0),
                stop=stop,
            )

        with networks.parse_network_choice(choice.text) as provider:
            chain_id = provider.chain_id
            options = self._options(
                chain_id, dao, default_start=project.SpheronDevsDAO.at(dao).deploymentBlock()
            )
            if self.source == "rpc":
                return run_bot(
                    settings, lambda _: rpc_source(provider.make_request, dao), options, stop=stop
                )
            return run_bot(
                settings,
                lambda metrics: etherscan_source(settings, chain_id, dao, metrics),
                options,
                stop=stop,
            )

    def _options(self, chain_id: int, dao: str, *, default_start: int) -> BotOptions:
        local = self.choice.is_local
        confirmations = self.confirmations
        if confirmations is None:
            confirmations = 0 if local else PUBLIC_CONFIRMATIONS
        return BotOptions(
            chain_id=chain_id,
            dao_address=dao,
            watch=WatchOptions(
                confirmations=confirmations,
                poll_interval_s=self.poll_interval
                or (LOCAL_POLL_INTERVAL_S if local else PUBLIC_POLL_INTERVAL_S),
                start_block=default_start if self.from_block is None else self.from_block,
                once=self.once,
            ),
            dry_run=self.dry_run,
            status_port=self.status_port,
            cors_origins=self.cors_origins,
        )
