"""A LOCAL STAND-IN for the Etherscan V2 API, for tests, benchmarks and the local demo.

It is not Etherscan. It answers `GET /v2/api` for `module=logs&action=getLogs` and
`module=proxy&action=eth_blockNumber` in Etherscan's JSON shapes (hex-string numbers, zero written
as the bare "0x" in some fields, the "No records found" answer, NOTOK errors with HTTP 200), checks
`apikey` and `chainid` like Etherscan, and answers a V1-style path (`/api`) with the deprecation
error. Logs come from a `LogSource`: `GeneratedLogs` (an in-memory list tests fill) or `RpcLogs`
(a real JSON-RPC node such as anvil).

Faults can be injected (see `Faults`), at construction or with `POST /standin/faults` (a JSON object
of the fields to change, plus an optional `seed` to reseed the random draws). `GET /standin/faults`
shows them; `GET /standin/stats` counts calls by action and faults by kind.

Run against a node: `python -m testbed.emulators.etherscan --port N --api-key K --chain-id C
--rpc-url URL`.

Modules: `constants` (path, limits), `messages` (Etherscan's answers), `log_sources`, `faults`,
`answers` (Etherscan's JSON shapes), `standin` (`EtherscanStandIn`), `handler` (HTTP transport)
and `cli`.
"""

from testbed.emulators.etherscan.cli import main
from testbed.emulators.etherscan.constants import API_PATH, MAX_OFFSET, MAX_RESULT_WINDOW
from testbed.emulators.etherscan.faults import Faults
from testbed.emulators.etherscan.log_sources import (
    GeneratedLogs,
    LogSource,
    LogSourceError,
    RpcLogs,
)
from testbed.emulators.etherscan.messages import (
    DAILY_LIMIT,
    DEPRECATED_V1,
    INVALID_API_KEY,
    MALFORMED_BODY,
    MISSING_CHAINID,
    QUERY_TIMEOUT,
    RATE_LIMIT,
    RESULT_WINDOW,
    TOO_MANY_INVALID_KEYS,
)
from testbed.emulators.etherscan.standin import EtherscanStandIn

__all__ = [
    "API_PATH",
    "DAILY_LIMIT",
    "DEPRECATED_V1",
    "INVALID_API_KEY",
    "MALFORMED_BODY",
    "MAX_OFFSET",
    "MAX_RESULT_WINDOW",
    "MISSING_CHAINID",
    "QUERY_TIMEOUT",
    "RATE_LIMIT",
    "RESULT_WINDOW",
    "TOO_MANY_INVALID_KEYS",
    "EtherscanStandIn",
    "Faults",
    "GeneratedLogs",
    "LogSource",
    "LogSourceError",
    "RpcLogs",
    "main",
]
