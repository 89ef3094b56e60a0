"""`ape run watcher` against a real anvil chain: a reorg never deploys the orphaned event, and the
RPC and Etherscan sources read the same events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.bot.ledger import DeploymentState, read_rows
from services.spec.model import canonical_json, parse_spec
from services.spec.proposal import canonical_proposal_json, parse_proposal
from testbed.anvil import Anvil
from testbed.emulators.etherscan import EtherscanStandIn, RpcLogs
from tests.bot.process.conftest import ETHERSCAN_KEY, wait_for
from tests.bot.process.dao_chain import DaoChain

SPEC = canonical_json(
    parse_spec((Path(__file__).resolve().parents[3] / "examples/web-service.json").read_text())
)


@pytest.fixture
def anvil():
    with Anvil(chain_id=1337) as node:
        yield node


@pytest.fixture
def dao_chain(anvil) -> DaoChain:
    return DaoChain.deploy(anvil)


def creates_for(spheron, proposal_id: int) -> list[dict]:
    return [
        entry
        for entry in spheron.request_log()
        if entry["body"]["instanceName"].endswith(f"-{proposal_id}")
    ]


def test_reorged_deploy_event_is_never_deployed(anvil, dao_chain, spheron, start_bot, bot_env):
    proposal_id = dao_chain.propose_and_pass(SPEC)
    env = dict(bot_env, DAO_CONTRACT_ADDRESS=dao_chain.dao.address)
    bot = start_bot(
        "--network",
        anvil.network_choice,
        "--source",
        "rpc",
        "--confirmations",
        "3",
        "--poll-interval",
        "0.2",
        env=env,
    )
    db = env["DEPLOYBOT_DB"]
    wait_for(lambda: Path(db).exists(), timeout=60, what="the bot to open its ledger")

    snapshot = anvil.snapshot()
    receipt = dao_chain.execute(proposal_id, SPEC)
    event_block = receipt["blockNumber"]
    dao_chain.chain.mine(2)  # two confirmations: one short of what the bot waits for
    head_before_reorg = anvil.head()
    wait_for(
        lambda: _checkpoint(db) is not None and _checkpoint(db) >= head_before_reorg - 3,
        timeout=30,
        what="the bot to reach the unconfirmed block",
    )
    assert read_rows(db) == []

    assert anvil.revert(snapshot)
    dao_chain.chain.mine(6)  # the chain moves on without the DeployEvent
    wait_for(
        lambda: (_checkpoint(db) or 0) >= event_block + 2,
        timeout=30,
        what="the bot to pass the orphaned block",
    )
    assert read_rows(db) == []
    assert creates_for(spheron, proposal_id) == []

    # The proposal is still executable on the surviving chain: now it deploys, once.
    dao_chain.execute(proposal_id, SPEC)
    dao_chain.chain.mine(3)
    wait_for(
        lambda: [r.state for r in read_rows(db)] == [DeploymentState.DEPLOYED],
        timeout=60,
        what="the re-executed proposal to deploy",
    )
    assert len(creates_for(spheron, proposal_id)) == 1
    assert bot.stop() == 0


def test_rpc_and_etherscan_sources_record_the_same_events(
    anvil, dao_chain, start_bot, bot_env, tmp_path
):
    specs = {}
    for cluster in ("alpha", "beta", "gamma"):
        spec = json.loads(SPEC)
        spec["clusterName"] = cluster
        text = canonical_json(parse_spec(json.dumps(spec)))
        specs[dao_chain.propose_and_pass(text)] = text
    for proposal_id, text in specs.items():
        dao_chain.execute(proposal_id, text)

    with EtherscanStandIn(
        api_key=ETHERSCAN_KEY, chain_id=1337, log_source=RpcLogs(anvil.url)
    ) as standin:
        results = {}
        for source in ("rpc", "etherscan"):
            env = dict(
                bot_env,
                DAO_CONTRACT_ADDRESS=dao_chain.dao.address,
                DEPLOYBOT_DB=str(tmp_path / f"{source}.sqlite3"),
                ETHERSCAN_API_URL=standin.url,
            )
            bot = start_bot(
                "--network",
                anvil.network_choice,
                "--source",
                source,
                "--once",
                "--dry-run",
                env=env,
            )
            assert bot.wait(120) == 0, bot.log_path.read_text()[-2000:]
            results[source] = [
                (
                    r.proposal_id,
                    r.sender,
                    r.spec_hash,
                    r.block_number,
                    r.tx_hash,
                    r.log_index,
                    r.state,
                )
                for r in read_rows(env["DEPLOYBOT_DB"])
            ]
    assert results["rpc"] == results["etherscan"]
    assert [row[0] for row in results["rpc"]] == sorted(specs)
    assert {row[6] for row in results["rpc"]} == {DeploymentState.PLANNED}


def _checkpoint(db: str) -> int | None:
    from services.bot.ledger import Ledger

    if not Path(db).exists():
        return None
    with Ledger.open_readonly(db) as ledger:
        return ledger.checkpoint()


def test_an_instance_is_deployed_updated_and_closed_by_votes_on_chain(
    anvil, dao_chain, spheron, start_bot, bot_env
):
    """The whole life through the real contracts: each envelope is voted, executed and applied
    once; a change of a proposal that was never executed is refused with the reason."""
    env = dict(bot_env, DAO_CONTRACT_ADDRESS=dao_chain.dao.address)
    db = env["DEPLOYBOT_DB"]
    never_executed = dao_chain.propose_and_pass(SPEC)
    deploy_id = dao_chain.propose_and_pass(SPEC)
    changes = {"tag": "1.28", "replicas": 3}
    envelopes = [
        {"action": "update", "target": deploy_id, "changes": changes},
        {"action": "close", "target": deploy_id},
        {"action": "close", "target": never_executed},
    ]
    texts = [canonical_proposal_json(parse_proposal(json.dumps(body))) for body in envelopes]
    update_id, close_id, stray_id = (dao_chain.propose_and_pass(text) for text in texts)
    bot = start_bot(
        "--network", anvil.network_choice, "--source", "rpc", "--poll-interval", "0.2", env=env
    )
    dao_chain.execute(deploy_id, SPEC)
    for proposal_id, text in zip((update_id, close_id, stray_id), texts, strict=True):
        dao_chain.execute(proposal_id, text)

    def settled():
        rows = {r.proposal_id: r for r in read_rows(db)}
        return len(rows) == 4 and all(r.state.is_terminal for r in rows.values()) and rows

    wait_for(settled, timeout=120, what="the deploy, update, close and stray close to settle")
    rows = settled()
    assert bot.stop() == 0
    assert [rows[pid].state for pid in (deploy_id, update_id, close_id)] == [
        DeploymentState.DEPLOYED,
        DeploymentState.DEPLOYED,
        DeploymentState.CLOSED,
    ]
    stray_row = rows[stray_id]
    assert stray_row.state is DeploymentState.REJECTED
    assert f"proposal {never_executed} was not deployed by this DAO's bot" in stray_row.reason
    assert rows[deploy_id].closed_by == close_id
    assert json.loads(rows[deploy_id].voted_spec_json)["configuration"]["replicas"] == 3
    applied = [
        e
        for e in spheron.request_log(all_requests=True)
        if e["status"] == 200 and e["path"].endswith(("/update", "/close"))
    ]
    assert [e["path"].rsplit("/", 1)[1] for e in applied] == ["update", "close"]
    assert len(creates_for(spheron, deploy_id)) == 1
