"""The stand-in's command line: `python -m testbed.emulators.etherscan --rpc-url URL ...`."""

from __future__ import annotations

import argparse
import os
import signal
import threading
from urllib.parse import urlsplit

from testbed.emulators.etherscan.faults import Faults
from testbed.emulators.etherscan.log_sources import RpcLogs
from testbed.emulators.etherscan.standin import EtherscanStandIn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m testbed.emulators.etherscan",
        description="Local stand-in of the Etherscan V2 API over a JSON-RPC node (not Etherscan).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--api-key",
        default=os.environ.get("ETHERSCAN_API_KEY", "standin-key"),
        help="the key clients must send (default: $ETHERSCAN_API_KEY or 'standin-key')",
    )
    parser.add_argument("--chain-id", type=int, default=31337)
    parser.add_argument("--rpc-url", default="http://127.0.0.1:8545")
    parser.add_argument(
        "--max-calls-per-sec", type=float, default=3.0, help="server-side limit; 0 turns it off"
    )
    parser.add_argument("--indexing-lag", type=int, default=0, help="blocks the head trails by")
    parser.add_argument(
        "--log-index-lag", type=int, default=0, help="blocks getLogs trails the reported head by"
    )
    parser.add_argument(
        "--ignore-paging", action="store_true", help="answer page 1 to every getLogs call"
    )
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)

    faults = Faults(
        max_calls_per_sec=args.max_calls_per_sec or None,
        indexing_lag_blocks=args.indexing_lag,
        log_index_lag_blocks=args.log_index_lag,
        ignore_paging=args.ignore_paging,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    rpc = urlsplit(args.rpc_url)
    with EtherscanStandIn(
        args.host,
        args.port,
        api_key=args.api_key,
        chain_id=args.chain_id,
        log_source=RpcLogs(args.rpc_url),
        faults=faults,
        seed=args.seed,
    ) as standin:
        print(
            f"Local stand-in of the Etherscan V2 API (not Etherscan) at {standin.url}, "
            f"chain id {args.chain_id}, logs from {rpc.scheme}://{rpc.netloc}",
            flush=True,
        )
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0
