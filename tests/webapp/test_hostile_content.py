"""Everything from the chain and the bot is attacker-controlled: a proposal's JSON (valid or not, or
not JSON at all), its strings, the bot's reasons and URLs. Proposals carrying `<script>`,
`<img onerror=...>`, `<svg onload=...>` and `javascript:` URLs are shown in the page as text: no
script runs, no element or handler is created from them, no link points anywhere but http(s), and
the Content-Security-Policy is never even tested.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from services.bot.ledger import Ledger, NewEvent
from services.bot.metrics import BotMetrics
from services.bot.status_server import StatusServer
from services.spec.model import canonical_json, parse_spec, spec_hash
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
    return ids


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
    config = AppConfig(
        chain_id=1337,
        chain_name="Local",
        rpc_url=stack.anvil.url,
        dao_address=stack.dao.address,
        nft_address=stack.nft.address,
        deployment_block=1,
        bot_url="http://127.0.0.1:1",
        poll_interval_ms=1000,
    )
    with status, WebAppServer(replace(config, bot_url=status.url), port=app_port):
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
