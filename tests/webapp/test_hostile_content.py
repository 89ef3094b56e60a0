"""Everything from the chain and the bot is attacker-controlled: a proposal's JSON (valid or not, or
not JSON at all; a spec or an update or close envelope), its strings, the bot's reasons, URLs and
fields. Proposals carrying `<script>`, `<img onerror=...>`, `<svg onload=...>` and `javascript:`
URLs are shown in the page as text: no script runs, no element or handler is created from them, no
link points anywhere but http(s), and the Content-Security-Policy is never even tested.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest
from playwright.sync_api import Page, expect

from services.bot.ledger import Ledger, NewEvent
from services.bot.metrics import BotMetrics
from services.bot.status_server import StatusServer
from services.common.http_server import BackgroundHTTPServer, JsonRequestHandler, bind_handler
from services.spec.model import SpecError, canonical_json, parse_spec, spec_hash
from services.spec.proposal import canonical_proposal_json, describe_proposal, parse_proposal
from services.webapp.config import AppConfig
from services.webapp.serve import free_local_port
from services.webapp.server import WebAppServer
from tests.webapp.conftest import screenshot
from tests.webapp.stack import EXAMPLES

FOR = 1
SCRIPT = "<script>window.__pwned='script'</script>"
IMG = "<img src=x onerror=\"window.__pwned='img'\">"
SVG = "<svg onload=window.__pwned='svg'>"
JS_URL = "javascript:window.__pwned='url'"
LINK = "<a href=\"javascript:window.__pwned='link'\">click me</a>"

WATCH_PAGE = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective));
"""


def hostile_valid_spec() -> str:
    doc = json.loads((EXAMPLES / "web-service.json").read_text())
    doc["healthCheckConfig"]["path"] = "/<script>window.__pwned='path'</script>"
    doc["healthCheckConfig"]["port"] = 80
    config = doc["configuration"]
    config["environmentVariables"] = [
        {"key": "GREETING", "value": SCRIPT},
        {"key": "BANNER", "value": IMG},
        {"key": "HOME_URL", "value": JS_URL},
    ]
    config["commands"] = [SVG]
    config["args"] = [LINK, JS_URL]
    return canonical_json(parse_spec(json.dumps(doc)))


HOSTILE_INVALID = json.dumps({"clusterName": IMG, "type": SCRIPT, "configuration": JS_URL})
NOT_JSON = f"{SCRIPT}{IMG}{SVG}"


def hostile_update(target: int) -> str:
    """A valid update whose changes carry the hostile strings (and a health check path)."""
    changes = {
        "environmentVariables": [{"key": "GREETING", "value": SVG}, {"key": "LINK", "value": LINK}],
        "commands": [SCRIPT, IMG],
        "args": [JS_URL],
        "healthCheckConfig": {"path": "/<svg/onload=window.__pwned='hc'>", "port": 80},
    }
    envelope = {"action": "update", "target": target, "changes": changes}
    return canonical_proposal_json(parse_proposal(json.dumps(envelope)))


def hostile_bad_envelopes(target: int) -> list[str]:
    """Envelopes refused with messages that quote hostile strings."""
    return [
        json.dumps({"action": IMG, "target": target}),
        json.dumps({"action": "update", "target": target, "changes": {"image": SCRIPT}}),
        json.dumps({"action": "update", "target": target, "changes": {"tag": SVG, JS_URL: 1}}),
    ]


def assert_inert(page: Page) -> None:
    """Nothing from the content became code, markup or a link."""
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("window.__csp") == []
    assert page.evaluate("document.scripts.length") == 1, "only app.js"
    handlers = page.evaluate(
        "[...document.querySelectorAll('*')].flatMap(e => [...e.attributes]"
        ".filter(a => a.name.startsWith('on')).map(a => e.tagName + ' ' + a.name))"
    )
    assert handlers == []
    assert page.evaluate("document.querySelectorAll('svg, iframe, object, embed').length") == 0
    images = page.evaluate("[...document.images].map(i => i.getAttribute('src'))")
    assert all(src.startswith("data:image/svg+xml") for src in images), images
    hrefs = page.evaluate(
        "[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))"
    )
    assert all(h.startswith(("#", "http://", "https://")) for h in hrefs), hrefs


@pytest.fixture(scope="module")
def hostile_proposals(stack) -> dict[str, int]:
    """Three hostile proposals; the first two voted through and executed, so the bot has
    deployed the valid one and refused the invalid one, with a reason quoting it."""
    valid = hostile_valid_spec()
    ids = {
        "valid": stack.propose(valid),
        "invalid": stack.propose(HOSTILE_INVALID),
        "not-json": stack.propose(NOT_JSON),
    }
    for name in ("valid", "invalid"):
        stack.vote(ids[name], FOR, stack.alice)
    stack.end_voting()
    stack.execute(ids["valid"], valid)
    stack.execute(ids["invalid"], HOSTILE_INVALID)
    ids["update"] = stack.propose(hostile_update(ids["valid"]))
    for index, text in enumerate(hostile_bad_envelopes(ids["valid"])):
        ids[f"bad-envelope-{index}"] = stack.propose(text)
    return ids


def app_config(stack, bot_url: str) -> AppConfig:
    """The app's configuration for the stack's chain, reading the bot at `bot_url`."""
    return AppConfig(
        chain_id=1337,
        chain_name="Local",
        rpc_url=stack.anvil.url,
        dao_address=stack.dao.address,
        nft_address=stack.nft.address,
        deployment_block=1,
        bot_url=bot_url,
        poll_interval_ms=1000,
    )


def open_watched(open_app, stack, path: str, account: str | None = None) -> Page:
    page = open_app(account, path=path)
    page.add_init_script(WATCH_PAGE)
    page.reload()
    return page


def test_hostile_strings_in_a_valid_spec_are_shown_as_text(stack, open_app, hostile_proposals):
    proposal_id = hostile_proposals["valid"]
    page = open_watched(open_app, stack, f"/#/proposal/{proposal_id}", stack.alice)
    expect(page.get_by_test_id("spec-json")).to_have_text(hostile_valid_spec())
    for text in (SCRIPT, IMG, JS_URL, SVG, LINK):
        expect(page.get_by_text(text, exact=True).first).to_be_visible()
    expect(page.get_by_test_id(f"deployment-{proposal_id}-state")).to_have_text(
        "DEPLOYED", timeout=60_000
    )
    screenshot(page, "hostile-valid-spec")
    assert_inert(page)


def test_an_invalid_hostile_spec_and_the_bots_reason_are_text(stack, open_app, hostile_proposals):
    proposal_id = hostile_proposals["invalid"]
    page = open_watched(open_app, stack, f"/#/proposal/{proposal_id}")
    expect(page.get_by_test_id("spec-json")).to_have_text(HOSTILE_INVALID)
    expect(page.get_by_test_id("spec-rules-check")).to_contain_text(
        "breaks the spec rules: the deploy bot will refuse it"
    )
    deployment = page.get_by_test_id(f"deployment-{proposal_id}")
    expect(page.get_by_test_id(f"deployment-{proposal_id}-state")).to_have_text(
        "REJECTED", timeout=60_000
    )
    expect(deployment).to_contain_text(f"clusterName: {json.dumps(IMG)} is not a DNS label")
    assert_inert(page)


def test_text_that_is_not_json_is_shown_as_text(stack, open_app, hostile_proposals):
    proposal_id = hostile_proposals["not-json"]
    page = open_watched(open_app, stack, f"/#/proposal/{proposal_id}")
    expect(page.get_by_test_id("spec-json")).to_have_text(NOT_JSON)
    expect(page.get_by_test_id("spec-rules-check")).to_contain_text("invalid JSON")
    assert_inert(page)
    page.goto(stack.app_url + "/#/")
    expect(page.get_by_test_id(f"proposal-{proposal_id}")).to_contain_text("invalid spec")
    assert_inert(page)


def test_hostile_urls_and_reasons_from_the_bot_never_become_links(
    stack, open_app, hostile_proposals, tmp_path: Path
):
    """A status server (the bot's own) on a ledger written with hostile instance ids and URLs."""
    proposal_id = hostile_proposals["valid"]
    spec = hostile_valid_spec()
    ledger_path = tmp_path / "hostile.sqlite3"
    with Ledger(ledger_path, chain_id=1337, dao_address=stack.dao.address) as ledger:
        ledger.record_batch(
            [
                NewEvent(
                    proposal_id=proposal_id,
                    sender=stack.alice,
                    spec_json=spec,
                    spec_hash="0x" + spec_hash(spec).hex(),
                    block_number=1,
                    tx_hash="0x" + "ab" * 32,
                    log_index=0,
                )
            ],
            checkpoint_block=1,
        )
        ledger.mark_creating(proposal_id, SCRIPT, in_flight_until=time.time() + 90)
        ledger.mark_created(proposal_id, IMG, "order-1", at=time.time())
        ledger.mark_progress(
            proposal_id, SVG, [JS_URL, "https://ok.example/<b>", "data:text/html,x"]
        )
    app_port = free_local_port()
    app_url = f"http://127.0.0.1:{app_port}"
    status = StatusServer(ledger_path, BotMetrics(), max_poll_age_s=60, allowed_origins=(app_url,))
    with status, WebAppServer(app_config(stack, status.url), port=app_port):
        page = open_app(None, path=f"/#/proposal/{proposal_id}", app_url=app_url)
        page.add_init_script(WATCH_PAGE)
        page.reload()
        urls = page.get_by_test_id(f"deployment-{proposal_id}-urls")
        expect(urls).to_contain_text(JS_URL)
        expect(urls).to_contain_text("data:text/html,x")
        links = urls.locator("a")
        expect(links).to_have_count(1)
        assert links.first.get_attribute("href") == "https://ok.example/%3Cb%3E"
        deployment = page.get_by_test_id(f"deployment-{proposal_id}")
        for text in (IMG, SVG):
            expect(deployment).to_contain_text(text)
        urls.get_by_text(JS_URL).click()
        screenshot(page, "hostile-bot-answers")
        assert_inert(page)


def test_hostile_strings_in_an_update_are_text_in_its_meaning_and_diff(
    stack, open_app, hostile_proposals
):
    proposal_id, target = hostile_proposals["update"], hostile_proposals["valid"]
    text = hostile_update(target)
    means = describe_proposal(parse_proposal(text), parse_spec(hostile_valid_spec()))
    assert SCRIPT in means and IMG.replace('"', '\\"') in means  # in the commands diff
    page = open_watched(open_app, stack, f"/#/proposal/{proposal_id}")
    expect(page.get_by_test_id(f"proposal-{proposal_id}-means")).to_have_text(means)
    expect(page.get_by_test_id("spec-json")).to_have_text(text)
    for shown in (SVG, LINK, "GET /<svg/onload=window.__pwned='hc'> on port 80"):
        expect(page.get_by_text(shown, exact=True).first).to_be_visible()
    screenshot(page, "hostile-update")
    assert_inert(page)
    page.goto(stack.app_url + "/#/")
    expect(page.get_by_test_id(f"proposal-{proposal_id}-means")).to_have_text(means)
    assert_inert(page)


def test_refused_hostile_envelopes_quote_their_strings_as_text(stack, open_app, hostile_proposals):
    target = hostile_proposals["valid"]
    for index, text in enumerate(hostile_bad_envelopes(target)):
        proposal_id = hostile_proposals[f"bad-envelope-{index}"]
        page = open_watched(open_app, stack, f"/#/proposal/{proposal_id}")
        expect(page.get_by_test_id("spec-json")).to_have_text(text)
        rules = page.get_by_test_id("spec-rules-check")
        expect(rules).to_contain_text("breaks the spec rules")
        try:
            parse_proposal(text)
        except SpecError as error:
            for line in error.errors:
                expect(rules).to_contain_text(line)
        assert_inert(page)
    page = open_watched(open_app, stack, "/#/new", stack.alice)
    page.get_by_test_id("create-spec-input").fill(hostile_bad_envelopes(target)[0])
    expect(page.get_by_test_id("spec-errors")).to_contain_text("is not an action")
    assert_inert(page)


class _NewerBotRows(BackgroundHTTPServer):
    """A status server of a newer bot, whose rows carry `kind` and `target_id` (hostile here)."""

    service_name = "the newer bot's status server"

    def __init__(self, rows: list[dict[str, object]]) -> None:
        super().__init__()
        self.rows = rows

    def _handler_class(self) -> type[JsonRequestHandler]:
        return bind_handler(_RowsHandler, rows=self.rows)


class _RowsHandler(JsonRequestHandler):
    extra_headers: ClassVar[Mapping[str, str]] = {"Access-Control-Allow-Origin": "*"}
    rows: list[dict[str, object]]

    def do_GET(self) -> None:
        self.send_json(200, self.rows if self.path == "/deployments" else {})


def test_kind_and_target_from_a_newer_bot_are_shown_as_text(stack, open_app, hostile_proposals):
    update_id, target = hostile_proposals["update"], hostile_proposals["valid"]
    rows = [
        {"proposal_id": update_id, "kind": IMG, "target_id": JS_URL, "state": "FAILED"},
        {"proposal_id": target, "kind": "deploy", "target_id": None, "state": "DEPLOYED"},
        {"proposal_id": hostile_proposals["invalid"], "kind": "update", "target_id": target},
    ]
    app_port = free_local_port()
    app_url = f"http://127.0.0.1:{app_port}"
    with _NewerBotRows(rows) as bot, WebAppServer(app_config(stack, bot.url), port=app_port):
        page = open_app(None, path=f"/#/proposal/{update_id}", app_url=app_url)
        page.add_init_script(WATCH_PAGE)
        page.reload()
        deployment = page.get_by_test_id(f"deployment-{update_id}")
        expect(deployment).to_contain_text(IMG)
        expect(deployment).to_contain_text(JS_URL)
        expect(deployment.locator("a")).to_have_count(0)
        assert_inert(page)
        page.goto(f"{app_url}/#/proposal/{hostile_proposals['invalid']}")
        deployment = page.get_by_test_id(f"deployment-{hostile_proposals['invalid']}")
        expect(deployment).to_contain_text("update")
        link = deployment.get_by_role("link", name=f"proposal {target}")
        expect(link).to_have_attribute("href", f"#/proposal/{target}")
        assert_inert(page)
