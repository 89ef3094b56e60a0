"""The whole DAO lifecycle through the `ape run` scripts, as a user runs them, on one anvil node:
deploy, mint, propose, vote, execute, status — and the refusals along the way, each one line
on stderr with exit code 1 (78 when the configuration is at fault) and no transaction sent.

The tests run in file order and build on each other (module-scoped fixtures hold the state):
a user's session is a sequence too.
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass

import ape
from web3 import Web3

from services.common import exit_codes
from services.spec.model import canonical_json, parse_spec, spec_hash, spec_summary
from testbed.contracts import Chain
from tests.scripts.conftest import (
    KEYFILE_ALIAS,
    KEYFILE_PASSPHRASE,
    PASSPHRASE_VARIABLE,
    ROOT,
    TEST_ADDRESSES,
    ApeResult,
    ApeRunner,
    Call,
    address_in,
)

VOTING_PERIOD = 300
PRICE_WEI = 10**16
EXAMPLE = ROOT / "examples" / "web-service.json"
DEPLOYER, ALICE, BOB, CAROL, BUYER, DEPLOYER_2, _, _, POOR, OUTSIDER = TEST_ADDRESSES
INVALID_ON_CHAIN_JSON = '{"clusterName":"Not A Label"}'


@dataclass(frozen=True)
class Deployment:
    dao: str
    nft: str
    block: int
    output: ApeResult


def _contract(w3: Web3, abis, name: str, address: str):
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=abis[name])


@ape.fixture(scope="module", chain_isolation=False)
def deployed(ape_run: ApeRunner) -> Deployment:
    result = ape_run.run(
        "deploy",
        "--account",
        "TEST::0",
        "--voting-period",
        "5m",
        "--quorum",
        "20",
        "--price",
        "0.01",
        "--max-supply",
        "10",
        "--base-uri",
        "ipfs://bafy-members",
    ).ok()
    return Deployment(
        dao=address_in(result.fact("SpheronDevsDAO")),
        nft=address_in(result.fact("SpheronDevsNFT")),
        block=int(result.fact("deployment block").split()[0]),
        output=result,
    )


@ape.fixture(scope="module", chain_isolation=False)
def dao(w3, abis, deployed):
    return _contract(w3, abis, "SpheronDevsDAO", deployed.dao)


@ape.fixture(scope="module", chain_isolation=False)
def nft(w3, abis, deployed):
    return _contract(w3, abis, "SpheronDevsNFT", deployed.nft)


@ape.fixture(scope="module", chain_isolation=False)
def minted(ape_run: ApeRunner, anvil, deployed, keyfile_address) -> dict[str, ApeResult]:
    """alice 3 tokens (NFT found through --dao), bob 2 (--nft), carol 1 (NFT_CONTRACT_ADDRESS),
    the keyfile account 1 (unlocked by its passphrase variable): 7 of 10."""
    anvil.set_balance(keyfile_address, 10**18)
    results = ape_run.run_all(
        [
            Call("mint", ["--account", "TEST::1", "--quantity", "3", "--dao", deployed.dao]),
            Call("mint", ["--account", "TEST::2", "--quantity", "2", "--nft", deployed.nft]),
            Call("mint", ["--account", "TEST::3"], env={"NFT_CONTRACT_ADDRESS": deployed.nft}),
            Call(
                "mint",
                ["--account", KEYFILE_ALIAS, "--dao", deployed.dao],
                env={PASSPHRASE_VARIABLE: KEYFILE_PASSPHRASE},
            ),
        ]
    )
    return dict(zip(("alice", "bob", "carol", "keyfile"), (r.ok() for r in results), strict=True))


@ape.fixture(scope="module", chain_isolation=False)
def proposal(ape_run: ApeRunner, deployed, minted, dao) -> ApeResult:
    """Proposal 1 from the example spec (DAO found through DAO_CONTRACT_ADDRESS); proposal 2 is
    created directly on-chain by bob with JSON that is not a valid spec."""
    result = ape_run.run(
        "create_proposal",
        str(EXAMPLE),
        "--account",
        "TEST::1",
        env={"DAO_CONTRACT_ADDRESS": deployed.dao},
    ).ok()
    dao.functions.createProposal(INVALID_ON_CHAIN_JSON).transact({"from": BOB})
    return result


# --- deploy and mint ----------------------------------------------------------------------------


def test_deploy_prints_addresses_settings_and_config(deployed, dao, nft, w3):
    out = deployed.output
    assert out.fact("deployer") == DEPLOYER
    assert deployed.dao != deployed.nft
    assert dao.functions.token().call() == deployed.nft
    assert dao.functions.votingPeriod().call() == VOTING_PERIOD
    assert dao.functions.quorumBps().call() == 2_000
    assert dao.functions.proposalThreshold().call() == 1
    assert dao.functions.maxSpecBytes().call() == 8192
    assert dao.functions.deploymentBlock().call() == deployed.block
    assert nft.functions.price().call() == PRICE_WEI
    assert nft.functions.maxSupply().call() == 10
    assert nft.functions.owner().call() == DEPLOYER
    assert nft.functions.baseURI().call() == "ipfs://bafy-members/"
    assert "voting period 5 min (300 s), quorum 20% of the supply at the snapshot (2000 bps)" in (
        out.fact("DAO settings")
    )
    snippet = (
        "deployments:\n  ethereum:\n    local:\n"
        f'      - contract_type: SpheronDevsNFT\n        address: "{deployed.nft}"\n'
        f'      - contract_type: SpheronDevsDAO\n        address: "{deployed.dao}"\n'
    )
    assert snippet in out.stdout
    assert f"DAO_CONTRACT_ADDRESS={deployed.dao}\nNFT_CONTRACT_ADDRESS={deployed.nft}" in (
        out.stdout
    )
    assert w3.eth.get_code(deployed.dao) and w3.eth.get_code(deployed.nft)


def test_mint_through_each_address_route(minted, deployed, nft, keyfile_address):
    assert minted["alice"].fact("NFT") == f"{deployed.nft} (from token() of the DAO from --dao)"
    assert minted["bob"].fact("NFT") == f"{deployed.nft} (from --nft)"
    assert minted["carol"].fact("NFT") == f"{deployed.nft} (from NFT_CONTRACT_ADDRESS)"
    expected = {"alice": (ALICE, 3), "bob": (BOB, 2), "carol": (CAROL, 1)}
    expected["keyfile"] = (keyfile_address, 1)
    ids: list[int] = []
    for who, (address, quantity) in expected.items():
        out = minted[who]
        line = out.fact("minted")
        assert line.startswith(f"{quantity} token{'s' if quantity > 1 else ''} (id")
        assert f"to {address} for {quantity / 100:g} ETH" in line
        ids += [int(token) for token in re.search(r"ids? ([\d, ]+)\)", line).group(1).split(", ")]
        votes = f"{quantity} vote{'s' if quantity > 1 else ''}"
        assert out.fact("voting power").startswith(f"{address} has {votes}")
        assert nft.functions.balanceOf(address).call() == quantity
        assert nft.functions.getVotes(address).call() == quantity
    assert sorted(ids) == list(range(1, 8))
    assert nft.functions.totalSupply().call() == 7


# --- propose ------------------------------------------------------------------------------------


def test_create_proposal_submits_the_canonical_spec(proposal, deployed, dao):
    spec = parse_spec(EXAMPLE.read_bytes())
    canonical = canonical_json(spec)
    expected_hash = "0x" + spec_hash(canonical).hex()
    assert proposal.fact("DAO") == f"{deployed.dao} (from DAO_CONTRACT_ADDRESS)"
    assert proposal.fact("proposal") == f"deploy {spec_summary(spec)}"
    assert proposal.fact("spec hash") == expected_hash
    assert proposal.fact("proposal 1").startswith(f"created by {ALICE} (tx 0x")
    assert re.fullmatch(
        r"in 5 min|in 4 min \d+ s", proposal.fact("voting closes").split("(")[1][:-1]
    )
    stored = dao.functions.getProposal(1).call()
    assert "0x" + stored[0].hex() == expected_hash
    assert proposal.fact("snapshot").startswith(f"block {stored[1]} ")
    logs = dao.events.ProposalCreated().get_logs(from_block=deployed.block)
    assert [log.args.spheronInstanceJson for log in logs] == [canonical, INVALID_ON_CHAIN_JSON]


def test_refusals_while_voting_is_open(
    ape_run, anvil, deployed, proposal, tmp_path, keyfile_address
):
    bad_spec = json.loads(EXAMPLE.read_text())
    bad_spec["configuration"]["ports"][0]["exposedPort"] = 70_000
    bad_file = tmp_path / "bad.json"
    bad_file.write_text(json.dumps(bad_spec))
    anvil.set_balance(POOR, PRICE_WEI)  # the price, but nothing left for gas
    senders = (DEPLOYER_2, ALICE, CAROL, BUYER, POOR, OUTSIDER, keyfile_address)
    nonces = {address: anvil.nonce(address) for address in senders}
    dao_option = ["--dao", deployed.dao]
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]

    results = ape_run.run_all(
        [
            Call("create_proposal", [str(EXAMPLE), "--account", "TEST::9", *dao_option]),
            Call("create_proposal", [str(bad_file), "--account", "TEST::3", *dao_option]),
            Call("execute", ["1", "--account", "TEST::1", *dao_option]),
            Call("vote", ["9", "yay", "--account", "TEST::1", *dao_option]),
            Call("status"),
            Call("mint", ["--account", "TEST::8", *dao_option]),
            Call("mint", ["--account", "TEST::4", "--quantity", "4", *dao_option]),
            Call("mint", ["--account", KEYFILE_ALIAS, *dao_option]),
            Call(
                "create_proposal",
                ["-", "--dry-run", "--account", "TEST::9", *dao_option],
                stdin=(ROOT / "examples" / "with-secret.json").read_text(),
            ),
            Call(
                "status",
                [*dao_option, "--network", f"ethereum:local:http://127.0.0.1:{dead_port}"],
                network=False,
            ),
            Call(
                "mint",
                ["--account", KEYFILE_ALIAS, *dao_option],
                env={PASSPHRASE_VARIABLE: "not the passphrase"},
            ),
            Call("deploy", ["--account", "TEST::5", "--publish"]),
        ]
    )
    (outsider, invalid, early, unknown, no_dao, poor, sold_out, locked, dry_run, dead) = results[
        :10
    ]
    wrong_passphrase, publish_locally = results[10:]

    assert outsider.single_error() == (
        f"not enough voting power to propose: {OUTSIDER} had 0 votes at the snapshot block, "
        "1 needed (mint or receive a SpheronDevsNFT first; votes count from the next block on)"
    )
    message = invalid.single_error()
    assert message.startswith("invalid spec (1 problem): ")
    assert "configuration.ports[0].exposedPort: must be at most 65535 (got 70000)" in message
    assert re.fullmatch(
        r"proposal 1 is open for votes until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC "
        r"\(in [\d a-z]+\); it can be executed after that",
        early.single_error(),
    ), early
    assert unknown.single_error() == "proposal 9 not found (the DAO has 2 proposals, ids 1 to 2)"
    message = no_dao.single_error(exit_codes.CONFIG)
    assert message.startswith("no SpheronDevsDAO address for ethereum:local: pass --dao ADDRESS")
    assert "DAO_CONTRACT_ADDRESS" in message
    assert re.fullmatch(
        rf"insufficient funds: {POOR} has 0\.01 ETH, the transaction needs about 0\.01\d+ ETH "
        r"\(value plus the maximum gas fee\)",
        poor.single_error(),
    ), poor
    assert sold_out.single_error() == "sold out: 4 requested but only 3 left (max supply 10)"
    assert locked.single_error(exit_codes.CONFIG) == (
        f"account '{KEYFILE_ALIAS}' is locked: set {PASSPHRASE_VARIABLE} (environment or .env) "
        "or run in a terminal to type the passphrase"
    )
    dry_run.ok()
    assert "dry run: the proposal is valid; nothing was sent" in dry_run.stdout
    assert dry_run.fact("proposer") == f"{OUTSIDER} has 0 votes, 1 needed: cannot propose yet"
    assert dry_run.fact("secrets") == (
        "the deploy bot must have DAO_SECRET_DB_PASSWORD set (values never go on-chain)"
    )
    assert dead.single_error().startswith("cannot connect: no node answers at the --network URL")
    assert wrong_passphrase.single_error(exit_codes.CONFIG) == (
        f"wrong passphrase for account '{KEYFILE_ALIAS}' in {PASSPHRASE_VARIABLE}"
    )
    assert "not the passphrase" not in wrong_passphrase.stdout + wrong_passphrase.stderr
    assert publish_locally.single_error() == (
        "--publish needs a public network with an Etherscan explorer (e.g. ethereum:sepolia), "
        "not ethereum:local"
    )

    assert {address: anvil.nonce(address) for address in senders} == nonces, "a tx was sent"
    assert anvil.balance(POOR) == PRICE_WEI


# --- vote, execute, status ----------------------------------------------------------------------


def test_votes_are_weighted_by_the_snapshot(ape_run, deployed, proposal, dao):
    dao_option = ["--dao", deployed.dao]
    yay, nay, abstain = ape_run.run_all(
        [
            Call("vote", ["1", "yay", "--account", "TEST::1", *dao_option]),
            Call("vote", ["1", "nay", "--account", "TEST::2", *dao_option]),
            Call("vote", ["1", "abstain", "--account", "TEST::3", *dao_option]),
        ]
    )
    assert yay.ok().fact("voted").startswith("For on proposal 1 with 3 votes (tx 0x")
    assert nay.ok().fact("voted").startswith("Against on proposal 1 with 2 votes (tx 0x")
    assert abstain.ok().fact("voted").startswith("Abstain on proposal 1 with 1 vote (tx 0x")
    stored = dao.functions.getProposal(1).call()
    assert list(stored[4:7]) == [3, 2, 1]  # for, against, abstain
    assert dao.functions.hasVoted(1, ALICE).call()

    twice, status = ape_run.run_all(
        [
            Call("vote", ["1", "for", "--account", "TEST::1", *dao_option]),
            Call("status", ["1"], env={"DAO_CONTRACT_ADDRESS": deployed.dao}),
        ]
    )
    assert twice.single_error() == f"{ALICE} already voted on proposal 1"
    status.ok()
    assert "proposal 1: Active\n" in status.stdout
    assert "  votes: for 3, against 2, abstain 1; quorum 2 (reached)\n" in status.stdout
    assert status.fact("DAO") == f"{deployed.dao} (from DAO_CONTRACT_ADDRESS)"
    assert "proposal 2:" not in status.stdout


def test_execute_after_the_deadline_emits_the_deploy_event(
    ape_run, anvil, deployed, proposal, dao, keyfile_address
):
    Chain(anvil.url).advance(VOTING_PERIOD + 1)
    dao_option = ["--dao", deployed.dao]
    late, executed = ape_run.run_all(
        [
            Call(
                "vote",
                ["1", "yay", "--account", KEYFILE_ALIAS, *dao_option],
                env={PASSPHRASE_VARIABLE: KEYFILE_PASSPHRASE},
            ),
            Call("execute", ["1", "--account", "TEST::1", *dao_option]),
        ]
    )
    assert re.fullmatch(
        r"voting on proposal 1 closed at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \([\d a-z]+ ago\)",
        late.single_error(),
    ), late
    executed.ok()
    assert executed.fact("proposal 1") == ("passed (for 3, against 2, abstain 1; quorum 2 reached)")
    canonical = canonical_json(parse_spec(EXAMPLE.read_bytes()))
    assert executed.fact("DeployEvent") == f"proposal 1 from {ALICE} msg 'Deploy'"
    assert executed.fact("spec hash") == "0x" + spec_hash(canonical).hex()
    assert executed.fact("means") == f"deploy {spec_summary(parse_spec(canonical))}"

    stored = dao.functions.getProposal(1).call()
    assert list(stored[7:9]) == [True, True]  # executed, passed
    assert dao.functions.state(1).call() == 3  # Executed
    events = dao.events.DeployEvent().get_logs(from_block=deployed.block)
    assert [(e.args.proposalId, e.args._from, e.args.msg) for e in events] == [(1, ALICE, "Deploy")]
    assert events[0].args.spheronInstanceJson == canonical
    assert anvil.nonce(keyfile_address) == 1, "only the mint was sent from the keyfile account"


def test_execute_twice_is_refused_and_status_shows_everything(ape_run, deployed, proposal):
    again, status, newest = ape_run.run_all(
        [
            Call("execute", ["1", "--account", "TEST::2", "--dao", deployed.dao]),
            Call("status", [], env={"DAO_CONTRACT_ADDRESS": deployed.dao}),
            Call("status", ["--limit", "1", "--dao", deployed.dao]),
        ]
    )
    assert again.single_error() == (
        "proposal 1 was already executed (it passed and its DeployEvent was emitted)"
    )
    status.ok()
    out = status.stdout
    assert status.fact("proposals") == "2"
    assert status.fact("NFT").startswith(f"{deployed.nft}: 7 of 10 minted, price 0.01 ETH")
    assert out.index("proposal 2: Defeated") < out.index("proposal 1: Executed")
    assert "  executed: yes, passed (DeployEvent emitted)\n" in out
    assert "  spec: INVALID, the deploy bot will refuse it: clusterName: " in out
    assert f"  means: deploy {spec_summary(parse_spec(EXAMPLE.read_bytes()))}\n" in out
    assert f"  proposer: {ALICE}\n" in out and f"  proposer: {BOB}\n" in out
    assert re.search(r"  deadline: voting closed at .* UTC \(\d+ (s|min)", out)
    newest.ok()
    assert "proposal 2: Defeated" in newest.stdout
    assert "proposal 1:" not in newest.stdout
    assert "(1 older proposal not shown; raise --limit or give an id)" in newest.stdout


def test_updates_and_closes_read_as_what_they_change_in_the_instance(ape_run, deployed, proposal):
    """Proposal 1 (the web service) is deployed: an update reads as a diff against it, a close as
    a close; one that cannot change in place, or whose result breaks the rules, costs nothing."""
    dao_option = ["--dao", deployed.dao]

    def envelope(body: dict, account: str = "TEST::1") -> Call:
        args = ["-", "--account", account, *dao_option]
        return Call("create_proposal", args, stdin=json.dumps(body))

    update, close, fixed, broken = ape_run.run_all(  # side by side: one sending account each
        [
            envelope({"action": "update", "target": 1, "changes": {"tag": "1.28", "replicas": 3}}),
            envelope({"action": "close", "target": 1}, account="TEST::2"),
            envelope({"action": "update", "target": 1, "changes": {"image": "httpd"}}),
            envelope(
                {
                    "action": "update",
                    "target": 1,
                    "changes": {"healthCheckConfig": {"path": "/", "port": 9999}},
                }
            ),
        ]
    )
    (status,) = ape_run.run_all([Call("status", ["--limit", "2", *dao_option])])
    update.ok()
    assert update.fact("proposal") == (
        "update the instance of proposal 1: tag 1.27 → 1.28, replicas 2 → 3"
    )
    assert update.fact("instance of proposal 1") == "deployed by proposal 1"
    close.ok()
    assert close.fact("proposal") == "close the instance of proposal 1"
    assert fixed.single_error().startswith(
        "invalid spec (1 problem): changes: image cannot change in place on Spheron; redeploy "
        "instead"
    )
    assert broken.single_error() == (
        "invalid spec (1 problem): updated spec: healthCheckConfig.port: 9999 is not one of the "
        "containerPorts (80)"
    )
    status.ok()
    assert status.stdout.count(": Active\n") == 2
    assert "  means: close the instance of proposal 1\n" in status.stdout
    assert "  means: update the instance of proposal 1: tag 1.27 → 1.28, replicas 2 → 3\n" in (
        status.stdout
    )
