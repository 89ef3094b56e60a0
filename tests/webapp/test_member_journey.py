"""Members use the web app in Chromium against a real chain, deploy bot and Spheron emulator: they
connect, mint, propose (an invalid spec first), vote, see why they cannot, travel in time, execute,
and see what the bot deployed. And the ways it can go wrong: a wallet on the wrong network, no
wallet at all, a transaction that reverts after all.
"""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from bench.contracts import MAX_SPEC_BYTES
from services.spec.model import canonical_json, parse_spec
from tests.webapp.conftest import confirmed, connect, screenshot, serious_violations
from tests.webapp.stack import EXAMPLES, VOTING_PERIOD_S, example_spec

FOR, AGAINST = 1, 0
DEPLOY_TIMEOUT_MS = 60_000


def test_members_propose_vote_execute_and_see_the_deployment(stack, open_app):
    alice = open_app(stack.alice)
    expect(alice.get_by_test_id("membership")).to_contain_text("Connect a wallet")
    connect(alice)
    expect(alice.get_by_test_id("member-tokens")).to_have_text("3")
    expect(alice.get_by_test_id("member-votes")).to_have_text("3")

    # An invalid spec: the field errors the scripts print, and no way to submit it.
    alice.get_by_role("link", name="New proposal").click()
    invalid = json.loads((EXAMPLES / "web-service.json").read_text())
    invalid["configuration"].update(image="nginx:1.27", replicas=50, debug=True)
    alice.get_by_test_id("create-spec-input").fill(json.dumps(invalid, indent=2))
    errors = alice.get_by_test_id("spec-errors")
    expect(errors).to_contain_text(
        'configuration.image: "nginx:1.27" includes a tag; give "nginx" here and "1.27" in tag'
    )
    expect(errors).to_contain_text("configuration.replicas: must be at most 20 (got 50)")
    expect(errors).to_contain_text("configuration.debug: unknown field")
    expect(alice.get_by_test_id("create-submit")).to_be_disabled()
    screenshot(alice, "create-invalid-spec")

    # A valid one, as written in the example file: checked, shown in canonical form, submitted.
    text = (EXAMPLES / "web-service.json").read_text()
    canonical = canonical_json(parse_spec(text))
    alice.get_by_test_id("create-spec-input").fill(text)
    expect(alice.get_by_test_id("create-canonical")).to_have_text(canonical)
    expect(alice.get_by_test_id("create-size")).to_have_text(
        f"{len(canonical.encode())} bytes as canonical JSON; this DAO accepts at most "
        f"{MAX_SPEC_BYTES}"
    )
    expect(alice.get_by_test_id("create-threshold")).to_have_text(
        "you have 3 votes; 1 needed to propose"
    )
    expect(alice.get_by_test_id("spec-policy-check")).to_have_text("within the operator's policy")
    screenshot(alice, "create-valid-spec")
    alice.get_by_test_id("create-submit").click()
    expect(alice).to_have_url(re.compile(r"#/proposal/\d+$"), timeout=15_000)
    proposal_id = int(alice.url.rsplit("/", 1)[1])
    confirmed(alice)
    assert stack.dao.functions.numProposals().call() == proposal_id
    expect(alice.get_by_test_id("spec-json")).to_have_text(canonical)
    expect(alice.get_by_test_id("spec-hash-check")).to_contain_text("matches the on-chain specHash")
    expect(alice.get_by_test_id("spec-rules-check")).to_contain_text("passes the spec rules")
    expect(alice.get_by_test_id(f"proposal-{proposal_id}-state")).to_have_text("Active")
    snapshot = stack.dao.functions.getProposal(proposal_id).call()[1]

    # Dave becomes a member only now, after the snapshot.
    dave = open_app(stack.dave)
    connect(dave)
    expect(dave.get_by_test_id("member-tokens")).to_have_text("0")
    dave.get_by_test_id("mint-quantity").fill("1")
    dave.get_by_test_id("mint").click()
    confirmed(dave)
    expect(dave.get_by_test_id("member-tokens")).to_have_text("1")
    assert stack.nft.functions.balanceOf(stack.dave).call() == 1

    # Three members vote, each in their own browser.
    alice.get_by_test_id("vote-for").click()
    confirmed(alice)
    expect(alice.get_by_test_id("vote-reason")).to_have_text(re.compile("^already voted For"))
    for account, button in ((stack.bob, "vote-for"), (stack.carol, "vote-against")):
        member = open_app(account, path=f"/#/proposal/{proposal_id}")
        connect(member)
        member.get_by_test_id(button).click()
        confirmed(member)
    expect(alice.get_by_test_id("tally-for")).to_have_text("5")
    expect(alice.get_by_test_id("tally-against")).to_have_text("1")
    expect(alice.get_by_test_id("tally-abstain")).to_have_text("0")
    voters = alice.get_by_test_id("voters")
    for account, vote in ((stack.alice, "For"), (stack.bob, "For"), (stack.carol, "Against")):
        expect(voters.locator("tr", has_text=account)).to_contain_text(vote)

    # The latecomer sees why he cannot vote.
    dave.goto(f"{stack.app_url}/#/proposal/{proposal_id}")
    expect(dave.get_by_test_id("vote-for")).to_be_disabled()
    expect(dave.get_by_test_id("vote-reason")).to_contain_text(
        f"no voting power at block {snapshot}"
    )
    screenshot(dave, "ineligible-voter")

    # Execution waits for the deadline; then the bot deploys what was voted on.
    expect(alice.get_by_test_id("execute")).to_be_disabled()
    expect(alice.get_by_test_id("execute-reason")).to_contain_text("voting is open until")
    stack.end_voting()
    expect(alice.get_by_test_id(f"proposal-{proposal_id}-state")).to_have_text("Succeeded")
    expect(alice.get_by_test_id("vote-reason")).to_have_text(re.compile("^voting closed"))
    alice.get_by_test_id("execute").click()
    confirmed(alice)
    expect(alice.get_by_test_id(f"proposal-{proposal_id}-state")).to_have_text("Executed")
    executed_in = stack.anvil.head()
    expect(alice.get_by_role("list", name="Timeline")).to_contain_text(
        f"block {executed_in}: passed, DeployEvent emitted"
    )
    expect(alice.get_by_test_id(f"deployment-{proposal_id}-state")).to_have_text(
        "DEPLOYED", timeout=DEPLOY_TIMEOUT_MS
    )
    urls = alice.get_by_test_id(f"deployment-{proposal_id}-urls")
    expect(urls.locator("a[href^='http://']").first).to_be_visible()
    screenshot(alice, "proposal-deployed")

    alice.get_by_role("link", name="Proposals", exact=True).click()
    row = alice.get_by_test_id(f"proposal-{proposal_id}")
    expect(alice.get_by_test_id(f"proposal-{proposal_id}-state")).to_have_text("Executed")
    expect(row).to_contain_text("bot: DEPLOYED")
    screenshot(alice, "proposal-list")


def test_votes_delegated_away_can_be_taken_back(stack, open_app):
    stack.chain.transact(stack.nft.functions.delegate(stack.carol), sender=stack.bob)
    bob = open_app(stack.bob)
    connect(bob)
    membership = bob.get_by_test_id("membership")
    expect(membership).to_contain_text(f"Your 2 tokens vote through {stack.carol}")
    expect(bob.get_by_test_id("member-votes")).to_have_text("0")
    bob.get_by_test_id("delegate-self").click()
    confirmed(bob)
    expect(bob.get_by_test_id("member-votes")).to_have_text("2")
    expect(membership).to_contain_text("yourself")
    assert stack.nft.functions.delegates(stack.bob).call() == stack.bob


def test_paused_and_sold_out_minting_are_shown_as_such(stack, open_app):
    owner = stack.accounts[0]
    stack.chain.transact(stack.nft.functions.pause(), sender=owner)
    try:
        dave = open_app(stack.dave)
        connect(dave)
        expect(dave.get_by_test_id("mint")).to_be_disabled()
        expect(dave.get_by_test_id("mint-reason")).to_have_text(
            "minting is paused by the NFT owner"
        )
    finally:
        stack.chain.transact(stack.nft.functions.unpause(), sender=owner)
    expect(dave.get_by_test_id("mint")).to_be_enabled()
    dave.get_by_test_id("mint-quantity").fill("1000")
    dave.get_by_test_id("mint").click()
    left = stack.nft.functions.maxSupply().call() - stack.nft.functions.totalSupply().call()
    expect(dave.get_by_test_id("error")).to_have_text(
        f"sold out: 1000 requested but only {left} left"
    )


def test_a_wallet_on_another_network_is_told_and_switched(stack, open_app):
    proposal_id = stack.propose(example_spec("web-service.json", clusterName="switch"))
    bob = open_app(stack.bob, path=f"/#/proposal/{proposal_id}", wallet_chain_id="0x1")
    connect(bob)
    banner = bob.get_by_test_id("wrong-network")
    expect(banner).to_contain_text("Your wallet is on chain 1")
    expect(bob.get_by_test_id("vote-for")).to_be_disabled()
    expect(bob.get_by_test_id("vote-reason")).to_have_text("switch your wallet's network to vote")
    screenshot(bob, "wrong-network")
    bob.get_by_test_id("switch-network").click()
    expect(banner).to_be_hidden()
    expect(bob.get_by_test_id("vote-for")).to_be_enabled()


def test_every_announced_wallet_can_be_chosen(stack, open_app):
    page = open_app(stack.alice, more_wallets={"Other Wallet": stack.bob})
    expect(page.get_by_test_id("membership")).to_be_visible()
    page.get_by_test_id("connect").click()
    choices = page.get_by_role("list", name="Wallets found in this browser")
    expect(choices.get_by_role("button")).to_have_text(["Test Wallet", "Other Wallet"])
    page.get_by_test_id("wallet-choice-org.spheron-dao-deploy.other-wallet").click()
    expect(page.get_by_test_id("account")).to_have_attribute("title", stack.bob)
    expect(page.get_by_test_id("member-tokens")).to_have_text("2")
    page.evaluate(
        f"window.testWallets['org.spheron-dao-deploy.other-wallet'].useAccount('{stack.carol}')"
    )
    expect(page.get_by_test_id("account")).to_have_attribute("title", stack.carol)
    expect(page.get_by_test_id("member-tokens")).to_have_text("1")


def test_without_a_wallet_everything_is_readable_and_nothing_can_be_sent(stack, open_app):
    proposal_id = stack.propose(example_spec("with-secret.json"))
    reader = open_app(None)
    expect(reader.get_by_test_id("read-only")).to_contain_text("no wallet was found")
    expect(reader.get_by_test_id(f"proposal-{proposal_id}-state")).to_have_text("Active")
    reader.get_by_test_id(f"proposal-{proposal_id}").get_by_role("link").click()
    expect(reader.get_by_test_id("spec-hash-check")).to_contain_text("matches")
    expect(reader.get_by_text("POSTGRES_PASSWORD", exact=True)).to_be_visible()
    expect(reader.get_by_text("DAO_SECRET_DB_PASSWORD", exact=True)).to_be_visible()
    expect(reader.get_by_test_id("vote-reason")).to_have_text("connect a wallet to vote")
    expect(reader.get_by_test_id("vote-abstain")).to_be_disabled()
    screenshot(reader, "read-only")
    reader.get_by_test_id("connect").click()
    expect(reader.get_by_test_id("error")).to_contain_text("no wallet found in this browser")


def test_a_transaction_that_would_revert_is_shown_in_words_and_not_sent(stack, open_app):
    proposal_id = stack.propose(example_spec("web-service.json", clusterName="late"))
    carol = open_app(stack.carol, path=f"/#/proposal/{proposal_id}")
    connect(carol)
    expect(carol.get_by_test_id("vote-for")).to_be_enabled()
    # Chain time moves past the deadline before the next block; the page cannot know yet.
    stack.chain.increase_time(VOTING_PERIOD_S + 5)
    head = stack.anvil.head()
    carol.get_by_test_id("vote-for").click()
    error = carol.get_by_test_id("error")
    closed = r"closed at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+ s ago\)$"
    expect(error).to_have_text(re.compile(f"^voting on proposal {proposal_id} {closed}"))
    expect(carol.get_by_test_id("tx-status")).to_contain_text("failed")
    screenshot(carol, "revert-in-words")
    assert stack.anvil.head() == head, "nothing was sent"
    assert not stack.dao.functions.hasVoted(proposal_id, stack.carol).call()
    stack.chain.mine()


def test_an_unknown_proposal_is_named_in_the_scripts_words(stack, open_app):
    count = stack.dao.functions.numProposals().call()
    page = open_app(None, path="/#/proposal/999")
    expect(page.get_by_role("main")).to_contain_text(
        f"proposal 999 not found (the DAO has {count} proposal{'s' if count != 1 else ''}"
    )


def test_no_serious_accessibility_violations(stack, open_app):
    proposal_id = stack.propose(example_spec("node-persistent-storage.json"))
    page = open_app(stack.alice)
    connect(page)
    for path, ready in (
        ("/#/", f"proposal-{proposal_id}"),
        (f"/#/proposal/{proposal_id}", "spec-json"),
        ("/#/new", "create-spec-input"),
    ):
        page.goto(stack.app_url + path)
        expect(page.get_by_test_id(ready)).to_be_visible()
        if path == "/#/new":
            page.get_by_test_id("create-spec-input").fill('{"clusterName": 5}')
            expect(page.get_by_test_id("spec-errors")).to_be_visible()
        assert not serious_violations(page), path


def test_the_keyboard_reaches_every_action(stack, open_app):
    page = open_app(stack.alice)
    expect(page.get_by_test_id("membership")).to_be_visible()  # the DAO has been read
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    for _ in range(8):
        page.keyboard.press("Tab")
        if page.get_by_test_id("connect").evaluate("e => e === document.activeElement"):
            break
    expect(page.get_by_test_id("connect")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("account")).to_be_visible()
