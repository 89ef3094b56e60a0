"""Members govern what was deployed from the browser: they propose an update of a deployed
instance and see the diff against the instance as voted, vote it through and execute it, then
close the instance; the pages say what each vote means and what became of the instance. Bad
envelopes show the field errors the scripts print, and a target the bot would reject is warned
about.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from services.spec.proposal import canonical_proposal_json, parse_proposal
from tests.webapp.conftest import confirmed, connect, screenshot, serious_violations
from tests.webapp.stack import EXAMPLES, DaoStack, example_spec

FOR = 1
WARNING = (
    "warning: unless that changes before this proposal is executed, the deploy bot will reject it"
)


@pytest.fixture
def deployed(stack: DaoStack) -> int:
    """A proposal deploying web-service.json (nginx:1.27, 2 replicas), passed and executed."""
    spec = example_spec("web-service.json", clusterName=f"kinds-{stack.anvil.head()}")
    proposal_id = stack.propose(spec)
    stack.vote(proposal_id, FOR, stack.alice)
    stack.end_voting()
    stack.execute(proposal_id, spec)
    return proposal_id


def propose_in_page(page: Page, envelope: dict[str, object]) -> int:
    """Type `envelope` in the create page, submit it, wait for its page; its id."""
    page.get_by_test_id("create-submit").click()
    expect(page).to_have_url(re.compile(r"#/proposal/\d+$"), timeout=15_000)
    confirmed(page)
    proposal_id = int(page.url.rsplit("/", 1)[1])
    canonical = canonical_proposal_json(parse_proposal(json.dumps(envelope)))
    expect(page.get_by_test_id("spec-json")).to_have_text(canonical)
    return proposal_id


def vote_and_execute(stack: DaoStack, page: Page, proposal_id: int) -> None:
    """Alice's 3 votes of 6 pass it; time runs out; she executes it from its page."""
    page.get_by_test_id("vote-for").click()
    confirmed(page)
    stack.end_voting()
    expect(page.get_by_test_id(f"proposal-{proposal_id}-state")).to_have_text("Succeeded")
    page.get_by_test_id("execute").click()
    confirmed(page)
    expect(page.get_by_test_id(f"proposal-{proposal_id}-state")).to_have_text("Executed")


def example_envelope(name: str, target: int) -> dict[str, object]:
    """An update or close of the examples, aimed at proposal `target`."""
    return {**json.loads((EXAMPLES / name).read_text()), "target": target}


def fill(page: Page, envelope: dict[str, object] | str) -> None:
    text = envelope if isinstance(envelope, str) else json.dumps(envelope, indent=2)
    page.get_by_test_id("create-spec-input").fill(text)


def test_a_member_updates_then_closes_a_deployed_instance(stack, open_app, deployed):
    alice = open_app(stack.alice, path="/#/new")
    connect(alice)

    # The update of the examples (tag 1.28, 3 replicas), as a diff against the instance as voted.
    update = example_envelope("update-web-service.json", deployed)
    fill(alice, update)
    means = f"update the instance of proposal {deployed}: tag 1.27 → 1.28, replicas 2 → 3"
    expect(alice.get_by_test_id("create-means")).to_have_text(means)
    expect(alice.get_by_test_id("create-target")).to_have_text(
        f"instance of proposal {deployed}: deployed by proposal {deployed}"
    )
    expect(alice.get_by_test_id("create-warning")).to_have_count(0)
    expect(alice.get_by_test_id("spec-policy-check")).to_have_text("within the operator's policy")
    expect(alice.get_by_test_id("create-canonical")).to_have_text(
        canonical_proposal_json(parse_proposal(json.dumps(update)))
    )
    screenshot(alice, "create-update")
    update_id = propose_in_page(alice, update)
    expect(alice.get_by_test_id(f"proposal-{update_id}-means")).to_have_text(means)
    expect(alice.get_by_test_id(f"proposal-{update_id}-target")).to_have_text(
        f"instance of proposal {deployed}: deployed by proposal {deployed}"
    )
    expect(alice.get_by_test_id("spec-rules-check")).to_contain_text(
        f"a valid update of the instance of proposal {deployed}"
    )
    assert not serious_violations(alice)
    vote_and_execute(stack, alice, update_id)
    # Executed, it still means what was voted: the diff against the instance before it.
    expect(alice.get_by_test_id(f"proposal-{update_id}-means")).to_have_text(means)
    screenshot(alice, "proposal-update-executed")

    # The list says what each vote meant; the deploy's row what became of its instance.
    alice.get_by_role("link", name="Proposals", exact=True).click()
    expect(alice.get_by_test_id(f"proposal-{update_id}-means")).to_have_text(means)
    expect(alice.get_by_test_id(f"proposal-{update_id}-target")).to_have_text(
        f"instance of proposal {deployed}: deployed by proposal {deployed}"
    )
    expect(alice.get_by_test_id(f"proposal-{deployed}-instance")).to_have_text(
        f"instance of proposal {deployed}: deployed by proposal {deployed}; "
        f"updated by proposal {update_id}"
    )

    # The close, from the deploy's page through the create page.
    alice.get_by_test_id(f"proposal-{deployed}").get_by_role("link").first.click()
    expect(alice.get_by_test_id(f"proposal-{deployed}-instance")).to_contain_text(
        f"updated by proposal {update_id}"
    )
    alice.get_by_role("link", name="New proposal").click()
    close = example_envelope("close-web-service.json", deployed)
    fill(alice, close)
    expect(alice.get_by_test_id("create-means")).to_have_text(
        f"close the instance of proposal {deployed}"
    )
    close_id = propose_in_page(alice, close)
    vote_and_execute(stack, alice, close_id)
    alice.get_by_test_id(f"proposal-{close_id}-target").get_by_role(
        "link", name=f"proposal {deployed}"
    ).first.click()
    expect(alice).to_have_url(re.compile(f"#/proposal/{deployed}$"))
    expect(alice.get_by_test_id(f"proposal-{deployed}-instance")).to_have_text(
        f"instance of proposal {deployed}: deployed by proposal {deployed}; "
        f"updated by proposal {update_id}; closed by proposal {close_id}"
    )
    screenshot(alice, "proposal-deploy-lifecycle")

    # Proposing to update the closed instance: the bot would reject it, and the page says so.
    alice.get_by_role("link", name="New proposal").click()
    fill(alice, {"action": "update", "target": deployed, "changes": {"tag": "1.29"}})
    expect(alice.get_by_test_id("create-means")).to_have_text(
        f"update the instance of proposal {deployed}: set tag"
    )
    expect(alice.get_by_test_id("create-target")).to_contain_text(f"closed by proposal {close_id}")
    expect(alice.get_by_test_id("create-warning")).to_have_text(WARNING)
    assert not serious_violations(alice)


def test_bad_envelopes_show_field_errors_and_cannot_be_submitted(stack, open_app, deployed):
    alice = open_app(stack.alice, path="/#/new")
    connect(alice)
    errors = alice.get_by_test_id("spec-errors")
    submit = alice.get_by_test_id("create-submit")

    fill(alice, {"action": "update", "target": deployed, "changes": {"image": "x", "tag": "a b"}})
    expect(errors).to_have_text(
        "changes: image cannot change in place on Spheron; redeploy instead (propose a new "
        "deployment, then close this one)"
    )
    expect(submit).to_be_disabled()
    screenshot(alice, "create-update-redeploy")

    fill(alice, {"action": "update", "target": 0, "changes": {}})
    expect(errors).to_contain_text("target: must be at least 1 (got 0)")
    expect(errors).to_contain_text("changes: an update must change something")
    expect(submit).to_be_disabled()

    fill(alice, '{"action": "delete", "target": 1}')
    expect(errors).to_have_text(
        'action: "delete" is not an action; use "update" or "close" (a deployment is a bare '
        "instance spec, without action)"
    )

    # Valid on its own, but its result breaks the spec rules: refused before sending.
    port = {"healthCheckConfig": {"path": "/", "port": 9999}}
    fill(alice, {"action": "update", "target": deployed, "changes": port})
    expect(errors).to_have_text(
        "updated spec: healthCheckConfig.port: 9999 is not one of the containerPorts (80)"
    )
    expect(submit).to_be_disabled()

    # Within the rules, beyond the operator's policy (max 3 replicas): the vote may pass, but
    # the bot will not deploy it.
    fill(alice, {"action": "update", "target": deployed, "changes": {"replicas": 5}})
    expect(alice.get_by_test_id("create-means")).to_have_text(
        f"update the instance of proposal {deployed}: replicas 2 → 5"
    )
    expect(alice.get_by_test_id("spec-policy-check")).to_contain_text(
        "the operator's policy refuses it"
    )

    # A target that deployed nothing.
    fill(alice, {"action": "close", "target": 999})
    expect(alice.get_by_test_id("create-target")).to_have_text(
        "instance of proposal 999: proposal 999 has not deployed anything (no executed deployment)"
    )
    expect(alice.get_by_test_id("create-warning")).to_have_text(WARNING)
    expect(submit).to_be_enabled()  # as with the script: a warning, not a refusal
