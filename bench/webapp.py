"""The members' web app: first render of the proposal list, its RPC round trips, its bundle size.

On a fresh anvil node: deploy SpheronDevsNFT and SpheronDevsDAO, mint, create proposals with 1 KB
specs and a vote each, and serve the built app (in-process `WebAppServer`). Headless Chromium
(Playwright, the system's browser) opens the page with no wallet, in a fresh profile each time:

- `webapp.first_render_<N>_ms`: from the start of navigation (`performance.now()` is 0 there) to
  the moment all N proposal rows are in the page; median of `runs`.
- `webapp.rpc_requests_<N>`: HTTP requests the page sent to the RPC URL until then. JSON-RPC
  batching puts many calls in one request, so this is the number of round trips; it is measured
  at 10 and at `proposals` proposals to show that it does not grow with their number.
- `webapp.rpc_calls_<N>`: JSON-RPC calls inside those requests.
- `webapp.bundle_gzip_kib`: `webapp/dist/app.js` gzipped (level 9), and its raw size.
"""

from __future__ import annotations

import gzip
import json
import statistics
from pathlib import Path
from typing import Any

from bench.contracts import NFT_PRICE_WEI, deploy_spheron
from bench.gas import SPHERON_CONTRACTS
from bench.specs import spec_json
from services.webapp.config import LOCAL_POLL_INTERVAL_MS, AppConfig
from services.webapp.server import DIST_DIR, WebAppServer
from testbed.anvil import Anvil
from testbed.browser import launch_chromium
from testbed.contracts import Chain, load_artifacts

SPEC_BYTES = 1024
FEW = 10
_FOR = 1


def bundle_size(dist: Path = DIST_DIR) -> dict[str, float]:
    code = (dist / "app.js").read_bytes()
    return {
        "webapp.bundle_kib": len(code) / 1024,
        "webapp.bundle_gzip_kib": len(gzip.compress(code, compresslevel=9)) / 1024,
    }


def _render_once(browser: Any, url: str, rpc_url: str, count: int) -> tuple[float, int, int]:
    """(ms to render `count` rows, RPC requests, RPC calls) in a fresh browser profile."""
    context = browser.new_context()
    requests: list[Any] = []
    try:
        page = context.new_page()
        page.on("request", lambda r: requests.append(r) if r.url.rstrip("/") == rpc_url else None)
        page.goto(url)
        rendered = page.wait_for_function(
            "n => document.querySelectorAll('.proposal-row').length >= n && performance.now()",
            arg=count,
            polling="raf",
            timeout=60_000,
        ).json_value()
        sent = list(requests)
        calls = 0
        for request in sent:
            body = json.loads(request.post_data or "null")
            calls += len(body) if isinstance(body, list) else 1
        return float(rendered), len(sent), calls
    finally:
        context.close()


def measure_webapp(proposals: int = 100, runs: int = 3) -> dict[str, float | int]:
    from playwright.sync_api import sync_playwright

    few = min(FEW, proposals)
    results: dict[str, float | int] = dict(bundle_size())
    with Anvil() as anvil:
        chain = Chain(anvil.url)
        owner, member = chain.accounts[:2]
        contracts = deploy_spheron(chain, load_artifacts(SPHERON_CONTRACTS), owner, max_supply=10)
        dao, nft = contracts.dao, contracts.nft
        chain.transact(nft.functions.mint(1), sender=member, value=NFT_PRICE_WEI)
        chain.mine()
        config = AppConfig(
            chain_id=chain.chain_id,
            chain_name="Local",
            rpc_url=anvil.url,
            dao_address=dao.address,
            nft_address=nft.address,
            deployment_block=int(dao.functions.deploymentBlock().call()),
            poll_interval_ms=LOCAL_POLL_INTERVAL_MS,
        )
        with WebAppServer(config) as server, sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            created = 0
            for target in sorted({few, proposals}):
                while created < target:
                    created += 1
                    spec = spec_json(SPEC_BYTES, cluster=f"render-{created}")
                    chain.transact(dao.functions.createProposal(spec), sender=member)
                    chain.transact(dao.functions.voteOnProposal(created, _FOR), sender=member)
                samples = [
                    _render_once(browser, server.url + "/", anvil.url, target) for _ in range(runs)
                ]
                results[f"webapp.first_render_{target}_ms"] = statistics.median(
                    ms for ms, _, _ in samples
                )
                results[f"webapp.rpc_requests_{target}"] = max(n for _, n, _ in samples)
                results[f"webapp.rpc_calls_{target}"] = max(c for _, _, c in samples)
            browser.close()
    results["webapp.render_proposals"] = proposals
    return results
