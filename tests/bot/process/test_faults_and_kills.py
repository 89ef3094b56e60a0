"""`ape run watcher` as a process against the Etherscan stand-in and the Spheron emulator:
exactly-once under faults and kill -9, bad specs, and no secret in any output."""

from __future__ import annotations

import json
import random
import re
import subprocess
import time
from collections import Counter
from pathlib import Path

import requests

from services.bot.ledger import DeploymentState, read_rows
from services.spec.model import canonical_json, parse_spec
from services.targets.spheron import SpheronClient
from testbed.bot_process import APE, ROOT
from testbed.emulators.etherscan import Faults
from testbed.emulators.spheron import FaultPlan
from tests.bot.process.conftest import (
    DAO,
    SECRETS,
    SENDER,
    SPHERON_TOKEN,
    wait_for,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
WATCH_ARGS = ("--network", "ethereum:sepolia", "--source", "etherscan", "--poll-interval", "0.2")


def example(name: str, cluster: str) -> str:
    spec = json.loads((EXAMPLES / name).read_text())
    spec["clusterName"] = cluster
    return canonical_json(parse_spec(json.dumps(spec)))


def instances_by_name(spheron) -> Counter:
    client = SpheronClient(spheron.url, SPHERON_TOKEN)
    names: Counter = Counter()
    for cluster in client.iter_clusters(client.organization_id()):
        for instance in client.iter_cluster_instances(str(cluster["_id"])):
            names[instance["name"]] += 1
    return names


def add_events(chain, proposal_ids, first_block: int) -> None:
    for offset, pid in enumerate(proposal_ids):
        spec_file = "with-secret.json" if pid % 10 == 0 else "web-service.json"
        chain.add_deploy_event(
            DAO,
            pid,
            SENDER,
            "Deploy",
            example(spec_file, f"c{pid}"),
            block_number=first_block + offset * 2,
        )
    chain.head = first_block + len(proposal_ids) * 2 + 3


def test_100_proposals_with_faults_and_kill_9_are_each_created_exactly_once(
    generated_chain, etherscan_standin, spheron, start_bot, bot_env
):
    rng = random.Random(20261124)
    etherscan_standin.reseed(7)
    etherscan_standin.set_faults(
        Faults(rate_limit_probability=0.1, http_500_probability=0.1, malformed_probability=0.05)
    )
    spheron.set_faults(FaultPlan(error_rate=0.1, drop_rate=0.05, drop_response_next=6, seed=3))
    add_events(generated_chain, range(1, 51), first_block=20)

    for round_ in range(5):
        bot = start_bot(*WATCH_ARGS)
        time.sleep(rng.uniform(3.0, 7.0))
        bot.kill()
        if round_ == 2:
            add_events(generated_chain, range(51, 101), first_block=generated_chain.head + 1)

    bot = start_bot(*WATCH_ARGS)
    db = bot_env["DEPLOYBOT_DB"]

    def all_deployed() -> bool:
        rows = read_rows(db)
        return len(rows) == 100 and all(r.state is DeploymentState.DEPLOYED for r in rows)

    wait_for(all_deployed, timeout=180, what="100 deployments")
    assert bot.running
    assert bot.stop() == 0

    names = instances_by_name(spheron)
    assert len(names) == 100, "every executed proposal has an instance"
    assert max(names.values()) == 1, f"duplicates: {[n for n, c in names.items() if c > 1]}"
    assert sorted(r.proposal_id for r in read_rows(db)) == list(range(1, 101))

    log = bot.log_path.read_text()
    for secret in SECRETS:
        assert secret not in log
    assert "DEPLOYED" in log or "Deployed" in log


def test_20_bad_specs_are_rejected_with_reasons_and_the_bot_keeps_running(
    generated_chain, spheron, start_bot, bot_env
):
    bad_specs = [
        "not json",
        "{}",
        json.dumps({"clusterName": "x"}),
        example("web-service.json", "ok").replace('"replicas":2', '"replicas":0'),
        example("web-service.json", "ok").replace('"cpu":', '"cpu":3,"x":'),
    ]
    for pid in range(1, 21):
        generated_chain.add_deploy_event(
            DAO, pid, SENDER, "Deploy", bad_specs[pid % len(bad_specs)], block_number=20 + pid
        )
    generated_chain.add_deploy_event(
        DAO, 21, SENDER, "Deploy", example("web-service.json", "good"), block_number=50
    )
    generated_chain.head = 60
    bot = start_bot(*WATCH_ARGS, "--status-port", "0")
    db = bot_env["DEPLOYBOT_DB"]
    wait_for(
        lambda: len(read_rows(db)) == 21 and all(r.state.is_terminal for r in read_rows(db)),
        timeout=60,
        what="21 events processed",
    )
    rows = read_rows(db)
    rejected = [r for r in rows if r.state is DeploymentState.REJECTED]
    assert len(rejected) == 20
    assert all(r.reason and r.reason.startswith("invalid spec:") for r in rejected)
    assert bot.running

    status_url = re.search(r"status on (http://\S+) ", bot.log_path.read_text()).group(1)
    assert requests.get(f"{status_url}/healthz", timeout=5).status_code == 200
    metrics = requests.get(f"{status_url}/metrics", timeout=5).text
    assert 'deployments{state="REJECTED"} 20.0' in metrics
    assert 'deployments{state="DEPLOYED"} 1.0' in metrics
    assert len(requests.get(f"{status_url}/deployments", timeout=5).json()) == 21

    assert bot.stop() == 0
    assert len(instances_by_name(spheron)) == 1

    table = subprocess.run(
        [str(APE), "run", "deployments", "--db", db, "--state", "deployed"],
        cwd=ROOT,
        env=bot_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert table.returncode == 0, table.stderr
    assert "DEPLOYED" in table.stdout
    assert "REJECTED" not in table.stdout
