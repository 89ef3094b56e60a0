"""The Etherscan V2 client against the local stand-in on loopback: parsing, errors, retries,
rate limiting and complete, ordered log iteration."""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from eth_utils import to_checksum_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.chain.etherscan import (
    EtherscanClient,
    EtherscanDailyLimitReached,
    EtherscanError,
    EtherscanFatalError,
    EtherscanQueryTimeout,
    EtherscanRateLimited,
    EtherscanTransientError,
    iter_deploy_logs,
    parse_log,
    parse_quantity,
)
from services.chain.events import LogBatch, RawLog, decode_deploy_event, deploy_event_topic0
from services.common.pause import StopRequested
from testbed.emulators.etherscan import EtherscanStandIn, Faults, GeneratedLogs
from tests.helpers import CHAIN_ID, SENDER

API_KEY = "sk-VERY-SECRET-9f8e7d"
CONTRACT = to_checksum_address("0x" + "d4" * 20)
OTHER_CONTRACT = to_checksum_address("0x" + "e5" * 20)

ClientFactory = Callable[..., EtherscanClient]


def add_events(source: GeneratedLogs, counts: dict[int, int], contract: str = CONTRACT) -> None:
    """Add `counts[block]` DeployEvents to each block, with proposal ids in emission order."""
    for block in sorted(counts):
        for _ in range(counts[block]):
            source.add_deploy_event(
                contract, block * 10_000 + _, SENDER, "m", "{}", block_number=block
            )


@pytest.fixture
def source() -> GeneratedLogs:
    return GeneratedLogs(head=1_000)


@pytest.fixture
def standin(
    source: GeneratedLogs, etherscan_standin_factory: Callable[..., EtherscanStandIn]
) -> EtherscanStandIn:
    return etherscan_standin_factory(source, api_key=API_KEY, seed=3)


@pytest.fixture
def make_client(standin: EtherscanStandIn, cleanup: ExitStack) -> ClientFactory:
    """Clients with tiny delays, closed after the test; `kinds` collects their on_call reports."""

    def make(**overrides: object) -> EtherscanClient:
        options: dict = {
            "api_url": standin.url,
            "api_key": API_KEY,
            "chain_id": CHAIN_ID,
            "calls_per_second": 1_000.0,
            "timeout_s": 2.0,
            "max_retries": 3,
            "backoff_s": 0.001,
        }
        options.update(overrides)
        return cleanup.enter_context(EtherscanClient(**options))

    return make


def server_calls(standin: EtherscanStandIn) -> int:
    return sum(standin.stats()["calls"].values())


# ------------------------------------------------------------------------- parsing


def test_get_logs_returns_normalised_raw_logs(
    source: GeneratedLogs, make_client: ClientFactory
) -> None:
    first = source.add_deploy_event(
        CONTRACT, 1, SENDER, "hello", '{"x":1}', block_number=50, timestamp=1_700_000_000
    )
    second = source.add_deploy_event(CONTRACT, 2, SENDER, "again", "{}", block_number=50)
    source.add_deploy_event(OTHER_CONTRACT, 3, SENDER, "not ours", "{}", block_number=50)
    kinds: list[str] = []

    logs = make_client(on_call=kinds.append).get_logs(CONTRACT, deploy_event_topic0(), 0, 100)

    assert logs == [first, second]
    assert logs[0].log_index == 0  # sent as the bare "0x"
    assert logs[0].timestamp == 1_700_000_000
    assert logs[1].timestamp is None  # timeStamp absent
    assert decode_deploy_event(logs[0]).spec_json == '{"x":1}'
    assert kinds == ["ok"]


def test_no_records_found_is_an_empty_list(make_client: ClientFactory) -> None:
    kinds: list[str] = []

    assert make_client(on_call=kinds.append).get_logs(CONTRACT, deploy_event_topic0(), 0, 10) == []
    assert kinds == ["no_records"]


def test_block_number_reads_the_indexers_head(
    source: GeneratedLogs, standin: EtherscanStandIn, make_client: ClientFactory
) -> None:
    client = make_client()
    source.head = 4_321
    assert client.block_number() == 4_321

    standin.set_faults(indexing_lag_blocks=20)
    assert client.block_number() == 4_301


@pytest.mark.parametrize(
    ("text", "value"),
    [("0x", 0), ("0x0", 0), ("0x1f", 31), ("0XFF", 255), ("42", 42), (7, 7)],
)
def test_parse_quantity_reads_hex_bare_0x_and_decimal(text: object, value: int) -> None:
    assert parse_quantity(text, "f") == value


@pytest.mark.parametrize("text", ["0xzz", "", "abc", None, 1.5])
def test_parse_quantity_rejects_garbage(text: object) -> None:
    with pytest.raises(ValueError, match="field 'f'"):
        parse_quantity(text, "f")


def test_parse_log_tolerates_absent_optional_fields() -> None:
    log = parse_log(
        {
            "address": CONTRACT.lower(),
            "topics": [deploy_event_topic0().upper().replace("0X", "0x")],
            "data": "0x",
            "blockNumber": "0x10",
            "logIndex": "0x",
            "transactionHash": "0x" + "AB" * 32,
        }
    )

    assert log == RawLog(
        address=CONTRACT,
        topics=(deploy_event_topic0(),),
        data="0x",
        block_number=16,
        transaction_hash="0x" + "ab" * 32,
        log_index=0,
        transaction_index=0,
        block_hash=None,
        timestamp=None,
    )


@pytest.mark.parametrize(
    "item",
    [
        "not an object",
        {
            "topics": [],
            "data": "0x",
            "blockNumber": "0x1",
            "logIndex": "0x",
            "transactionHash": "0x1",
        },
        {
            "address": CONTRACT,
            "topics": "0x1",
            "data": "0x",
            "blockNumber": "0x1",
            "logIndex": "0x",
            "transactionHash": "0x1",
        },
        {
            "address": CONTRACT,
            "topics": [],
            "data": "0x",
            "logIndex": "0x",
            "transactionHash": "0x1",
        },
    ],
    ids=["not-object", "no-address", "topics-not-list", "no-block-number"],
)
def test_parse_log_rejects_malformed_entries(item: object) -> None:
    with pytest.raises(ValueError):
        parse_log(item)


# ------------------------------------------------------------------------- errors


def assert_key_hidden(error: BaseException) -> None:
    text = "".join(traceback.format_exception(error))
    assert API_KEY not in text
    assert API_KEY not in repr(error)


@pytest.mark.parametrize(
    ("setup", "error_type", "message"),
    [
        (lambda s: s.set_faults(query_timeout_over_blocks=5), EtherscanQueryTimeout, "split"),
        (lambda s: s.set_faults(daily_limit_next=1), EtherscanDailyLimitReached, "daily"),
        (lambda s: None, EtherscanFatalError, "Invalid API Key"),
    ],
    ids=["query-timeout", "daily-limit", "invalid-key"],
)
def test_errors_that_retrying_cannot_fix_are_raised_after_one_call(
    standin: EtherscanStandIn,
    make_client: ClientFactory,
    setup: Callable[[EtherscanStandIn], object],
    error_type: type[EtherscanError],
    message: str,
) -> None:
    setup(standin)
    key = "wrong-key-for-this-test" if error_type is EtherscanFatalError else API_KEY
    kinds: list[str] = []
    client = make_client(api_key=key, on_call=kinds.append)

    with pytest.raises(error_type, match=message) as caught:
        client.get_logs(CONTRACT, deploy_event_topic0(), 0, 100)

    assert server_calls(standin) == 1
    assert kinds == [error_type.kind]
    assert_key_hidden(caught.value)
    assert "wrong-key-for-this-test" not in str(caught.value)


def test_daily_limit_says_how_long_to_wait(
    standin: EtherscanStandIn, make_client: ClientFactory
) -> None:
    standin.set_faults(daily_limit_next=1)

    with pytest.raises(EtherscanDailyLimitReached) as caught:
        make_client().block_number()

    assert isinstance(caught.value, EtherscanRateLimited)
    assert caught.value.retry_after_s is not None
    assert 0 < caught.value.retry_after_s <= 24 * 3600


def test_too_many_invalid_keys_is_fatal(
    standin: EtherscanStandIn, make_client: ClientFactory
) -> None:
    standin.set_faults(invalid_key_lockout_after=1)
    client = make_client(api_key="bad-key-1")
    with pytest.raises(EtherscanFatalError, match="Invalid API Key"):
        client.block_number()

    with pytest.raises(EtherscanFatalError, match="too many invalid API key attempts") as caught:
        client.block_number()
    assert "bad-key-1" not in "".join(traceback.format_exception(caught.value))


def test_unsupported_chain_id_is_fatal_and_names_the_chain(
    standin: EtherscanStandIn, make_client: ClientFactory
) -> None:
    with pytest.raises(EtherscanFatalError, match=r"chain id 5 .*unsupported chainid") as caught:
        make_client(chain_id=5).get_logs(CONTRACT, deploy_event_topic0(), 0, 1)

    assert server_calls(standin) == 1
    assert_key_hidden(caught.value)


def test_a_v1_endpoint_is_fatal(standin: EtherscanStandIn, make_client: ClientFactory) -> None:
    v1_url = standin.url.replace("/v2/api", "/api")

    with pytest.raises(EtherscanFatalError, match="deprecated V1 endpoint") as caught:
        make_client(api_url=v1_url).block_number()
    assert_key_hidden(caught.value)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.get_logs("0x1234", deploy_event_topic0(), 0, 1), "Invalid address format"),
        (
            lambda c: c.get_logs(CONTRACT, deploy_event_topic0(), 0, 1, page=11, offset=1000),
            "Result window is too large",
        ),
    ],
    ids=["bad-address", "result-window"],
)
def test_rejected_parameters_are_fatal(
    standin: EtherscanStandIn,
    make_client: ClientFactory,
    call: Callable[[EtherscanClient], object],
    message: str,
) -> None:
    with pytest.raises(EtherscanFatalError, match=message):
        call(make_client())
    assert server_calls(standin) == 1


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("rate_limit", "rate_limited"),
        ("http_500", "transient"),
        ("malformed", "transient"),
        ("slow", "transient"),
    ],
)
def test_passing_faults_are_retried_until_success(
    source: GeneratedLogs,
    standin: EtherscanStandIn,
    make_client: ClientFactory,
    fault: str,
    kind: str,
) -> None:
    add_events(source, {10: 2})
    standin.set_faults(**{f"{fault}_next": 2}, slow_s=5.0)
    kinds: list[str] = []

    logs = make_client(on_call=kinds.append, timeout_s=0.2).get_logs(
        CONTRACT, deploy_event_topic0(), 0, 100
    )

    assert len(logs) == 2
    assert kinds == [kind, kind, "ok"]
    assert standin.stats()["faults"][fault] == 2


@pytest.mark.parametrize(
    ("fault", "error_type"),
    [
        ("rate_limit", EtherscanRateLimited),
        ("http_500", EtherscanTransientError),
        ("malformed", EtherscanTransientError),
    ],
)
def test_persistent_faults_are_raised_after_max_retries(
    standin: EtherscanStandIn,
    make_client: ClientFactory,
    fault: str,
    error_type: type[EtherscanError],
) -> None:
    standin.set_faults(**{f"{fault}_probability": 1.0})

    with pytest.raises(error_type) as caught:
        make_client(max_retries=4).get_logs(CONTRACT, deploy_event_topic0(), 0, 100)

    assert type(caught.value) is error_type
    assert server_calls(standin) == 5
    assert_key_hidden(caught.value)


def test_proxy_errors_are_classified_and_retried(
    source: GeneratedLogs, standin: EtherscanStandIn, make_client: ClientFactory
) -> None:
    source.head = 77
    standin.set_faults(rate_limit_next=1, http_500_next=1)
    kinds: list[str] = []

    assert make_client(on_call=kinds.append).block_number() == 77
    assert sorted(kinds) == ["ok", "rate_limited", "transient"]


def test_unreachable_server_is_transient_and_hides_the_key(make_client: ClientFactory) -> None:
    with EtherscanStandIn(api_key=API_KEY, chain_id=CHAIN_ID, log_source=GeneratedLogs()) as gone:
        url = gone.url
    kinds: list[str] = []

    with pytest.raises(EtherscanTransientError, match="ConnectionError") as caught:
        make_client(api_url=url, max_retries=2, on_call=kinds.append).block_number()

    assert kinds == ["transient"] * 3
    assert "apikey=***" in str(caught.value)
    assert_key_hidden(caught.value)


def test_repr_masks_the_key(make_client: ClientFactory) -> None:
    client = make_client()

    assert API_KEY not in repr(client)
    assert "***" in repr(client)


# ------------------------------------------------------------------------- rate limiting


def test_calls_from_many_threads_arrive_one_interval_apart(
    standin: EtherscanStandIn, make_client: ClientFactory
) -> None:
    """The k-th call can start no earlier than the first plus k intervals, whatever the threads."""
    rate = 40.0
    client = make_client(calls_per_second=rate)
    start = time.monotonic()
    threads = [
        threading.Thread(target=lambda: [client.block_number() for _ in range(4)]) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    arrivals = sorted(standin.arrival_times())
    assert len(arrivals) == 12
    for k, arrival in enumerate(arrivals):
        assert arrival >= start + k / rate - 1e-3


def test_server_side_rate_limit_is_absorbed_by_retries(
    standin: EtherscanStandIn, make_client: ClientFactory
) -> None:
    standin.set_faults(max_calls_per_sec=5)
    kinds: list[str] = []
    client = make_client(on_call=kinds.append, backoff_s=0.1, max_retries=6)

    heads = [client.block_number() for _ in range(7)]

    assert heads == [1_000] * 7
    assert kinds.count("ok") == 7
    assert kinds.count("rate_limited") == standin.stats()["faults"]["server_rate_limit"] >= 1


# ------------------------------------------------------------------------- iteration


def check_batches(
    batches: list[LogBatch], expected: list[RawLog], from_block: int, to_block: int
) -> None:
    """Contiguous complete ranges, every expected log exactly once, ascending."""
    assert batches[0].from_block == from_block
    assert batches[-1].to_block == to_block
    for previous, batch in itertools.pairwise(batches):
        assert batch.from_block == previous.to_block + 1
    for batch in batches:
        assert batch.from_block <= batch.to_block
        assert all(batch.from_block <= log.block_number <= batch.to_block for log in batch.logs)
    got = [log for batch in batches for log in batch.logs]
    assert got == expected


@pytest.fixture(scope="module")
def shared_standin() -> Iterator[EtherscanStandIn]:
    """One stand-in for the property tests; each example installs its own log source."""
    with EtherscanStandIn(
        api_key=API_KEY, chain_id=CHAIN_ID, log_source=GeneratedLogs(), seed=5
    ) as server:
        yield server


block_counts = st.dictionaries(
    st.integers(min_value=0, max_value=60),
    st.one_of(st.integers(min_value=1, max_value=4), st.integers(min_value=5, max_value=40)),
    max_size=25,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    counts=block_counts,
    page_size=st.integers(min_value=1, max_value=12),
    window=st.tuples(st.integers(0, 70), st.integers(0, 70)).map(sorted),
    timeout_over=st.none() | st.integers(min_value=1, max_value=15),
)
def test_iteration_yields_every_log_once_in_order(
    shared_standin: EtherscanStandIn,
    counts: dict[int, int],
    page_size: int,
    window: list[int],
    timeout_over: int | None,
) -> None:
    from_block, to_block = window
    source = GeneratedLogs(head=100)
    add_events(source, counts)
    add_events(source, {block: 1 for block in counts}, contract=OTHER_CONTRACT)
    shared_standin.log_source = source
    shared_standin.set_faults(Faults(query_timeout_over_blocks=timeout_over))
    expected = source.logs(from_block, to_block, CONTRACT, deploy_event_topic0())
    kinds: list[str] = []
    progress: list[tuple[int, int, int]] = []

    with EtherscanClient(
        shared_standin.url, API_KEY, CHAIN_ID, calls_per_second=1_000, on_call=kinds.append
    ) as client:
        batches = list(
            iter_deploy_logs(
                client,
                CONTRACT,
                deploy_event_topic0(),
                from_block,
                to_block,
                page_size=page_size,
                on_progress=lambda *args: progress.append(args),
            )
        )

    check_batches(batches, expected, from_block, to_block)
    assert [done for done, _, _ in progress] == [batch.to_block for batch in batches]
    assert {total for _, total, _ in progress} == {to_block}
    assert progress[-1][2] == len(kinds)
    if timeout_over is None:
        in_window = [n for block, n in counts.items() if from_block <= block <= to_block]
        assert len(kinds) <= sum(2 + n // page_size for n in in_window) + 1


def iterate(
    client: EtherscanClient, from_block: int, to_block: int, **kw: object
) -> list[LogBatch]:
    return list(
        iter_deploy_logs(client, CONTRACT, deploy_event_topic0(), from_block, to_block, **kw)
    )


def test_ten_thousand_logs_take_about_ten_calls(
    source: GeneratedLogs, make_client: ClientFactory
) -> None:
    counts = {block: 1 + block % 5 for block in range(1, 3_334)}  # 9,999 logs
    counts[3_334] = 1
    add_events(source, counts)
    source.head = 5_000
    kinds: list[str] = []

    batches = iterate(make_client(on_call=kinds.append), 0, 5_000)

    expected = source.logs(0, 5_000, CONTRACT, deploy_event_topic0())
    assert len(expected) == 10_000
    check_batches(batches, expected, 0, 5_000)
    assert 10 <= len(kinds) <= 12


@pytest.mark.parametrize(("in_block", "calls"), [(2_500, 4), (2_000, 4), (999, 2)])
def test_a_block_that_fills_pages_is_paged_through(
    source: GeneratedLogs, make_client: ClientFactory, in_block: int, calls: int
) -> None:
    add_events(source, {40: in_block, 41: 1})
    kinds: list[str] = []

    batches = iterate(make_client(on_call=kinds.append), 40, 41)

    check_batches(batches, source.logs(40, 41, CONTRACT, deploy_event_topic0()), 40, 41)
    assert len(kinds) == calls


def test_empty_and_reversed_ranges(make_client: ClientFactory) -> None:
    kinds: list[str] = []
    client = make_client(on_call=kinds.append)

    assert iterate(client, 10, 9) == []
    assert kinds == []
    assert iterate(client, 10, 20) == [LogBatch(10, 20, ())]
    assert kinds == ["no_records"]


def test_query_timeouts_split_the_range_down_to_what_the_server_accepts(
    source: GeneratedLogs, standin: EtherscanStandIn, make_client: ClientFactory
) -> None:
    add_events(source, {3: 1, 6: 2})
    standin.set_faults(query_timeout_over_blocks=1)
    kinds: list[str] = []

    batches = iterate(make_client(on_call=kinds.append), 0, 7)

    assert [(batch.from_block, batch.to_block) for batch in batches] == [(n, n) for n in range(8)]
    check_batches(batches, source.logs(0, 7, CONTRACT, deploy_event_topic0()), 0, 7)
    assert kinds.count("query_timeout") == 7  # [0,7], [0,3], [0,1], [2,3], [4,7], [4,5], [6,7]


def test_a_query_timeout_on_a_single_block_is_raised(
    standin: EtherscanStandIn, make_client: ClientFactory
) -> None:
    standin.set_faults(query_timeout_over_blocks=0)
    kinds: list[str] = []

    with pytest.raises(EtherscanQueryTimeout):
        iterate(make_client(on_call=kinds.append), 0, 3)
    assert kinds == ["query_timeout"] * 3  # [0,3], [0,1], [0,0]


def test_iteration_rejects_a_negative_start_or_empty_pages(make_client: ClientFactory) -> None:
    with pytest.raises(ValueError, match="from_block >= 0"):
        iterate(make_client(), -1, 5)
    with pytest.raises(ValueError, match="page_size <= 1000"):
        iterate(make_client(), 0, 5, page_size=0)
    with pytest.raises(ValueError, match="page_size <= 1000"):
        iterate(make_client(), 0, 5, page_size=1001)


def test_a_server_that_ignores_paging_in_a_full_block_is_an_error_not_a_loop(
    source: GeneratedLogs, standin: EtherscanStandIn, make_client: ClientFactory
) -> None:
    """Page 2 of a full block answered with page 1 again: the block cannot be read completely,
    so iteration stops with a clear error instead of spinning or dropping the block's tail."""
    add_events(source, {40: 1_500})
    standin.set_faults(ignore_paging=True)
    kinds: list[str] = []
    with pytest.raises(EtherscanTransientError, match="ignores paging"):
        iterate(make_client(on_call=kinds.append), 40, 40)
    assert len(kinds) == 2


def test_a_block_beyond_the_result_window_is_an_error_naming_the_remedy(
    source: GeneratedLogs, make_client: ClientFactory
) -> None:
    add_events(source, {7: 10_001})
    with pytest.raises(EtherscanTransientError, match="read it with --source rpc"):
        iterate(make_client(), 7, 7)


def test_logs_outside_the_asked_range_are_dropped(
    source: GeneratedLogs, standin: EtherscanStandIn, make_client: ClientFactory
) -> None:
    """A server that ignored fromBlock/toBlock would otherwise leak other blocks' logs into a
    batch (and into a checkpoint they do not belong to)."""
    add_events(source, {5: 1, 50: 1, 500: 1})
    client = make_client()
    real_get_logs = client.get_logs

    def ignoring_range(address, topic0, from_block, to_block, **kwargs):
        return real_get_logs(address, topic0, 0, 1_000, **kwargs)

    client.get_logs = ignoring_range  # the stand-in's answer for the whole chain
    batches = iterate(client, 40, 60)
    assert [log.block_number for batch in batches for log in batch.logs] == [50]


def test_a_stop_request_ends_rate_limit_and_back_off_waits_at_once(
    standin: EtherscanStandIn, make_client: ClientFactory
) -> None:
    stop = threading.Event()
    standin.set_faults(http_500_next=100)
    client = make_client(backoff_s=30.0, max_retries=5, stop=stop)
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    with pytest.raises(StopRequested):
        client.block_number()
    assert time.monotonic() - started < 2

    standin.set_faults(Faults())
    slow = make_client(calls_per_second=0.01, stop=stop)  # one call per 100 s
    slow.block_number()  # takes the first slot
    started = time.monotonic()
    with pytest.raises(StopRequested):  # stop is already set: the wait for the next slot ends
        slow.block_number()
    assert time.monotonic() - started < 1
