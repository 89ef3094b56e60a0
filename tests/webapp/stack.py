"""Everything a member's browser talks to, as real processes on loopback: anvil with the DAO and
its NFT deployed, the local Spheron emulator, the deploy bot (`ape run watcher`, with its status
server allowing the app's origin) and the app itself (`ape run app`).

Members: anvil's accounts 1..3 (alice 3 tokens, bob 2, carol 1) hold tokens from the start;
account 4 (dave) holds none and mints in the tests; account 9 never does. Transactions the tests
make directly (not through the page) go through anvil's unlocked accounts with web3.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from web3.contract import Contract

from bench.contracts import NFT_PRICE_WEI, deploy_spheron
from services.spec.model import canonical_json, parse_spec
from services.webapp.serve import free_local_port
from testbed.anvil import Anvil
from testbed.bot_process import APE, ROOT, WatcherProcess, watcher_environment
from testbed.contracts import Chain, DaoContracts, load_artifacts
from testbed.emulators.spheron import SpheronEmulator

MAX_SUPPLY = 100
VOTING_PERIOD_S = 600
QUORUM_BPS = 3_400
SPHERON_TOKEN = "webapp-test-spheron-token"
START_TIMEOUT_S = 120
EXAMPLES = ROOT / "examples"


def wait_for_line(
    path: Path,
    pattern: re.Pattern[str],
    process: subprocess.Popen[bytes],
    timeout_s: float = START_TIMEOUT_S,
) -> re.Match[str]:
    """The first match of ``pattern`` in ``process``'s log at ``path``, waiting for it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = path.read_text(errors="replace") if path.exists() else ""
        if match := pattern.search(text):
            return match
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}:\n{text[-3000:]}")
        time.sleep(0.1)
    raise TimeoutError(f"no {pattern.pattern!r} in {path} after {timeout_s} s")


def example_spec(name: str, **changes: object) -> str:
    """The canonical JSON of an example spec, with top-level or configuration fields changed."""
    doc = json.loads((EXAMPLES / name).read_text())
    for key, value in changes.items():
        target = doc if key in doc else doc["configuration"]
        target[key] = value
    return canonical_json(parse_spec(json.dumps(doc)))


@dataclass
class DaoStack:
    """What the tests drive directly: the chain and the contracts; and the app's URL."""

    anvil: Anvil
    chain: Chain
    dao: Contract
    nft: Contract
    app_url: str

    @property
    def accounts(self) -> list[str]:
        return self.chain.accounts

    @property
    def alice(self) -> str:
        return self.accounts[1]

    @property
    def bob(self) -> str:
        return self.accounts[2]

    @property
    def carol(self) -> str:
        return self.accounts[3]

    @property
    def dave(self) -> str:
        return self.accounts[4]

    @property
    def outsider(self) -> str:
        return self.accounts[9]

    def propose(self, spec_json: str, proposer: str | None = None) -> int:
        """Create a proposal directly (not through the page); its id."""
        proposal_id = self.dao.functions.numProposals().call() + 1
        self.chain.transact(
            self.dao.functions.createProposal(spec_json), sender=proposer or self.alice
        )
        return proposal_id

    def vote(self, proposal_id: int, support: int, voter: str) -> None:
        self.chain.transact(self.dao.functions.voteOnProposal(proposal_id, support), sender=voter)

    def execute(self, proposal_id: int, spec_json: str, sender: str | None = None) -> None:
        self.chain.transact(
            self.dao.functions.executeProposal(proposal_id, spec_json), sender=sender or self.alice
        )

    def end_voting(self) -> None:
        """Move chain time past the deadline of every proposal so far, and mine a block."""
        self.chain.advance(VOTING_PERIOD_S + 1)


def deploy_dao(anvil: Anvil) -> tuple[Chain, DaoContracts]:
    """The NFT and the DAO on `anvil`, with alice, bob and carol holding 3, 2 and 1 tokens."""
    chain = Chain(anvil.url)
    contracts = deploy_spheron(
        chain,
        load_artifacts(["SpheronDevsNFT", "SpheronDevsDAO"]),
        chain.accounts[0],
        max_supply=MAX_SUPPLY,
        voting_period_s=VOTING_PERIOD_S,
        quorum_bps=QUORUM_BPS,
        base_uri="",
    )
    for account, quantity in zip(chain.accounts[1:4], (3, 2, 1), strict=True):
        chain.transact(
            contracts.nft.functions.mint(quantity), sender=account, value=NFT_PRICE_WEI * quantity
        )
    chain.mine()
    return chain, contracts


@contextmanager
def dao_stack(workdir: Path) -> Iterator[DaoStack]:
    """Start everything (about 10-20 s: two `ape run` processes start), stop it all on exit."""
    with ExitStack() as stack:
        anvil = stack.enter_context(Anvil())
        chain, contracts = deploy_dao(anvil)
        dao, nft = contracts.dao, contracts.nft
        emulator = stack.enter_context(
            SpheronEmulator(token=SPHERON_TOKEN, queued_s=0.3, pending_s=0.3)
        )
        # Both ports are chosen first, so the bot and the app start side by side.
        app_port, status_port = free_local_port(), free_local_port()
        app_origin = f"http://127.0.0.1:{app_port}"
        status_url = f"http://127.0.0.1:{status_port}"
        env = watcher_environment(
            {
                "DAO_CONTRACT_ADDRESS": dao.address,
                "SPHERON_API_URL": emulator.url,
                "SPHERON_ACCESS_TOKEN": SPHERON_TOKEN,
                "DEPLOYBOT_DB": str(workdir / "ledger.sqlite3"),
                "DEPLOYBOT_POLICY": str(EXAMPLES / "policy.yaml"),
            }
        )
        watcher_args = ["--network", anvil.network_choice, "--poll-interval", "0.5"]
        watcher_args += ["--status-port", str(status_port), "--cors-origin", app_origin]
        watcher = stack.enter_context(WatcherProcess(watcher_args, env, workdir / "watcher.log"))
        app_log = workdir / "app.log"
        app_args = ["--network", anvil.network_choice, "--dao", dao.address]
        app_args += ["--port", str(app_port), "--bot-url", status_url]
        with app_log.open("wb") as log:
            app = subprocess.Popen(
                [str(APE), "run", "app", *app_args],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        stack.callback(_stop, app)
        watcher.wait_until_polling(workdir / "ledger.sqlite3", START_TIMEOUT_S)
        wait_for_line(app_log, re.compile(r"^app: http://", re.M), app)
        yield DaoStack(anvil, chain, dao, nft, app_origin)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
