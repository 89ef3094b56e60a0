"""Browser fixtures: Debian's Chromium driven by Playwright (never a downloaded browser), pages of
the app with an injected test wallet, and the processes behind them (see `stack.py`).

Like tests/scripts, the fixtures are `ape.fixture(chain_isolation=False)`: they never touch the
in-process chain `ape test` snapshots, so Ape must not re-create them. Screenshots go to
`test-artifacts/webapp/` (git-ignored).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import ape
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from testbed.browser import launch_chromium
from tests.webapp.stack import DaoStack, dao_stack

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "webapp"
WALLET_SCRIPT = (Path(__file__).parent / "test_wallet.js").read_text()
ANVIL_CHAIN_ID = "0x539"  # 1337
VIEWPORT = {"width": 1280, "height": 900}
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def wallet_script(
    rpc_url: str, account: str, wallet_chain_id: str | None = None, name: str = "Test Wallet"
) -> str:
    """The test wallet `name` for `account`, forwarding to `rpc_url`, on `wallet_chain_id`."""
    slug = name.lower().replace(" ", "-")
    config = {
        "rpcUrl": rpc_url,
        "account": account,
        "chainId": ANVIL_CHAIN_ID,
        "walletChainId": wallet_chain_id or ANVIL_CHAIN_ID,
        "name": name,
        "uuid": f"uuid-{slug}",
        "rdns": f"org.spheron-dao-deploy.{slug}",
    }
    return f"const WALLET = {json.dumps(config)};\n{WALLET_SCRIPT}"


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact, after checking that nothing on the page
    (a long hash, URL or address) pushes it wider than the window."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORT["width"], f"{name}: the page is {width} px wide"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def connect(page: Page) -> None:
    """Connect the page's test wallet."""
    page.get_by_test_id("connect").click()
    expect(page.get_by_test_id("account")).to_be_visible()


def confirmed(page: Page) -> None:
    """Wait for the page's transaction to be confirmed."""
    expect(page.get_by_test_id("tx-status")).to_contain_text("confirmed in block")


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical accessibility violations in the page as it is now."""
    page.evaluate(AXE.read_text())
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@ape.fixture(scope="session", chain_isolation=False)
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@ape.fixture(scope="module", chain_isolation=False)
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaoStack]:
    with dao_stack(tmp_path_factory.mktemp("dao-stack")) as running:
        yield running


OpenApp = Callable[..., Page]


@pytest.fixture
def open_app(browser: Browser, stack: DaoStack) -> Iterator[OpenApp]:
    """`open_app(account=None, path="/", wallet_chain_id=None, app_url=None, more_wallets={})`:
    a fresh browser profile on the app, with the test wallet for `account` (none: no wallet at
    all) and more wallets by name. Every page must finish without an uncaught script error."""
    opened: list[tuple[object, list[str]]] = []

    def open_page(
        account: str | None = None,
        *,
        path: str = "/",
        wallet_chain_id: str | None = None,
        app_url: str | None = None,
        more_wallets: dict[str, str] | None = None,
    ) -> Page:
        context = browser.new_context(viewport=VIEWPORT)
        if account is not None:
            context.add_init_script(wallet_script(stack.anvil.url, account, wallet_chain_id))
        for name, other in (more_wallets or {}).items():
            context.add_init_script(wallet_script(stack.anvil.url, other, name=name))
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        opened.append((context, errors))
        page.goto((app_url or stack.app_url) + path)
        return page

    yield open_page
    failures = [error for _, errors in opened for error in errors]
    for context, _ in opened:
        context.close()  # type: ignore[attr-defined]
    assert not failures, f"uncaught errors in the page: {failures}"
