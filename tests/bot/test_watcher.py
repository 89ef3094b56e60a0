"""Watcher: confirmed DeployEvents from the Etherscan stand-in, through the ledger, to the Spheron
emulator — in process, with real HTTP servers on loopback."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import pytest

from services.bot.deployer import Deployer, DeployerOptions
from services.bot.leadership import AdvisoryLeadership
from services.bot.ledger import DeploymentState, Ledger, LedgerLocation
from services.bot.metrics import BotMetrics
from services.bot.watcher import FatalBotError, Watcher, WatchOptions
from services.chain.etherscan import EtherscanClient, EtherscanFatalError
from services.chain.events import RawLog, checksum_address, deploy_event_topic0
from services.chain.log_sources import EtherscanLogSource
from services.spec.model import canonical_json, parse_spec
from services.spec.policy import DeployPolicy
from services.targets.spheron import SpheronTarget
from testbed.emulators.etherscan import EtherscanStandIn, Faults, GeneratedLogs
from testbed.emulators.spheron import FaultPlan

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CHAIN_ID = 11155111
DAO = "0x" + "ab" * 20
SENDER = "0x" + "cd" * 20
API_KEY = "standin-key-8d7f"
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
        watcher = Watcher(source, ledger, deployer, metrics, options, stop)
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
