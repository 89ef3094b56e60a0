"""`make demo`: the whole pipeline on this machine, driven the way a user drives it.

A local anvil chain and the project's LOCAL EMULATOR of the Spheron Compute API (Spheron's hosted
API was discontinued in 2025; nothing here talks to Spheron) run on free loopback ports. Then, with
the real `ape run` scripts: deploy the NFT and the DAO, mint to three members, make three proposals
— one that passes, one that misses quorum, one that passes but whose spec the bot's policy refuses —
vote, advance time, execute; meanwhile `ape run watcher` runs as its own process. Then the DAO
governs that instance's life: it votes an update (a new tag, one more replica) and a close; the
update is applied in place; someone with the Spheron token changes the instance behind the DAO's
back and the bot reports the drift; the close ends the instance. Every event reaches a local webhook
receiver. The demo ends with the bot's ledger and exits 0 only if the passing proposal was deployed
exactly once, the others not at all, the update and the close each applied exactly once, the drift
reported, and every notification delivered. With `--keep` (`make demo KEEP=1`) it then serves the
members' web app on the demo's chain, bot and emulator until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from services.bot.ledger import DeploymentRow, DeploymentState, read_rows
from services.bot.ledger_table import format_ledger_table
from services.spec.proposal import canonical_proposal_json, parse_proposal
from services.webapp.serve import free_local_port
from testbed.anvil import Anvil
from testbed.bot_process import APE, WatcherProcess, watcher_environment
from testbed.contracts import Chain
from testbed.emulators.spheron import SpheronEmulator
from testbed.waiting import WaitTimeout, wait_until
from testbed.webhook_receiver import WebhookReceiver

if TYPE_CHECKING:
    from services.webapp.server import WebAppServer

ROOT = Path(__file__).resolve().parent.parent
DEMO_TOKEN = "local-demo-token"
VOTING_PERIOD_S = 120
DEPLOY_TIMEOUT_S = 90
#: What the DAO changes in the deployed instance, and the tag set behind its back.
UPDATE_CHANGES = {"tag": "1.28", "replicas": 3}
UNVOTED_TAG = "1.29-unvoted"
WEBHOOK = "ops"

DEPLOYER, ALICE, BOB, CAROL = "TEST::0", "TEST::1", "TEST::2", "TEST::3"
#: Membership tokens each member mints.
TOKENS = {ALICE: 3, BOB: 2, CAROL: 1}
#: The line of each script's output that the demo shows as that step's one-line summary.
SUMMARY_LINES = {
    "deploy": re.compile(r"^SpheronDevsDAO: .*"),
    "mint": re.compile(r"^minted: .*"),
    "create_proposal": re.compile(r"^proposal \d+: .*"),
    "vote": re.compile(r"^voted: .*"),
    "execute": re.compile(r"^proposal \d+: .*"),
    "status": re.compile(r"^proposals: .*"),
}
TABLE_WIDTH = 160


@dataclass(frozen=True)
class Proposal:
    """One demo proposal: its spec file, the votes cast, and what must become of it."""

    title: str
    spec: str
    votes: tuple[tuple[str, str], ...]
    expect_deployed: bool

    def passes_vote(self) -> bool:
        """Whether the votes pass it: quorum is 34 % of the 6 tokens, i.e. 3 yay, and yay > nay."""
        yay = sum(TOKENS[a] for a, choice in self.votes if choice == "yay")
        nay = sum(TOKENS[a] for a, choice in self.votes if choice == "nay")
        return yay >= 3 and yay > nay


PROPOSALS = (
    Proposal(
        "web service, passes",
        "examples/web-service.json",
        ((ALICE, "yay"), (BOB, "yay"), (CAROL, "nay")),
        expect_deployed=True,
    ),
    Proposal(
        "node with storage, misses quorum",
        "examples/node-persistent-storage.json",
        ((CAROL, "yay"),),
        expect_deployed=False,
    ),
    Proposal(
        "GPU miner, passes the vote but the bot's policy refuses it",
        "examples/refused-by-policy/gpu-miner.json",
        ((ALICE, "yay"), (BOB, "yay")),
        expect_deployed=False,
    ),
)


class DemoError(RuntimeError):
    """A step failed; the message says which and why."""


class Demo:
    def __init__(self, workdir: Path, *, serve_app: bool = False) -> None:
        self.workdir = workdir
        #: `--keep`: the members' web app is served, from when the bot starts until Ctrl-C.
        self.serve_app = serve_app
        self.app: WebAppServer | None = None
        self.anvil: Anvil | None = None
        self.emulator: SpheronEmulator | None = None
        self.receiver: WebhookReceiver | None = None
        self.watcher: WatcherProcess | None = None
        self.env = {
            **os.environ,
            "PATH": f"{APE.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
        }
        self.ledger_path = workdir / "ledger.sqlite3"
        self.watcher_log = workdir / "watcher.log"
        self.deployment_block = 0
        # Chosen now: the web app's page reads the bot's status server at this port.
        self.status_port = free_local_port()

    # -- the story -------------------------------------------------------------------------------

    def run(self) -> bool:
        say(
            "Local demo: a real anvil chain and the project's LOCAL EMULATOR of the Spheron "
            "Compute API (not Spheron: its hosted API was discontinued in 2025)."
        )
        self.anvil = Anvil(chain_id=1337).start()
        step(f"anvil chain {self.anvil.chain_id} on {self.anvil.url} (pid {self.anvil.pid})")
        self.emulator = SpheronEmulator(token=DEMO_TOKEN, queued_s=1.0, pending_s=1.5).start()
        step(f"Spheron API emulator on {self.emulator.url} (local, not Spheron)")
        self.receiver = WebhookReceiver().start()
        step(f"webhook receiver on {self.receiver.url} (the bot's notifications)")

        dao = self.deploy()
        for account, quantity in TOKENS.items():
            self.ape("mint", "--quantity", str(quantity), account=account)
        self.start_watcher(dao)

        ids = [self.propose(p) for p in PROPOSALS]
        for proposal_id, proposal in zip(ids, PROPOSALS, strict=True):
            for account, choice in proposal.votes:
                self.ape("vote", str(proposal_id), choice, account=account)
        Chain(self.anvil.url).advance(VOTING_PERIOD_S + 1)
        step(f"advanced chain time by {VOTING_PERIOD_S + 1} s: voting is closed")
        for proposal_id in ids:
            self.ape("execute", str(proposal_id), account=ALICE)
        self.ape("status", account=None)

        expected = [pid for pid, p in zip(ids, PROPOSALS, strict=True) if p.passes_vote()]
        rows = self.wait_for_bot(expected)
        first_act = self.verdict(ids, rows)
        if not first_act:
            return False
        changes = self.govern_the_instance(ids[0])
        rows = read_rows(self.ledger_path)
        say("")
        say("what the bot logged:")
        for line in self.watcher_log.read_text(errors="replace").splitlines():
            if "proposal" in line:
                say(f"  {line}")
        say("")
        say(format_ledger_table(rows, console_width=TABLE_WIDTH))
        notified = self.notifications_verdict(rows, drifted=[ids[0]])
        return changes and notified

    def govern_the_instance(self, target: int) -> bool:
        """The DAO votes an update and a close of `target`'s instance; the update is applied,
        the instance is changed behind the DAO's back (drift), then the close is executed."""
        assert self.anvil is not None and self.emulator is not None
        say("")
        say(f"the DAO governs the life of proposal {target}'s instance: an update, then a close")
        update_id = self.propose_envelope(
            {"action": "update", "target": target, "changes": UPDATE_CHANGES},
            f"update the instance of proposal {target}",
        )
        close_id = self.propose_envelope(
            {"action": "close", "target": target}, f"close the instance of proposal {target}"
        )
        for proposal_id in (update_id, close_id):
            for account in (ALICE, BOB):
                self.ape("vote", str(proposal_id), "yay", account=account)
        Chain(self.anvil.url).advance(VOTING_PERIOD_S + 1)
        step(f"advanced chain time by {VOTING_PERIOD_S + 1} s: voting is closed")
        self.ape("execute", str(update_id), account=ALICE)
        (update,) = self.wait_for_bot([update_id])
        deployed = next(r for r in read_rows(self.ledger_path) if r.proposal_id == target)
        instance = deployed.instance_id or ""

        self.emulator.change_outside_the_dao(instance, tag=UNVOTED_TAG)
        step(f"someone with the Spheron token set tag {UNVOTED_TAG} behind the DAO's back")
        drift = self.wait_for_drift(target)
        step(f"the bot reported drift on instance {instance}: {'; '.join(drift)}")

        self.ape("execute", str(close_id), account=ALICE)
        (close,) = self.wait_for_bot([close_id])
        updates = self.answered(f"/v1/cluster-instance/{instance}/update")
        closes = self.answered(f"/v1/cluster-instance/{instance}/close")
        checks = [
            (
                update.state is DeploymentState.DEPLOYED and updates == 1,
                f"proposal {update_id} (update): {update.state.value}, {updates} update "
                f"request applied in place",
            ),
            (
                bool(drift) and f"tag: voted 1.28, running {UNVOTED_TAG}" in drift,
                f"drift on the instance of proposal {target} reported",
            ),
            (
                close.state is DeploymentState.CLOSED and closes == 1,
                f"proposal {close_id} (close): {close.state.value}, {closes} close request",
            ),
        ]
        for good, text in checks:
            say(f"{'PASS' if good else 'FAIL'}  {text}")
        return all(good for good, _ in checks)

    # -- steps -----------------------------------------------------------------------------------

    def deploy(self) -> str:
        output = self.ape(
            "deploy",
            "--voting-period",
            str(VOTING_PERIOD_S),
            "--quorum",
            "34",
            "--price",
            "0.01",
            "--max-supply",
            "100",
            account=DEPLOYER,
        )
        found = dict(re.findall(r"^(DAO|NFT)_CONTRACT_ADDRESS=(0x[0-9a-fA-F]{40})$", output, re.M))
        if set(found) != {"DAO", "NFT"}:
            raise DemoError(f"deploy printed no contract addresses:\n{output}")
        self.env["DAO_CONTRACT_ADDRESS"] = found["DAO"]
        self.env["NFT_CONTRACT_ADDRESS"] = found["NFT"]
        if block := re.search(r"^deployment block: (\d+)", output, re.M):
            self.deployment_block = int(block.group(1))
        return found["DAO"]

    def propose(self, proposal: Proposal) -> int:
        output = self.ape("create_proposal", proposal.spec, account=ALICE, note=proposal.title)
        return _created_id(output)

    def propose_envelope(self, envelope: dict[str, object], title: str) -> int:
        """`create_proposal` with an update or close envelope written to a file."""
        text = canonical_proposal_json(parse_proposal(json.dumps(envelope)))
        path = self.workdir / f"{envelope['action']}-{envelope['target']}.json"
        path.write_text(text)
        return _created_id(self.ape("create_proposal", str(path), account=ALICE, note=title))

    def start_watcher(self, dao: str) -> None:
        assert self.anvil is not None and self.emulator is not None
        assert self.receiver is not None
        env = watcher_environment(
            {
                "DAO_CONTRACT_ADDRESS": dao,
                "SPHERON_API_URL": self.emulator.url,
                "SPHERON_ACCESS_TOKEN": DEMO_TOKEN,
                "DEPLOYBOT_DB": str(self.ledger_path),
                "DEPLOYBOT_POLICY": str(ROOT / "examples" / "policy.yaml"),
                "DEPLOYBOT_NOTIFY": f"json:{self.receiver.url_for(WEBHOOK)}",
                "DEPLOYBOT_DRIFT_INTERVAL": "1",
            }
        )
        args = ["--network", self.anvil.network_choice, "--poll-interval", "0.5"]
        args += ["--status-port", str(self.status_port)]
        if self.serve_app:  # the bot lets the app's page read it (CORS): the app must be bound
            self.app = self.start_app()
            args += ["--cors-origin", self.app.url]
        self.watcher = WatcherProcess(args, env, self.watcher_log).start()
        step(
            f"ape run watcher started (pid {self.watcher.pid}), watching DAO {dao}; "
            f"log {self.watcher_log}"
        )

    def wait_for_bot(self, ids: Sequence[int]) -> list[DeploymentRow]:
        """Until the bot has settled the DeployEvents of `ids`; their rows, in that order."""

        def settled() -> list[DeploymentRow] | None:
            self.check_watcher_alive()
            rows = {r.proposal_id: r for r in read_rows(self.ledger_path)}
            done = [rows[pid] for pid in ids if pid in rows and rows[pid].state.is_terminal]
            return done if len(done) == len(ids) else None

        try:
            rows = wait_until(settled, timeout_s=DEPLOY_TIMEOUT_S, what="the bot", interval_s=0.5)
        except WaitTimeout:
            raise DemoError(
                f"the bot did not settle within {DEPLOY_TIMEOUT_S} s; see {self.watcher_log}"
            ) from None
        step(f"the bot has settled proposal{'s' if len(ids) > 1 else ''} {_ids(ids)}")
        return rows

    def wait_for_drift(self, proposal_id: int) -> list[str]:
        """The differences the bot records once it notices the change (it checks every 1 s)."""

        def drifted() -> list[str] | None:
            self.check_watcher_alive()
            row = next(r for r in read_rows(self.ledger_path) if r.proposal_id == proposal_id)
            return list(row.drift["differences"]) if row.drift else None

        try:
            return wait_until(drifted, timeout_s=30, what="the drift report", interval_s=0.5)
        except WaitTimeout:
            return []

    def answered(self, path: str) -> int:
        """Requests to `path` that the emulator answered 200 (each one applied)."""
        assert self.emulator is not None
        log = self.emulator.request_log(all_requests=True)
        return sum(1 for entry in log if entry["path"] == path and entry["status"] == 200)

    def notifications_verdict(self, rows: Sequence[DeploymentRow], drifted: Sequence[int]) -> bool:
        """Every event of the ledger's rows, and the drift of each of `drifted`, reached the
        webhook receiver, once each."""
        assert self.receiver is not None
        receiver = self.receiver
        expected = sorted(_expected_events(rows) + [("drift", pid) for pid in drifted])

        def delivered() -> list[tuple[str, int]] | None:
            got = sorted((b["event"], b["proposal_id"]) for b in receiver.received(WEBHOOK))
            return got if got == expected else None

        try:
            wait_until(delivered, timeout_s=20, what="notifications", interval_s=0.5)
            good = True
        except WaitTimeout:
            good = False
        say("notifications the local webhook receiver got:")
        for body in receiver.received(WEBHOOK):
            say(f"  {body['summary']}")
        count = len(receiver.received(WEBHOOK))
        say(
            f"{'PASS' if good else 'FAIL'}  notifications: {count} delivered, "
            f"{len(expected)} expected (each event once)"
        )
        return good

    def verdict(self, ids: Sequence[int], rows: Sequence[DeploymentRow]) -> bool:
        assert self.emulator is not None
        by_id = {row.proposal_id: row for row in rows}
        creates = self.emulator.request_log()
        ok = True
        for proposal_id, proposal in zip(ids, PROPOSALS, strict=True):
            row = by_id.get(proposal_id)
            made = [c for c in creates if c["body"]["instanceName"].endswith(f"-{proposal_id}")]
            if proposal.expect_deployed:
                good = row is not None and row.state is DeploymentState.DEPLOYED and len(made) == 1
                outcome = f"DEPLOYED, {len(made)} create request"
            else:
                good = not made and (row is None or row.state is DeploymentState.REJECTED)
                outcome = "not deployed" + (
                    f" ({row.state.value}: {row.reason})"
                    if row
                    else " (no DeployEvent: the vote failed)"
                )
            ok &= good
            say(
                f"{'PASS' if good else 'FAIL'}  proposal {proposal_id} "
                f"({proposal.title}): {outcome}"
            )
        return ok

    # -- plumbing --------------------------------------------------------------------------------

    def ape(self, script: str, *args: str, account: str | None, note: str = "") -> str:
        assert self.anvil is not None
        command = [str(APE), "run", script, *args, "--network", self.anvil.network_choice]
        if account is not None:
            command += ["--account", account]
        shown = " ".join(["ape run", script, *args] + (["--account", account] if account else []))
        result = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True)
        output = result.stdout + result.stderr
        if result.returncode != 0:
            raise DemoError(f"`{shown}` failed:\n{output.strip()}")
        summary = _summary(script, result.stdout)
        step(f"{shown}{f'  [{note}]' if note else ''} -> {summary}")
        return result.stdout

    def start_app(self) -> WebAppServer:
        """The members' web app on the demo's chain, on a port of its own choosing (bound now,
        so no other socket can take it before the bot is told its origin)."""
        from services.webapp.config import LOCAL_POLL_INTERVAL_MS, AppConfig
        from services.webapp.server import WebAppServer

        assert self.anvil is not None
        config = AppConfig(
            chain_id=self.anvil.chain_id,
            chain_name="Demo chain (anvil)",
            rpc_url=self.anvil.url,
            dao_address=self.env["DAO_CONTRACT_ADDRESS"],
            nft_address=self.env["NFT_CONTRACT_ADDRESS"],
            deployment_block=self.deployment_block,
            bot_url=f"http://127.0.0.1:{self.status_port}",
            poll_interval_ms=LOCAL_POLL_INTERVAL_MS,
        )
        return WebAppServer(config).start()

    def keep_serving(self) -> None:
        """`make demo KEEP=1`: the members' web app on the demo's chain, until Ctrl-C."""
        from services.webapp.serve import serve_until_stopped

        assert self.anvil is not None and self.watcher is not None and self.app is not None
        server, config = self.app, self.app.config
        alice = self.anvil.rpc("eth_accounts")[1]
        say("")
        say(f"web app: {server.url}/")
        say(
            f"  reads chain {self.anvil.chain_id} at {self.anvil.url} and the bot at "
            f"{config.bot_url}; to vote, add that network to your wallet and import one of "
            "anvil's dev accounts (mnemonic 'test test test test test test test test test test "
            f"test junk'): alice ({ALICE}, {alice}) holds {TOKENS[ALICE]} tokens"
        )
        say("  serving until Ctrl-C (which stops everything the demo started)")
        watcher = self.watcher
        serve_until_stopped(server, alive=lambda: watcher.running)

    def check_watcher_alive(self) -> None:
        if self.watcher is not None and not self.watcher.running:
            raise DemoError(f"the watcher exited:\n{self.watcher.log_tail(30)}")

    def stop(self) -> None:
        """Stop everything this demo started (also after an error or Ctrl-C)."""
        if self.watcher is not None:
            self.watcher.stop()
        if self.app is not None:
            self.app.stop()
        if self.receiver is not None:
            self.receiver.stop()
        if self.emulator is not None:
            self.emulator.stop()
        if self.anvil is not None:
            self.anvil.stop()


#: Transaction hashes and blocks, left out of the one-line summaries (the scripts print them).
TX_DETAILS = re.compile(r" \(tx 0x[0-9a-fA-F]+[^)]*\)")


def _created_id(output: str) -> int:
    """The id in `create_proposal`'s `proposal N: created by ...` line."""
    match = re.search(r"^proposal (\d+): created", output, re.M)
    if match is None:
        raise DemoError(f"create_proposal printed no proposal id:\n{output}")
    return int(match.group(1))


def _ids(ids: Sequence[int]) -> str:
    return ", ".join(str(pid) for pid in ids)


def _expected_events(rows: Sequence[DeploymentRow]) -> list[tuple[str, int]]:
    """The notifications the rows imply: each executed, then what became of it."""
    outcome = {
        DeploymentState.REJECTED: "rejected",
        DeploymentState.FAILED: "failed",
        DeploymentState.CLOSED: "closed",
    }
    events = []
    for row in rows:
        events.append(("executed", row.proposal_id))
        if row.state is DeploymentState.DEPLOYED:
            events.append(("updated" if row.kind == "update" else "deployed", row.proposal_id))
        elif row.state in outcome:
            events.append((outcome[row.state], row.proposal_id))
    return events


def _summary(script: str, output: str) -> str:
    """The script's key output line (or its last line)."""
    pattern = SUMMARY_LINES.get(script)
    lines = [line.strip() for line in output.splitlines() if line.strip()] or [""]
    key_lines = [line for line in lines if pattern is not None and pattern.match(line)]
    return TX_DETAILS.sub("", (key_lines or lines[-1:])[0])


def say(text: str) -> None:
    print(text, flush=True)


def step(text: str) -> None:
    say(f"[{time.strftime('%H:%M:%S')}] {text}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testbed.demo", description=__doc__)
    parser.add_argument(
        "--keep", action="store_true", help="then serve the web app on the demo's chain"
    )
    keep = parser.parse_args(argv).keep
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="spheron-dao-demo-") as workdir:
        demo = Demo(Path(workdir), serve_app=keep)
        try:
            ok = demo.run()
            if ok and keep:
                demo.keep_serving()
        except KeyboardInterrupt:
            say("interrupted: stopping everything the demo started")
            return 130
        except DemoError as error:
            say(f"demo failed: {error}")
            return 1
        finally:
            demo.stop()
    say(
        f"demo {'passed' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s "
        "(Spheron side: local emulator)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
