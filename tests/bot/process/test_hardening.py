"""`ape run watcher` as a process against stand-ins that misbehave the hard way: a create still in
flight across `kill -9`, slow answers that complete after the client gave up, list endpoints that
ignore paging, stop signals in every waiting state, a second bot on the same ledger, credentials
in URLs, empty settings, and one exit code for configuration errors."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from services.bot.ledger import DeploymentState, default_ledger_path, read_rows
from services.common import exit_codes
from testbed.bot_process import WatcherProcess
from testbed.emulators.etherscan import EtherscanStandIn, GeneratedLogs
from testbed.emulators.spheron import CREATE_PATH, FaultPlan, SpheronEmulator
from tests.bot.process.conftest import (
    DAO,
    ETHERSCAN_KEY,
    SEPOLIA_CHAIN_ID,
    SPHERON_TOKEN,
    wait_for,
)
from tests.bot.process.test_faults_and_kills import (
    WATCH_ARGS,
    add_events,
    example,
    instances_by_name,
)

#: The most a stopping bot may take, with room for a loaded machine (the bot's own grace is 1.5 s).
STOP_BUDGET_S = 2.5


def deployed(db: str, count: int) -> Callable[[], bool]:
    def check() -> bool:
        rows = read_rows(db)
        return len(rows) == count and all(r.state is DeploymentState.DEPLOYED for r in rows)

    return check


def creates_arrived(spheron: SpheronEmulator) -> int:
    return len(spheron.request_log())


def stop_time(bot: WatcherProcess) -> tuple[float, int | None]:
    started = time.monotonic()
    code = bot.stop()
    return time.monotonic() - started, code


def log_has(bot: WatcherProcess, text: str) -> Callable[[], bool]:
    return lambda: bot.log_path.exists() and text in bot.log_path.read_text(errors="replace")


# -- exactly once with creates in flight ----------------------------------------------------------


def test_a_create_in_flight_when_the_bot_is_killed_is_not_created_again(
    generated_chain, spheron, start_bot, bot_env
):
    """Spheron holds the create for 8 s; the bot is killed while it waits and restarted at once
    (what systemd does). The restarted bot must wait for that request, then adopt its instance."""
    spheron.set_faults(FaultPlan(delay_s=8, delay_next=1, path=CREATE_PATH))
    add_events(generated_chain, [1], first_block=20)
    env = dict(bot_env, DEPLOYBOT_INFLIGHT_MARGIN="10")  # window 2 s + 10 s > the 8 s hold
    bot = start_bot(*WATCH_ARGS, env=env)
    wait_for(lambda: creates_arrived(spheron) == 1, timeout=60, what="the create to arrive")
    bot.kill()
    bot = start_bot(*WATCH_ARGS, env=env)
    wait_for(deployed(env["DEPLOYBOT_DB"], 1), timeout=90, what="proposal 1 deployed")
    assert bot.stop() == 0
    assert list(instances_by_name(spheron).values()) == [1]
    assert creates_arrived(spheron) == 1
    (row,) = read_rows(env["DEPLOYBOT_DB"])
    assert row.attempts == 1


def test_a_slow_create_that_completes_after_the_client_gave_up_is_adopted(
    generated_chain, spheron, start_bot, bot_env
):
    spheron.set_faults(FaultPlan(delay_s=4, delay_next=1, path=CREATE_PATH))
    add_events(generated_chain, [1, 2], first_block=20)
    env = dict(bot_env, DEPLOYBOT_INFLIGHT_MARGIN="6")  # the client gives up after 2 s
    bot = start_bot(*WATCH_ARGS, env=env)
    wait_for(deployed(env["DEPLOYBOT_DB"], 2), timeout=90, what="2 deployments")
    assert bot.stop() == 0
    assert sorted(instances_by_name(spheron).values()) == [1, 1]
    assert creates_arrived(spheron) == 2
    assert "the create may have reached Spheron" in bot.log_path.read_text()


def test_a_spheron_list_that_ignores_paging_never_hangs_the_bot(
    generated_chain, spheron, start_bot, bot_env
):
    spheron.set_faults(FaultPlan(paging="ignore"))
    add_events(generated_chain, range(1, 13), first_block=20)
    bot = start_bot(*WATCH_ARGS)
    wait_for(deployed(bot_env["DEPLOYBOT_DB"], 12), timeout=90, what="12 deployments")
    duration, code = stop_time(bot)
    assert code == 0 and duration < STOP_BUDGET_S
    assert max(instances_by_name(spheron).values()) == 1


# -- stopping promptly ----------------------------------------------------------------------------


def test_sigterm_during_an_etherscan_outage_stops_within_two_seconds(
    generated_chain, etherscan_standin, start_bot
):
    etherscan_standin.set_faults(http_500_probability=1.0)
    bot = start_bot(*WATCH_ARGS)
    # Three failed calls: the client is in its back-off (1 s, 2 s, 4 s, ... with jitter), which
    # is where an outage keeps it; the outage is logged only once every retry has failed.
    wait_for(lambda: len(etherscan_standin.arrival_times()) >= 3, timeout=60, what="the outage")
    time.sleep(1.0)  # inside the 4 s back-off
    duration, code = stop_time(bot)
    assert code == 0 and duration < STOP_BUDGET_S


def test_sigterm_while_waiting_for_the_daily_quota_stops_within_two_seconds(
    generated_chain, etherscan_standin, start_bot
):
    etherscan_standin.set_faults(daily_limit_next=10_000)
    bot = start_bot(*WATCH_ARGS)
    wait_for(log_has(bot, "daily limit reached"), timeout=60, what="the daily-limit wait")
    duration, code = stop_time(bot)
    assert code == 0 and duration < STOP_BUDGET_S


def test_sigterm_with_a_create_hanging_in_flight_stops_within_two_seconds(
    generated_chain, spheron, start_bot, bot_env
):
    spheron.set_faults(FaultPlan(delay_s=60, delay_next=1, path=CREATE_PATH))
    add_events(generated_chain, [1], first_block=20)
    env = dict(bot_env, SPHERON_TIMEOUT="30")
    bot = start_bot(*WATCH_ARGS, env=env)
    wait_for(lambda: creates_arrived(spheron) == 1, timeout=60, what="the create to arrive")
    duration, code = stop_time(bot)
    assert code == 0 and duration < STOP_BUDGET_S
    (row,) = read_rows(env["DEPLOYBOT_DB"])
    assert row.state is DeploymentState.CREATING and row.in_flight_until is not None


def test_sigterm_while_following_a_deployment_stops_within_two_seconds(
    generated_chain, start_bot, bot_env, tmp_path
):
    with SpheronEmulator(token=SPHERON_TOKEN, queued_s=3600) as slow:
        add_events(generated_chain, [1], first_block=20)
        env = dict(bot_env, SPHERON_API_URL=slow.url)
        bot = start_bot(*WATCH_ARGS, env=env)
        wait_for(
            lambda: [r.state for r in read_rows(env["DEPLOYBOT_DB"])] == [DeploymentState.CREATED],
            timeout=60,
            what="the deployment to be followed",
        )
        duration, code = stop_time(bot)
    assert code == 0 and duration < STOP_BUDGET_S


def test_a_second_signal_exits_at_once(generated_chain, spheron, start_bot, bot_env):
    spheron.set_faults(FaultPlan(delay_s=60, delay_next=1, path=CREATE_PATH))
    add_events(generated_chain, [1], first_block=20)
    bot = start_bot(*WATCH_ARGS, env=dict(bot_env, SPHERON_TIMEOUT="30"))
    wait_for(lambda: creates_arrived(spheron) == 1, timeout=60, what="the create to arrive")
    bot.signal_twice()
    assert bot.wait(2) == exit_codes.INTERRUPTED


# -- one bot per ledger, configuration errors ------------------------------------------------------


def test_a_second_bot_on_the_same_ledger_exits_at_once_without_calling_anything(
    generated_chain, start_bot, bot_env
):
    first = start_bot(*WATCH_ARGS)
    first.wait_until_polling(Path(bot_env["DEPLOYBOT_DB"]), timeout_s=60)
    with (
        EtherscanStandIn(
            api_key=ETHERSCAN_KEY, chain_id=SEPOLIA_CHAIN_ID, log_source=GeneratedLogs()
        ) as other_scan,
        SpheronEmulator(token=SPHERON_TOKEN) as other_spheron,
    ):
        env = dict(bot_env, ETHERSCAN_API_URL=other_scan.url, SPHERON_API_URL=other_spheron.url)
        second = start_bot(*WATCH_ARGS, env=env)
        assert second.wait(60) == exit_codes.CONFIG
        assert other_scan.stats()["calls"] == {}
        assert other_spheron.request_log(all_requests=True) == []
    last = second.log_path.read_text().strip().splitlines()[-1]
    assert last == f"error: another watcher is already using the ledger {bot_env['DEPLOYBOT_DB']}"
    assert first.running


def test_a_missing_setting_exits_with_the_configuration_code(start_bot, bot_env):
    env = dict(bot_env)
    del env["ETHERSCAN_API_KEY"]
    bot = start_bot(*WATCH_ARGS, env=env)
    assert bot.wait(60) == exit_codes.CONFIG == 78
    assert bot.log_path.read_text().strip().splitlines()[-1] == (
        "error: ETHERSCAN_API_KEY is not set: the etherscan source needs an API key"
    )


def test_a_refused_spheron_token_exits_with_the_configuration_code(start_bot, bot_env):
    bot = start_bot(*WATCH_ARGS, env=dict(bot_env, SPHERON_ACCESS_TOKEN="wrong-token-123"))
    assert bot.wait(60) == exit_codes.CONFIG
    text = bot.log_path.read_text()
    assert text.strip().splitlines()[-1].startswith("error: SPHERON_ACCESS_TOKEN was refused")
    assert "wrong-token-123" not in text


def test_an_empty_setting_never_overrides_a_default(generated_chain, start_bot, bot_env, tmp_path):
    """`DEPLOYBOT_DB=` (as `docker run --env-file .env` passes it) keeps the default ledger
    location under the bot's home, which the container image puts on its volume."""
    add_events(generated_chain, [1], first_block=20)
    home = tmp_path / "home"
    env = dict(bot_env, DEPLOYBOT_DB="", DEPLOYBOT_POLICY="", HOME=str(home))
    bot = start_bot(*WATCH_ARGS, "--once", env=env)
    assert bot.wait(120) == 0, bot.log_tail()
    expected = default_ledger_path(SEPOLIA_CHAIN_ID, DAO, base_dir=home / ".spheron-dao-deploy")
    assert [row.proposal_id for row in read_rows(expected)] == [1]


# -- secrets ---------------------------------------------------------------------------------------


def test_the_infura_key_of_an_rpc_url_never_reaches_the_output(start_bot, bot_env):
    """`--source rpc` on Sepolia connects through Infura; its errors carry `…/v3/<key>`."""
    key = "0123456789abcdef0123456789abcdef"
    env = dict(bot_env, WEB3_INFURA_PROJECT_ID=key)
    bot = start_bot(
        "--network", "ethereum:sepolia", "--source", "rpc", "--poll-interval", "0.2", env=env
    )
    try:
        wait_for(
            lambda: not bot.running or log_has(bot, "unreachable")(),
            timeout=60,
            what="an RPC failure",
        )
        time.sleep(1)
    finally:
        bot.stop()
    text = bot.log_path.read_text()
    assert key not in text
    assert "infura" in text.lower() or "error" in text.lower()


# -- health ----------------------------------------------------------------------------------------


def test_health_says_when_deployments_are_blocked_by_a_spheron_outage(
    generated_chain, spheron, start_bot, bot_env
):
    add_events(generated_chain, [1], first_block=20)
    spheron.set_faults(FaultPlan(error_rate=1.0, path="/v1/cluster"))
    bot = start_bot(*WATCH_ARGS, "--status-port", "0")
    wait_for(log_has(bot, "status on http"), timeout=60, what="the status server")
    url = re.search(r"status on (http://\S+) ", bot.log_path.read_text()).group(1)
    wait_for(
        lambda: requests.get(f"{url}/healthz", timeout=5).json().get("outages", {}).get("spheron"),
        timeout=60,
        what="the Spheron outage in /healthz",
    )
    body = requests.get(f"{url}/healthz", timeout=5).json()
    assert body["status"] == "degraded" and body["deployments_blocked"] is False
    metrics = requests.get(f"{url}/metrics", timeout=5).text
    assert 'service_up{service="spheron"} 0.0' in metrics
    spheron.set_faults(FaultPlan())
    wait_for(deployed(bot_env["DEPLOYBOT_DB"], 1), timeout=60, what="the deployment")
    assert "Spheron API reachable again" in bot.log_path.read_text()
    assert bot.stop() == 0
    assert Counter(instances_by_name(spheron).values()) == Counter({1: 1})


@pytest.fixture
def etherscan_lagging(etherscan_standin):
    etherscan_standin.set_faults(log_index_lag_blocks=6)
    return etherscan_standin


def test_an_etherscan_whose_log_index_lags_its_head_loses_no_event(
    generated_chain, etherscan_lagging, spheron, start_bot, bot_env
):
    bot = start_bot(*WATCH_ARGS)
    bot.wait_until_polling(Path(bot_env["DEPLOYBOT_DB"]), timeout_s=60)
    for pid in range(1, 6):  # each event lands near the head, where the index lags
        generated_chain.add_deploy_event(
            DAO, pid, "0x" + "a1" * 20, "Deploy", example("web-service.json", f"c{pid}"),
            block_number=generated_chain.head + 1,
        )  # fmt: skip
        generated_chain.head += 3
        time.sleep(0.5)
    generated_chain.head += 10  # the index catches up
    wait_for(deployed(bot_env["DEPLOYBOT_DB"], 5), timeout=90, what="5 deployments")
    assert bot.stop() == 0
    assert sorted(r.proposal_id for r in read_rows(bot_env["DEPLOYBOT_DB"])) == [1, 2, 3, 4, 5]
