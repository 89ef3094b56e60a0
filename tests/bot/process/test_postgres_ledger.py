"""`ape run watcher` with its ledger on PostgreSQL (a real server started for the session):
deploying, refusing bad URLs and credentials with the configuration exit code, never printing a
password."""

from __future__ import annotations

import pytest

from services.common import exit_codes
from testbed.postgres import PostgresServer
from tests.bot.process.conftest import wait_for
from tests.bot.process.test_faults_and_kills import WATCH_ARGS, add_events, instances_by_name
from tests.bot.process.test_hardening import deployed


@pytest.fixture
def pg_env(bot_env, postgres_server: PostgresServer) -> dict[str, str]:
    """The bot's environment with a new PostgreSQL database as its ledger."""
    return dict(bot_env, DEPLOYBOT_DB=postgres_server.create_database())


def test_a_bot_on_postgresql_deploys_each_proposal_once(
    generated_chain, spheron, start_bot, pg_env
):
    add_events(generated_chain, [1, 2, 3], first_block=20)
    bot = start_bot(*WATCH_ARGS, env=pg_env)
    bot.wait_until_polling(pg_env["DEPLOYBOT_DB"], timeout_s=60)
    wait_for(deployed(pg_env["DEPLOYBOT_DB"], 3), timeout=60, what="3 deployments")
    assert bot.stop() == 0
    assert sorted(instances_by_name(spheron).values()) == [1, 1, 1]
    assert "ledger postgresql://postgres@127.0.0.1" in bot.log_path.read_text()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://deploybot:{password}@127.0.0.1:{port}/{db}", "password authentication"),
        ("postgresql://deploybot:{password}@127.0.0.1:{port}/nosuchdb", "password authentication"),
        ("postgresql://deploybot:{password}@127.0.0.1:port/{db}", "not a valid PostgreSQL URL"),
        ("mysql://deploybot:{password}@127.0.0.1:{port}/{db}", "unsupported ledger URL scheme"),
    ],
    ids=["wrong-password", "wrong-database", "bad-port", "other-scheme"],
)
def test_a_wrong_ledger_url_or_password_exits_78_with_one_line(
    start_bot, bot_env, postgres_server: PostgresServer, url, expected
):
    password = "wrong-pass-Hq72"
    db = postgres_server.create_database().rsplit("/", 1)[1]
    env = dict(
        bot_env,
        DEPLOYBOT_DB=url.format(password=password, port=postgres_server.port, db=db),
    )
    bot = start_bot(*WATCH_ARGS, env=env)
    assert bot.wait(60) == exit_codes.CONFIG
    text = bot.log_path.read_text()
    last = text.strip().splitlines()[-1]
    assert last.startswith("error: ") and expected in last, text
    assert password not in text
