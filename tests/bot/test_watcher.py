"""Watcher: confirmed DeployEvents from the Etherscan stand-in, through the ledger, to the Spheron
emulator — in process, with real HTTP servers on loopback."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from web3 import Web3

from services.bot.deployer import Deployer, DeployerOptions
from services.bot.drift import DriftWatch
from services.bot.leadership import AdvisoryLeadership
from services.bot.ledger import (
    DeploymentState,
    Ledger,
    LedgerLocation,
    LedgerUnavailableError,
    NewEvent,
)
from services.bot.metrics import BotMetrics
from services.bot.watcher import PROGRESS_EVERY_S, FatalBotError, Watcher, WatchOptions
from services.chain.etherscan import EtherscanClient, EtherscanError, EtherscanFatalError
from services.chain.events import (
    EventDecodeError,
    RawLog,
    checksum_address,
    decode_deploy_event,
    deploy_event_topic0,
)
from services.chain.log_sources import EtherscanLogSource, LogSourceUnavailable, RpcLogSource
from services.spec.model import canonical_json, parse_spec, spec_hash
from services.spec.policy import DeployPolicy
from services.targets.spheron import SpheronTarget
from testbed.emulators.etherscan import EtherscanStandIn, Faults, GeneratedLogs
from testbed.emulators.spheron import FaultPlan
from testbed.waiting import wait_until
from tests.bot.test_ledger import raw_engine

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CHAIN_ID = 11155111
DAO = "0x" + "ab" * 20
SENDER = "0x" + "cd" * 20
API_KEY = "standin-key-8d7f"
S = DeploymentState
SPEC = canonical_json(parse_spec((EXAMPLES / "web-service.json").read_text()))


@pytest.fixture
def chain():
    return GeneratedLogs(head=100)


@pytest.fixture
def standin(chain):
    with EtherscanStandIn(api_key=API_KEY, chain_id=CHAIN_ID, log_source=chain) as server:
        yield server


@pytest.fixture
def emulator(spheron_emulator_factory):
    return spheron_emulator_factory()


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite3", chain_id=CHAIN_ID, dao_address=DAO) as opened:
        yield opened


@pytest.fixture
def make_watcher(standin, emulator, ledger, spheron_client_factory):
    stop = threading.Event()

    def make(
        *,
        confirmations=2,
        start_block=0,
        api_key=API_KEY,
        once=False,
        reread_blocks=0,
        backoff_s=0.001,
        target=None,
        drift_target=None,
        drift_clock=time.monotonic,
    ):
        metrics = BotMetrics()
        client = EtherscanClient(
            standin.url,
            api_key,
            CHAIN_ID,
            calls_per_second=1000,
            backoff_s=backoff_s,
            max_retries=6,
            stop=stop,
        )
        source = EtherscanLogSource(client, DAO, page_size=1000)
        deployer = Deployer(
            ledger,
            target or SpheronTarget(spheron_client_factory(emulator)),
            DeployPolicy(),
            metrics,
            DeployerOptions(chain_id=CHAIN_ID, dao_address=DAO),
            environ={},
        )
        options = WatchOptions(
            confirmations=confirmations,
            poll_interval_s=0.05,
            start_block=start_block,
            once=once,
            reread_blocks=reread_blocks,
        )
        drift = None
        if drift_target is not None:  # drift checks every hour of `drift_clock`
            drift = DriftWatch(ledger, drift_target, metrics, interval_s=3600, clock=drift_clock)
        watcher = Watcher(source, ledger, deployer, metrics, options, stop, drift=drift)
        watcher.metrics = metrics
        watcher.stop = stop
        return watcher

    return make


def deploy_event(chain, proposal_id, block, spec=SPEC):
    chain.add_deploy_event(DAO, proposal_id, SENDER, "Deploy", spec, block_number=block)


def test_only_confirmed_events_are_recorded_and_deployed(chain, ledger, emulator, make_watcher):
    deploy_event(chain, 1, block=90)
    deploy_event(chain, 2, block=99)  # 1 confirmation only
    watcher = make_watcher(confirmations=2)
    watcher.poll()
    assert ledger.checkpoint() == 98
    assert ledger.get(1).state is DeploymentState.CREATED
    assert ledger.get(2) is None
    chain.head = 101
    watcher.poll()
    assert ledger.get(2) is not None
    assert len(emulator.request_log()) == 2


def test_replayed_polls_and_restarts_never_create_twice(chain, ledger, emulator, make_watcher):
    for pid in range(1, 6):
        deploy_event(chain, pid, block=50 + pid)
    make_watcher().poll()
    # A restart without checkpoint progress (e.g. --from-block forcing a rescan) replays the logs.
    make_watcher(start_block=0).poll()
    make_watcher().poll()
    assert sorted(r.proposal_id for r in ledger.rows()) == [1, 2, 3, 4, 5]
    assert len(emulator.request_log()) == 5


def test_backfill_pages_through_more_than_a_page_of_events(
    chain, ledger, emulator, standin, make_watcher, caplog
):
    caplog.set_level(logging.INFO, logger="services")
    chain.head = 5_000
    for pid in range(1, 1_201):
        deploy_event(chain, pid, block=10 + pid * 3, spec="{}")  # invalid: rejected, not deployed
    watcher = make_watcher()
    watcher.poll()
    counts = ledger.counts_by_state()
    assert counts[DeploymentState.REJECTED] == 1_200
    assert ledger.checkpoint() == 4_998
    assert standin.stats()["calls"]["getLogs"] <= 3
    assert emulator.request_log() == []
    progress = [r.getMessage() for r in caplog.records if r.getMessage().startswith("backfill:")]
    assert progress[0].startswith("backfill: block ")
    assert progress[-1] == "backfill: caught up at block 4998"


def test_a_poll_that_fits_one_page_logs_no_progress(chain, make_watcher, caplog):
    caplog.set_level(logging.INFO, logger="services")
    deploy_event(chain, 1, block=10)
    make_watcher().poll()
    assert not [r for r in caplog.records if r.getMessage().startswith("backfill:")]


def test_bad_events_are_recorded_with_reasons_and_good_ones_still_deploy(
    chain, ledger, emulator, make_watcher
):
    deploy_event(chain, 1, block=10, spec='{"clusterName": "x"}')
    deploy_event(chain, 2, block=11)
    deploy_event(chain, 3, block=12, spec="\x00 not json")
    make_watcher().poll()
    assert ledger.get(1).state is DeploymentState.REJECTED
    assert "configuration" in ledger.get(1).reason
    assert ledger.get(2).state is DeploymentState.CREATED
    assert ledger.get(3).state is DeploymentState.REJECTED
    assert len(emulator.request_log()) == 1


def test_transient_etherscan_errors_are_retried_without_losing_events(
    chain, ledger, standin, emulator, make_watcher
):
    deploy_event(chain, 1, block=10)
    standin.set_faults(rate_limit_next=2, http_500_next=1, malformed_next=1)
    make_watcher().poll()
    assert ledger.get(1).state is DeploymentState.CREATED
    assert standin.stats()["faults"]


def test_invalid_api_key_is_fatal(make_watcher):
    with pytest.raises(FatalBotError, match="Invalid API Key"):
        make_watcher(api_key="wrong").poll()


def test_once_waits_for_deployments_to_settle(chain, ledger, make_watcher):
    deploy_event(chain, 1, block=10)
    assert make_watcher(once=True).run() == 0
    assert ledger.get(1).state is DeploymentState.DEPLOYED


def test_once_exits_1_when_spheron_cannot_be_reached(chain, ledger, emulator, make_watcher, caplog):
    deploy_event(chain, 1, block=10)
    emulator.set_faults(FaultPlan(error_rate=1.0))
    assert make_watcher(once=True).run() == 1
    assert ledger.get(1).state is not DeploymentState.DEPLOYED
    assert "Spheron could not be reached" in caplog.text


def test_once_exits_1_when_the_log_source_fails(chain, standin, make_watcher):
    deploy_event(chain, 1, block=10)
    standin.set_faults(http_500_probability=1.0)
    assert make_watcher(once=True).run() == 1


def test_metrics_follow_the_poll(chain, make_watcher):
    deploy_event(chain, 1, block=10)
    watcher = make_watcher()
    watcher.poll()
    text = watcher.metrics.render().decode()
    assert "head_block 100.0" in text
    assert "confirmed_block 98.0" in text
    assert "checkpoint_lag_blocks 0.0" in text  # caught up to the confirmed head
    assert 'deployments{state="CREATED"} 1.0' in text
    assert 'service_up{service="etherscan"} 1.0' in text
    assert 'service_up{service="spheron"} 1.0' in text


def test_a_log_index_that_lags_its_head_loses_no_event(chain, standin, ledger, make_watcher):
    """Etherscan reports head 100 but serves logs only up to block 90: events in 91..98 show up
    in later polls, after the checkpoint has passed their blocks."""
    standin.set_faults(log_index_lag_blocks=10)
    deploy_event(chain, 1, block=50)
    deploy_event(chain, 2, block=95)
    watcher = make_watcher(reread_blocks=32)
    watcher.poll()
    assert ledger.checkpoint() == 98
    assert ledger.get(1) is not None and ledger.get(2) is None
    chain.head = 106  # the index catches up with block 96 and beyond
    watcher.poll()
    assert ledger.get(2) is not None
    assert ledger.get(2).state is DeploymentState.CREATED


def test_without_a_trailing_re_read_the_lagging_index_would_lose_the_event(
    chain, standin, ledger, make_watcher
):
    """The same chain read with no re-read window: proof that the window is what saves it."""
    standin.set_faults(log_index_lag_blocks=10)
    deploy_event(chain, 2, block=95)
    watcher = make_watcher(reread_blocks=0)
    watcher.poll()
    chain.head = 106
    watcher.poll()
    assert ledger.get(2) is None and ledger.checkpoint() == 104


def test_an_undecodable_log_is_skipped_and_the_next_ones_recorded(
    chain, standin, ledger, make_watcher
):
    chain.append(
        RawLog(
            address=checksum_address(DAO),
            topics=(deploy_event_topic0(),),  # no proposal id or sender topics
            data="0x",
            block_number=20,
            transaction_hash="0x" + "ee" * 32,
            log_index=0,
            transaction_index=0,
        )
    )
    deploy_event(chain, 7, block=20)
    deploy_event(chain, 8, block=30)
    watcher = make_watcher()
    watcher.poll()
    assert [row.proposal_id for row in ledger.rows()] == [7, 8]
    assert watcher.metrics.registry.get_sample_value("events_rejected_total") == 1


def test_spheron_revoking_the_token_mid_run_stops_the_bot(
    chain, ledger, emulator, make_watcher, spheron_client_factory
):
    deploy_event(chain, 1, block=10)
    target = SpheronTarget(spheron_client_factory(emulator, token="revoked-token"))
    with pytest.raises(FatalBotError, match="Spheron refused the access token"):
        make_watcher(target=target).run()


def test_the_loop_keeps_polling_through_outages_and_waits_between_polls(
    chain, standin, ledger, make_watcher
):
    deploy_event(chain, 1, block=10)
    standin.set_faults(http_500_next=30)
    watcher = make_watcher()
    threading.Timer(1.0, watcher.stop.set).start()
    started = time.monotonic()
    assert watcher.run() == 0
    assert 0.9 < time.monotonic() - started < 3
    assert ledger.get(1) is not None  # the outage passed and the event was recorded
    polls = sum(
        watcher.metrics.registry.get_sample_value("polls_total", {"outcome": outcome})
        for outcome in ("success", "error")
    )
    assert 2 <= polls <= 25  # 0.05 s apart for about a second, not a busy loop


@pytest.mark.parametrize(
    "faults",
    [
        {"http_500_next": 1000},  # back-off between retries
        {"rate_limit_next": 1000},  # rate-limit back-off
        {"daily_limit_next": 1000},  # waiting for the daily quota
    ],
    ids=["outage", "rate-limit", "daily-limit"],
)
def test_a_stop_request_ends_every_wait_within_a_second(chain, standin, make_watcher, faults):
    deploy_event(chain, 1, block=10)
    standin.set_faults(**faults)
    watcher = make_watcher(backoff_s=30)
    done = threading.Event()
    codes = []
    worker = threading.Thread(target=lambda: (codes.append(watcher.run()), done.set()))
    worker.start()
    time.sleep(0.5)
    stopped_at = time.monotonic()
    watcher.stop.set()
    assert done.wait(5)
    assert time.monotonic() - stopped_at < 1.0
    assert codes == [0]


def test_fatal_error_class_is_distinct(standin):
    client = EtherscanClient(
        standin.url.replace("/v2/api", "/api"), API_KEY, CHAIN_ID, calls_per_second=1000
    )
    with pytest.raises(EtherscanFatalError):
        client.block_number()


def test_json_of_each_deployed_spec_is_the_on_chain_one(chain, ledger, make_watcher):
    deploy_event(chain, 4, block=10)
    make_watcher().poll()
    assert json.loads(ledger.get(4).spec_json) == json.loads(SPEC)
    assert Faults  # the stand-in's fault model is importable for the integration tests


# -- replicas on PostgreSQL -----------------------------------------------------------------------


def test_only_the_leader_reads_the_chain_and_a_follower_takes_over_when_it_goes(
    chain, standin, emulator, postgres_url, spheron_client_factory
):
    """Two watchers on one PostgreSQL ledger with real advisory-lock leadership."""
    location = LedgerLocation.parse(postgres_url)
    deploy_event(chain, 1, block=90)
    watchers = []
    for name in ("replica-a", "replica-b"):
        ledger = Ledger(location, chain_id=CHAIN_ID, dao_address=DAO)
        metrics = BotMetrics()
        client = EtherscanClient(standin.url, API_KEY, CHAIN_ID, calls_per_second=1000)
        deployer = Deployer(
            ledger,
            SpheronTarget(spheron_client_factory(emulator)),
            DeployPolicy(),
            metrics,
            DeployerOptions(chain_id=CHAIN_ID, dao_address=DAO, replica_id=name),
            environ={},
            clock=ledger.now,
        )
        leadership = AdvisoryLeadership(location, CHAIN_ID, DAO, metrics, lease_s=5)
        options = WatchOptions(confirmations=2, poll_interval_s=0.05, start_block=0)
        watcher = Watcher(
            EtherscanLogSource(client, DAO, page_size=1000),
            ledger,
            deployer,
            metrics,
            options,
            threading.Event(),
            leadership,
        )
        watchers.append((watcher, ledger, metrics, leadership))
    (first, ledger, first_metrics, first_lead), (second, _, second_metrics, _) = watchers
    first.poll()
    calls = standin.stats()["calls"]
    second.poll()
    assert standin.stats()["calls"] == calls  # the follower never asked Etherscan
    assert first_metrics.role()["role"] == "leader"
    assert second_metrics.role()["role"] == "follower"
    assert ledger.get(1).state is DeploymentState.CREATED
    first_lead.release()  # the leader goes
    deploy_event(chain, 2, block=99)
    chain.head = 101
    second.poll()
    assert second_metrics.role()["role"] == "leader"
    assert ledger.get(2) is not None
    assert (
        second_metrics.registry.get_sample_value("leader_changes_total", {"change": "acquired"})
        == 1
    )
    for _, opened, _, lead in watchers:
        lead.release()
        opened.close()


# -- what the loop tells the operator, and what each poll reads ------------------------------------


def watcher_messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "services.bot.watcher"]


def outage_error(watcher, service="etherscan") -> str:
    return watcher.metrics.outages(time.time())[service]["last_error"]


def polls(watcher, outcome: str) -> float:
    return watcher.metrics.registry.get_sample_value("polls_total", {"outcome": outcome})


def wait_until_deployed(ledger, proposal_id: int) -> None:
    wait_until(
        lambda: (row := ledger.get(proposal_id)) is not None and row.state is S.DEPLOYED,
        timeout_s=20,
        what=f"proposal {proposal_id} deployed",
    )


def interrupted_drift_checks(caplog) -> list[str]:
    return [m for m in watcher_messages(caplog) if m.startswith("drift check interrupted: ")]


def run_in_thread(watcher) -> tuple[threading.Thread, list[int]]:
    codes: list[int] = []
    worker = threading.Thread(target=lambda: codes.append(watcher.run()), daemon=True)
    worker.start()
    return worker, codes


@contextmanager
def drift_checking_bot(
    chain, ledger, emulator, spheron_client_factory, make_watcher
) -> Iterator[tuple[list[float], SpheronTarget, list[int]]]:
    """The bot's loop in a thread, with proposal 1 deployed and drift checked every hour of the
    clock `now[0]`: `(now, target, exit codes)`; the codes are in once the block has ended."""
    now = [0.0]
    deploy_event(chain, 1, block=10)
    spheron = SpheronTarget(spheron_client_factory(emulator))
    watcher = make_watcher(drift_target=spheron, drift_clock=lambda: now[0])
    worker, codes = run_in_thread(watcher)
    try:
        wait_until_deployed(ledger, 1)
        yield now, spheron, codes
    finally:
        watcher.stop.set()
        worker.join(5)


def test_recorded_events_are_logged_by_proposal_and_block_range(chain, make_watcher, caplog):
    caplog.set_level(logging.INFO, logger="services")
    deploy_event(chain, 1, block=10)
    deploy_event(chain, 2, block=20)
    watcher = make_watcher()
    watcher.poll()
    deploy_event(chain, 3, block=99)
    chain.head = 103
    watcher.poll()
    recorded = [m for m in watcher_messages(caplog) if m.startswith("recorded")]
    assert recorded == [
        "recorded DeployEvent for proposals 1, 2 (blocks 0-98)",
        "recorded DeployEvent for proposal 3 (blocks 99-101)",
    ]


def test_each_poll_reads_from_the_block_after_the_checkpoint(chain, standin, ledger, make_watcher):
    """An event in the block right after the checkpoint is found, and no checkpointed block is
    read again (counted in Etherscan calls: with one block per query, a range of n blocks costs
    2n - 1 calls)."""
    watcher = make_watcher()
    watcher.poll()
    assert ledger.checkpoint() == 98
    deploy_event(chain, 5, block=99)
    chain.head = 104  # confirmed: 102
    standin.set_faults(query_timeout_over_blocks=1)
    before = standin.stats()["calls"]["getLogs"]
    watcher.poll()
    assert ledger.get(5) is not None and ledger.checkpoint() == 102
    assert standin.stats()["calls"]["getLogs"] - before == 2 * 4 - 1  # blocks 99..102


def test_a_confirmed_head_at_block_zero_is_checkpointed_as_zero(chain, ledger, make_watcher):
    chain.head = 2
    watcher = make_watcher(confirmations=2)
    watcher.poll()
    assert ledger.checkpoint() == 0
    assert watcher.metrics.checkpoint == 0


def test_an_undecodable_log_is_logged_with_where_it_is_and_why(chain, make_watcher, caplog):
    bad = RawLog(
        address=checksum_address(DAO),
        topics=(deploy_event_topic0(),),
        data="0x",
        block_number=20,
        transaction_hash="0x" + "ee" * 32,
        log_index=3,
        transaction_index=0,
    )
    chain.append(bad)
    with pytest.raises(EventDecodeError) as why:
        decode_deploy_event(bad)
    make_watcher().poll()
    assert f"skipping undecodable log 0x{'ee' * 32}#3 in block 20: {why.value}" in (
        watcher_messages(caplog)
    )


def test_polls_are_counted_by_outcome(chain, standin, make_watcher):
    watcher = make_watcher()
    standin.set_faults(http_500_next=7)  # the first call and all six retries
    with pytest.raises(EtherscanError):
        watcher.poll()
    assert (polls(watcher, "error"), polls(watcher, "success")) == (1, 0)
    assert watcher.metrics.last_successful_poll is None
    watcher.poll()
    assert (polls(watcher, "error"), polls(watcher, "success")) == (1, 1)
    assert watcher.metrics.last_successful_poll is not None


def test_a_failing_head_is_an_outage_with_its_error_until_a_poll_reaches_it(
    chain, standin, make_watcher
):
    watcher = make_watcher()
    watcher.poll()  # caught up: the next poll has nothing to read
    standin.set_faults(http_500_next=7)
    with pytest.raises(EtherscanError) as failure:
        watcher.poll()
    assert outage_error(watcher) == " ".join(str(failure.value).split())
    assert "500" in outage_error(watcher)
    watcher.poll()
    assert watcher.metrics.outages(time.time()) == {}
    assert watcher.metrics.registry.get_sample_value("service_up", {"service": "etherscan"}) == 1


def test_failing_log_queries_are_an_outage_with_their_error(chain, standin, make_watcher):
    standin.set_faults(query_timeout_over_blocks=0)  # every getLogs times out, even one block
    watcher = make_watcher()
    with pytest.raises(EtherscanError) as failure:
        watcher.poll()
    assert outage_error(watcher) == " ".join(str(failure.value).split())
    assert "query timed out" in outage_error(watcher)
    assert watcher.metrics.registry.get_sample_value("service_up", {"service": "etherscan"}) == 0


def test_a_json_rpc_node_that_is_down_is_counted_as_unavailable(ledger, emulator, make_watcher):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    node = Web3.HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 2})
    watcher = make_watcher()
    watcher._source = RpcLogSource(node.make_request, DAO)
    with pytest.raises(LogSourceUnavailable):
        watcher.poll()
    errors = watcher.metrics.registry.get_sample_value(
        "api_errors_total", {"service": "rpc", "kind": "unavailable"}
    )
    assert errors == 1
    assert outage_error(watcher, "rpc").startswith("eth_blockNumber failed: ")


class SilentlyTimingOut(EtherscanLogSource):
    """The real source, whose head read times out with an empty message (as socket timeouts can)."""

    def head(self) -> int:
        raise TimeoutError


def test_an_error_without_a_message_is_named_by_its_type(chain, make_watcher, caplog):
    watcher = make_watcher(once=True)
    watcher._source = SilentlyTimingOut(watcher._source._client, DAO, page_size=1000)
    assert watcher.run() == 1
    assert outage_error(watcher) == "TimeoutError"
    assert "--once: poll failed: TimeoutError" in watcher_messages(caplog)


def test_a_failed_poll_is_logged_with_its_error_and_the_wait(chain, standin, make_watcher, caplog):
    caplog.set_level(logging.DEBUG, logger="services.bot.watcher")
    standin.set_faults(http_500_next=7)
    watcher = make_watcher()
    worker, codes = run_in_thread(watcher)
    wait_until(lambda: polls(watcher, "success") >= 1, timeout_s=10, what="a successful poll")
    watcher.stop.set()
    worker.join(5)
    error = " ".join(outage_error_text(caplog).split())
    assert f"poll failed, retrying in {0.05:.1f} s: {error}" in watcher_messages(caplog)
    assert codes == [0] and watcher_messages(caplog)[-1] == "stopped"


def outage_error_text(caplog) -> str:
    """The error of the outage as the metrics logged it when it began."""
    [started] = [
        r.args[1]
        for r in caplog.records
        if r.name == "services.bot.metrics" and r.getMessage().endswith("(see /healthz)")
    ]
    return started


def test_a_stop_during_a_backfill_ends_the_run_between_batches(
    chain, standin, ledger, make_watcher, caplog
):
    caplog.set_level(logging.INFO, logger="services")
    standin.set_faults(query_timeout_over_blocks=1, slow_probability=1.0, slow_s=0.05)
    watcher = make_watcher()
    worker, codes = run_in_thread(watcher)
    wait_until(lambda: (ledger.checkpoint() or 0) >= 5, timeout_s=20, what="a few batches")
    watcher.stop.set()
    worker.join(5)
    assert codes == [0]
    assert ledger.checkpoint() < 98  # it stopped part-way, after a recorded batch
    assert watcher_messages(caplog).count("stopped") == 1


def test_the_daily_limit_holds_the_next_poll_until_the_quota_returns(
    chain, standin, make_watcher, caplog
):
    standin.set_faults(daily_limit_next=1000)
    watcher = make_watcher()
    worker, codes = run_in_thread(watcher)
    time.sleep(0.6)  # a dozen poll intervals
    watcher.stop.set()
    worker.join(5)
    assert codes == [0]
    assert standin.stats()["calls"]["eth_blockNumber"] == 1
    now = datetime.now(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    [warning] = [m for m in watcher_messages(caplog) if m.startswith("Etherscan daily limit")]
    seconds = int(re.fullmatch(r"Etherscan daily limit reached; next poll in (\d+) s", warning)[1])
    assert abs(seconds - (midnight - now).total_seconds()) < 5


def test_a_stop_while_once_follows_a_deployment_exits_0(
    chain, ledger, spheron_emulator_factory, spheron_client_factory, make_watcher
):
    slow = spheron_emulator_factory(queued_s=3600)
    deploy_event(chain, 1, block=10)
    watcher = make_watcher(once=True, target=SpheronTarget(spheron_client_factory(slow)))
    worker, codes = run_in_thread(watcher)
    wait_until(
        lambda: ledger.get(1) is not None and ledger.get(1).state is S.CREATED,
        timeout_s=10,
        what="the instance created",
    )
    watcher.stop.set()
    worker.join(5)
    assert codes == [0]


def test_once_says_why_it_exits_1(chain, standin, emulator, make_watcher, caplog):
    deploy_event(chain, 1, block=10)
    emulator.set_faults(FaultPlan(error_rate=1.0))
    assert make_watcher(once=True).run() == 1
    assert watcher_messages(caplog)[-1] == (
        "--once: Spheron could not be reached; the next run resumes"
    )
    standin.set_faults(http_500_probability=1.0)
    watcher = make_watcher(once=True)
    assert watcher.run() == 1
    assert watcher_messages(caplog)[-1] == f"--once: poll failed: {outage_error(watcher)}"


def test_backfill_progress_reports_the_share_of_blocks_done(chain, standin, make_watcher, caplog):
    """Blocks 10..14, one query over more than three blocks times out: the first batch is
    10..12 after two queries, 60 % of the range."""
    caplog.set_level(logging.INFO, logger="services")
    chain.head = 16
    standin.set_faults(query_timeout_over_blocks=3)
    make_watcher(start_block=10).poll()
    progress = [m for m in watcher_messages(caplog) if m.startswith("backfill:")]
    assert progress == [
        "backfill: block 12 of 14 (60%), 2 log queries",
        "backfill: caught up at block 14",
    ]


def test_backfill_progress_is_logged_at_most_every_two_seconds(
    chain, standin, make_watcher, caplog
):
    caplog.set_level(logging.INFO, logger="services")
    chain.head = 41
    standin.set_faults(query_timeout_over_blocks=1)  # 40 one-block batches
    started = time.monotonic()
    make_watcher().poll()
    elapsed = time.monotonic() - started
    lines = [m for m in watcher_messages(caplog) if m.startswith("backfill: block")]
    assert 1 <= len(lines) <= 1 + elapsed / PROGRESS_EVERY_S


def test_fatal_errors_are_counted_by_service(chain, emulator, make_watcher, spheron_client_factory):
    refused_key = make_watcher(api_key="wrong")
    with pytest.raises(FatalBotError):
        refused_key.poll()
    deploy_event(chain, 1, block=10)
    revoked = SpheronTarget(spheron_client_factory(emulator, token="revoked-token"))
    revoked_token = make_watcher(target=revoked)
    with pytest.raises(FatalBotError):
        revoked_token.poll()
    for watcher, service, kind in (
        (refused_key, "etherscan", "fatal"),
        (revoked_token, "spheron", "auth"),
    ):
        labels = {"service": service, "kind": kind}
        assert watcher.metrics.registry.get_sample_value("api_errors_total", labels) == 1


def test_new_events_are_counted_and_a_poll_that_reads_again_ends_the_outage(
    chain, standin, make_watcher
):
    deploy_event(chain, 1, block=10)
    deploy_event(chain, 2, block=11)
    standin.set_faults(query_timeout_over_blocks=0)
    watcher = make_watcher()
    with pytest.raises(EtherscanError):
        watcher.poll()
    standin.set_faults(query_timeout_over_blocks=None)
    watcher.poll()
    assert watcher.metrics.registry.get_sample_value("events_seen_total") == 2
    assert watcher.metrics.outages(time.time()) == {}
    assert watcher.metrics.registry.get_sample_value("service_up", {"service": "etherscan"}) == 1


def test_a_start_block_beyond_the_confirmed_head_reads_nothing_and_ends_an_outage(
    chain, standin, ledger, make_watcher
):
    watcher = make_watcher(start_block=500)
    standin.set_faults(http_500_next=7)
    with pytest.raises(EtherscanError):
        watcher.poll()
    watcher.poll()
    assert standin.stats()["calls"].get("getLogs", 0) == 0
    assert ledger.checkpoint() is None
    assert watcher.metrics.outages(time.time()) == {}
    assert watcher.metrics.registry.get_sample_value("service_up", {"service": "etherscan"}) == 1


def test_the_loop_checks_drift_when_due_and_an_outage_only_interrupts_the_check(
    chain, ledger, emulator, spheron_client_factory, make_watcher, caplog
):
    caplog.set_level(logging.DEBUG, logger="services.bot.watcher")
    bot = drift_checking_bot(chain, ledger, emulator, spheron_client_factory, make_watcher)
    with bot as (now, spheron, codes):
        instance = ledger.get(1).instance_id
        spheron.update(
            instance,
            parse_spec(SPEC.replace('"tag":"1.27"', '"tag":"9.9"')),
            secret_values={},
            request_key="outside-the-dao",
            on_sending=lambda: None,
        )
        time.sleep(0.3)  # several polls, and no check: the last one was less than an hour ago
        assert ledger.get(1).drift is None
        now[0] += 3600
        wait_until(lambda: ledger.get(1).drift is not None, timeout_s=10, what="the drift")
        assert ledger.get(1).drift["kind"] == "changed"
        emulator.set_faults(FaultPlan(error_rate=1.0))
        now[0] += 3600
        wait_until(
            lambda: interrupted_drift_checks(caplog), timeout_s=10, what="the interrupted check"
        )
    [interrupted] = interrupted_drift_checks(caplog)
    assert "503" in interrupted and "%s" not in interrupted
    assert codes == [0]


def test_a_token_spheron_refuses_during_a_drift_check_stops_the_bot(
    ledger, emulator, spheron_client_factory, make_watcher
):
    revoked = SpheronTarget(spheron_client_factory(emulator, token="revoked-token"))
    deployed = NewEvent(1, SENDER, SPEC, "0x" + spec_hash(SPEC).hex(), 5, "0x" + "ee" * 32, 0)
    ledger.record_batch([deployed], 9)
    ledger.mark_creating(1, "dao-1", in_flight_until=0)
    ledger.mark_created(1, "instance-1", "order-1", at=0)
    ledger.mark_deployed(1, "Deployed")
    watcher = make_watcher(drift_target=revoked)
    stopped: list[FatalBotError] = []

    def run() -> None:
        try:
            watcher.run()
        except FatalBotError as error:
            stopped.append(error)

    worker = threading.Thread(target=run, daemon=True)  # bounded, whatever the loop does
    worker.start()
    worker.join(10)
    watcher.stop.set()
    worker.join(5)
    assert len(stopped) == 1
    assert str(stopped[0]).startswith("Spheron refused the access token: ")


class TestALedgerLockedByAnotherWriter:
    """SQLite refuses a write once another writer has held the file past the busy timeout: the
    ledger is unavailable (here after 50 ms)."""

    @pytest.fixture
    def ledger(self, tmp_path):
        path = tmp_path / "ledger.sqlite3"
        with Ledger(path, chain_id=CHAIN_ID, dao_address=DAO, busy_timeout_ms=50) as opened:
            yield opened

    def test_is_an_outage_of_the_ledger_until_a_poll_writes_again(
        self, chain, ledger, make_watcher
    ):
        deploy_event(chain, 1, block=10)
        watcher = make_watcher()
        other = raw_engine(ledger.path)
        with other.connect() as locking:
            locking.exec_driver_sql("BEGIN IMMEDIATE")
            with pytest.raises(LedgerUnavailableError) as refused:
                watcher.poll()
            locking.exec_driver_sql("ROLLBACK")
        other.dispose()
        outage = watcher.metrics.outages(time.time())["ledger"]
        assert outage["last_error"] == " ".join(str(refused.value).split())
        assert "database is locked" in outage["last_error"]
        assert ledger.get(1) is None and polls(watcher, "error") == 1
        watcher.poll()
        assert ledger.get(1) is not None
        assert watcher.metrics.outages(time.time()) == {}
        assert watcher.metrics.registry.get_sample_value("service_up", {"service": "ledger"}) == 1

    def test_only_interrupts_the_drift_check_which_the_next_one_repeats(
        self, chain, ledger, emulator, spheron_client_factory, make_watcher, caplog
    ):
        caplog.set_level(logging.DEBUG, logger="services.bot.watcher")
        bot = drift_checking_bot(chain, ledger, emulator, spheron_client_factory, make_watcher)
        with bot as (now, _, codes):
            emulator.change_outside_the_dao(ledger.get(1).instance_id, tag="9.9")
            other = raw_engine(ledger.path)
            with other.connect() as locking:
                locking.exec_driver_sql("BEGIN IMMEDIATE")  # another writer holds the file
                now[0] += 3600
                wait_until(
                    lambda: interrupted_drift_checks(caplog),
                    timeout_s=10,
                    what="the interrupted check",
                )
                locking.exec_driver_sql("ROLLBACK")
            other.dispose()
            assert ledger.get(1).drift is None  # nothing was written
            now[0] += 3600
            wait_until(lambda: ledger.get(1).drift is not None, timeout_s=10, what="the drift")
        assert ledger.get(1).drift["differences"] == ["tag: voted 1.27, running 9.9"]
        [interrupted] = interrupted_drift_checks(caplog)
        assert interrupted.startswith(f"drift check interrupted: ledger database {ledger.path} ")
        assert "locked" in interrupted
        assert codes == [0]
