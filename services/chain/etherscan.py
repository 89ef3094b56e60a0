"""A small client for the Etherscan V2 API: the head block and event logs, nothing else.

ape-etherscan has no getLogs, so the deploy bot reads its logs through this client. Etherscan
reports most errors with HTTP 200 and `{"status": "0", "message": "NOTOK", "result": <cause>}`;
the client classifies them into the exceptions below:

- `EtherscanRateLimited`: any cause containing "rate limit". Retried with exponential back-off and
  jitter, up to `max_retries` times.
- `EtherscanDailyLimitReached` (a rate limit): "Max daily rate limit reached". Not retried here:
  the quota comes back hours later (assumed at 00:00 UTC), and sleeping that long inside a call
  would block the caller's shutdown and health reporting. It carries `retry_after_s`, the seconds
  to the next 00:00 UTC; the caller should stop calling for that long rather than spin.
- `EtherscanQueryTimeout`: "Query Timeout occured ...". Not retried: the same query would time out
  again; the caller splits the block range (`iter_deploy_logs` does).
- `EtherscanFatalError`: the request can never succeed as configured (invalid or locked-out API key,
  deprecated V1 endpoint, unsupported chain id, invalid parameters, HTTP 4xx). Not retried.
- `EtherscanTransientError`: HTTP 5xx, network timeouts, connection errors, malformed bodies and any
  NOTOK cause not recognised above. Retried with back-off, then raised.

The API key is never part of an exception message or the client's repr: every text taken from a
request, a URL or the server is scrubbed of it first.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from services.chain.events import LogBatch, RawLog, checksum_address, within
from services.common.pause import pause

#: Values passed to `on_call`, one per HTTP attempt, so a caller can count calls and errors by kind.
CALL_KINDS = (
    "ok",
    "no_records",
    "rate_limited",
    "daily_limit",
    "query_timeout",
    "fatal",
    "transient",
)

#: Etherscan's most records per getLogs call (free tier); it silently caps larger offsets.
MAX_PAGE_SIZE = 1000
#: Etherscan serves at most this many records of one query (page * offset).
MAX_RESULT_WINDOW = 10_000

_MASK = "***"
_APIKEY_IN_URL = re.compile(r"(apikey=)[^&\s'\"]*", re.IGNORECASE)


class EtherscanError(Exception):
    """Base of every error this client raises; `kind` is what `on_call` reports for it."""

    kind = "transient"


class EtherscanRateLimited(EtherscanError):
    """Etherscan answered that a rate limit was reached."""

    kind = "rate_limited"

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class EtherscanDailyLimitReached(EtherscanRateLimited):
    """The daily call quota is used up; `retry_after_s` is the time to the next 00:00 UTC."""

    kind = "daily_limit"


class EtherscanQueryTimeout(EtherscanError):
    """Etherscan gave up on the query; ask again for a smaller block range."""

    kind = "query_timeout"


class EtherscanFatalError(EtherscanError):
    """The request cannot succeed as configured (key, endpoint, chain id or parameters)."""

    kind = "fatal"


class EtherscanTransientError(EtherscanError):
    """A network, server or body error that may pass on its own."""

    kind = "transient"


class RateLimiter:
    """Spaces calls at least `1 / calls_per_second` apart, across threads.

    Each caller reserves the next free slot under a lock and waits outside it until that slot,
    so the k-th call never starts before the first call's time plus k intervals. A set `stop`
    ends the wait at once.
    """

    def __init__(self, calls_per_second: float, stop: threading.Event | None = None) -> None:
        if calls_per_second <= 0:
            raise ValueError(f"calls_per_second must be positive, got {calls_per_second}")
        self.interval_s = 1.0 / calls_per_second
        self._stop = stop
        self._lock = threading.Lock()
        self._next_slot = float("-inf")

    def acquire(self) -> None:
        """Block until this caller's slot comes."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval_s
        delay = slot - now
        if delay > 0:
            pause(delay, self._stop)


def parse_quantity(value: object, field: str) -> int:
    """Parse an Etherscan number: 0x-hex (the bare "0x" is 0) or, leniently, decimal."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise ValueError(f"field {field!r} is not a number string: {value!r}")
    text = value.strip()
    try:
        if text[:2].lower() == "0x":
            return int(text[2:] or "0", 16)
        return int(text, 10)
    except ValueError:
        raise ValueError(
            f"field {field!r} is not a hex or decimal number: {value[:40]!r}"
        ) from None


def _optional_quantity(item: dict[str, Any], field: str) -> int | None:
    value = item.get(field)
    return None if value is None else parse_quantity(value, field)


def _hex_string(item: dict[str, Any], field: str) -> str:
    value = item.get(field)
    if not isinstance(value, str) or value[:2].lower() != "0x":
        raise ValueError(f"field {field!r} is not 0x-prefixed hex: {value!r}")
    return value.lower()


def parse_log(item: object) -> RawLog:
    """Turn one entry of a getLogs `result` into a `RawLog` (ValueError if it is malformed).

    `blockHash`, `timeStamp` and `transactionIndex` may be absent; the first two then read as None,
    `transactionIndex` as 0.
    """
    if not isinstance(item, dict):
        raise ValueError(f"log entry is not an object: {item!r:.80}")
    topics = item.get("topics")
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise ValueError(f"log entry has no list of topics: {topics!r:.80}")
    block_hash = item.get("blockHash")
    return RawLog(
        address=checksum_address(_hex_string(item, "address")),
        topics=tuple(t.lower() for t in topics if t),
        data=_hex_string(item, "data"),
        block_number=parse_quantity(item.get("blockNumber"), "blockNumber"),
        transaction_hash=_hex_string(item, "transactionHash"),
        log_index=parse_quantity(item.get("logIndex"), "logIndex"),
        transaction_index=_optional_quantity(item, "transactionIndex") or 0,
        block_hash=block_hash.lower() if isinstance(block_hash, str) and block_hash else None,
        timestamp=_optional_quantity(item, "timeStamp"),
    )


def _seconds_to_utc_midnight() -> float:
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()


class EtherscanClient:
    """Etherscan V2 client for one chain: `block_number()` and `get_logs(...)`.

    Every request carries `chainid` and `apikey` and waits for the client-side rate limiter.
    `on_call(kind)` is called once per HTTP attempt with one of `CALL_KINDS`. A set `stop` ends
    every wait (rate limit, back-off) at once with `services.common.pause.StopRequested`.
    """

    def __init__(
        self,
        api_url: str,
        api_key: str,
        chain_id: int,
        *,
        calls_per_second: float = 3.0,
        timeout_s: float = 20,
        max_retries: int = 6,
        backoff_s: float = 1.0,
        session: requests.Session | None = None,
        on_call: Callable[[str], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.api_url = api_url
        self.chain_id = chain_id
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._backoff_s = backoff_s
        self._stop = stop
        self._limiter = RateLimiter(calls_per_second, stop)
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        self._on_call = on_call
        self._jitter = random.Random()

    def __repr__(self) -> str:
        return (
            f"EtherscanClient(api_url={self._scrub(self.api_url)!r}, chain_id={self.chain_id}, "
            f"api_key={_MASK!r})"
        )

    def close(self) -> None:
        """Close the HTTP session if this client created it."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> EtherscanClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---------------------------------------------------------------- public calls

    def block_number(self) -> int:
        """The head block as Etherscan's indexer sees it (module=proxy&action=eth_blockNumber)."""
        return self._call({"module": "proxy", "action": "eth_blockNumber"}, self._parse_head)

    def get_logs(
        self,
        address: str,
        topic0: str,
        from_block: int,
        to_block: int,
        *,
        page: int = 1,
        offset: int = 1000,
    ) -> list[RawLog]:
        """One page of logs of `address` with `topic0` in blocks `from_block..to_block`."""
        params = {
            "module": "logs",
            "action": "getLogs",
            "address": address,
            "topic0": topic0,
            "fromBlock": str(from_block),
            "toBlock": str(to_block),
            "page": str(page),
            "offset": str(offset),
        }
        return self._call(params, self._parse_logs)

    # ---------------------------------------------------------------- request and retry

    def _call(self, params: dict[str, str], parse: Callable[[Any], Any]) -> Any:
        query = {"chainid": str(self.chain_id), **params, "apikey": self._api_key}
        action = params["action"]
        attempt = 0
        while True:
            self._limiter.acquire()
            try:
                result, kind = self._attempt(query, action, parse)
            except EtherscanError as exc:
                self._notify(exc.kind)
                retryable = type(exc) in (EtherscanRateLimited, EtherscanTransientError)
                if not retryable or attempt >= self._max_retries:
                    raise
                pause(self._backoff_s * 2**attempt * self._jitter.uniform(0.5, 1.0), self._stop)
                attempt += 1
                continue
            self._notify(kind)
            return result

    def _attempt(
        self, query: dict[str, str], action: str, parse: Callable[[Any], Any]
    ) -> tuple[Any, str]:
        try:
            response = self._session.get(self.api_url, params=query, timeout=self._timeout_s)
        except requests.RequestException as exc:
            raise EtherscanTransientError(
                f"{action}: request to {self._scrub(self.api_url)} failed "
                f"({type(exc).__name__}): {self._scrub(str(exc))}"
            ) from None
        status = response.status_code
        if status >= 500 or status in (408, 425):
            raise EtherscanTransientError(f"{action}: Etherscan answered HTTP {status}")
        if status == 429:
            raise EtherscanRateLimited(f"{action}: Etherscan answered HTTP 429 (rate limit)")
        if status >= 400:
            raise EtherscanFatalError(
                f"{action}: Etherscan answered HTTP {status} at {self._scrub(self.api_url)}; "
                "check the API URL"
            )
        try:
            body = response.json()
        except ValueError:
            raise EtherscanTransientError(
                f"{action}: Etherscan answered a body that is not JSON "
                f"({len(response.content)} bytes)"
            ) from None
        if not isinstance(body, dict):
            raise EtherscanTransientError(
                f"{action}: Etherscan answered JSON that is not an object"
            )
        try:
            return parse(body)
        except ValueError as exc:
            raise EtherscanTransientError(
                f"{action}: malformed Etherscan answer: {self._scrub(str(exc))}"
            ) from None

    def _notify(self, kind: str) -> None:
        if self._on_call is not None:
            self._on_call(kind)

    # ---------------------------------------------------------------- answers

    def _parse_logs(self, body: dict[str, Any]) -> tuple[list[RawLog], str]:
        status, message, result = body.get("status"), body.get("message"), body.get("result")
        if status == "1" and isinstance(result, list):
            return [parse_log(item) for item in result], "ok"
        if status == "0" and isinstance(message, str) and "no records found" in message.lower():
            return [], "no_records"
        raise self._classify(result if isinstance(result, str) else message)

    def _parse_head(self, body: dict[str, Any]) -> tuple[int, str]:
        error = body.get("error")
        if isinstance(error, dict):
            raise self._classify(error.get("message"))
        result = body.get("result")
        if body.get("status") == "0":
            raise self._classify(result if isinstance(result, str) else body.get("message"))
        if isinstance(result, str) and result[:2].lower() == "0x":
            return parse_quantity(result, "result"), "ok"
        # The proxy module has been seen to put an error text (e.g. a rate limit) in `result`.
        raise self._classify(result)

    def _classify(self, cause: object) -> EtherscanError:
        """Map an Etherscan error text to the exception class that says what to do about it."""
        text = self._scrub(cause if isinstance(cause, str) else json.dumps(cause))[:300]
        lower = text.lower()
        if "daily rate limit" in lower:
            return EtherscanDailyLimitReached(
                f"Etherscan daily call quota used up: {text}",
                retry_after_s=_seconds_to_utc_midnight(),
            )
        if "rate limit" in lower:
            return EtherscanRateLimited(f"Etherscan rate limit reached: {text}")
        if "query timeout" in lower:
            return EtherscanQueryTimeout(f"Etherscan query timed out; split the range: {text}")
        if "too many invalid api key" in lower:
            return EtherscanFatalError(
                "Etherscan refuses this client after too many invalid API key attempts"
            )
        if "invalid api key" in lower:
            return EtherscanFatalError("Etherscan rejected the API key (Invalid API Key)")
        if "deprecated v1 endpoint" in lower:
            return EtherscanFatalError(
                "Etherscan says this is a deprecated V1 endpoint; use https://api.etherscan.io/v2/api"
            )
        if "chainid" in lower:
            return EtherscanFatalError(
                f"Etherscan does not accept chain id {self.chain_id} "
                "(Missing or unsupported chainid)"
            )
        if lower.startswith("error!") or "result window is too large" in lower:
            return EtherscanFatalError(f"Etherscan rejected the request parameters: {text}")
        return EtherscanTransientError(f"Etherscan answered an unrecognised error: {text}")

    def _scrub(self, text: str) -> str:
        text = _APIKEY_IN_URL.sub(r"\g<1>" + _MASK, text)
        return text.replace(self._api_key, _MASK) if self._api_key else text


def iter_deploy_logs(
    client: EtherscanClient,
    address: str,
    topic0: str,
    from_block: int,
    to_block: int,
    *,
    page_size: int = 1000,
    on_progress: Callable[[int, int, int], None] | None = None,
) -> Iterator[LogBatch]:
    """Yield every log of `address` with `topic0` in `from_block..to_block`, in complete batches.

    Each range is asked for whole, page 1 only. A short page completes the range. A full page may
    stop inside its last block, so the logs before that block are yielded and the query goes on
    from that block: nothing is lost or repeated at the boundary and a page of N logs costs about
    one call per N logs. If a single block fills a page, that block alone is paged through
    (page=2, 3, ...; Etherscan allows page * offset <= 10,000). A query timeout halves the range.

    Batches are ascending by (block, log index) and cover contiguous ranges, empty batches
    included, so the caller can checkpoint after each. `to_block` should trail the head that
    `client.block_number()` reports: logs above the indexer's head are not there yet.
    `on_progress(done_to_block, to_block, calls)` follows every batch; `calls` counts `get_logs`
    calls so far (the client's own retries not included).

    `page_size` may not exceed `MAX_PAGE_SIZE`: Etherscan would cap it silently, and a capped page
    would look short, i.e. complete.
    """
    if from_block < 0 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(
            f"need from_block >= 0 and 1 <= page_size <= {MAX_PAGE_SIZE}, "
            f"got {from_block}, {page_size}"
        )
    calls = 0
    pending = [(from_block, to_block)] if from_block <= to_block else []
    while pending:
        low, high = pending.pop()
        calls += 1
        try:
            logs = client.get_logs(address, topic0, low, high, page=1, offset=page_size)
        except EtherscanQueryTimeout:
            if low == high:
                raise
            middle = (low + high) // 2
            pending += [(middle + 1, high), (low, middle)]
            continue
        received = len(logs)
        logs = sorted(within(logs, low, high), key=lambda log: (log.block_number, log.log_index))
        if received < page_size:
            batch = LogBatch(low, high, tuple(logs))
        elif logs[-1].block_number > low:
            last = logs[-1].block_number
            batch = LogBatch(low, last - 1, tuple(log for log in logs if log.block_number < last))
            pending.append((last, high))
        else:
            block_logs, extra_calls = _page_one_block(client, address, topic0, low, page_size, logs)
            calls += extra_calls
            batch = LogBatch(low, low, block_logs)
            if low < high:
                pending.append((low + 1, high))
        yield batch
        if on_progress is not None:
            on_progress(batch.to_block, to_block, calls)


def _page_one_block(
    client: EtherscanClient,
    address: str,
    topic0: str,
    block: int,
    page_size: int,
    first_page: list[RawLog],
) -> tuple[tuple[RawLog, ...], int]:
    """Collect all logs of one block whose first page is full; return them and the calls made.

    Paging ends on a short page. A full page that brings nothing new means the server ignores
    `page`, and Etherscan serves at most `MAX_RESULT_WINDOW` records of one query: either way the
    block cannot be read completely, which is an error (a lost event is never acceptable).
    """
    seen = {log.key for log in first_page}
    logs = list(first_page)
    page, calls = 1, 0
    while True:
        page += 1
        if page * page_size > MAX_RESULT_WINDOW:
            raise EtherscanTransientError(
                f"block {block} holds more than {MAX_RESULT_WINDOW} DeployEvent logs, more than "
                "Etherscan serves for one query; read it with --source rpc"
            )
        calls += 1
        more = within(
            client.get_logs(address, topic0, block, block, page=page, offset=page_size),
            block,
            block,
        )
        new = [log for log in more if log.key not in seen]
        if len(more) == page_size and not new:
            raise EtherscanTransientError(
                f"Etherscan answered page {page} of block {block} with the logs of an earlier "
                "page (it ignores paging); cannot read that block completely"
            )
        logs += new
        seen.update(log.key for log in new)
        if len(more) < page_size:
            logs.sort(key=lambda log: log.log_index)
            return tuple(logs), calls
