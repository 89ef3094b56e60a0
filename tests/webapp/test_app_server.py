"""The app server over real HTTP: the build's files with their types and security headers, the
config for the network, nothing else; and `ape run app` serving a DAO on a real chain."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import ape
import pytest
import requests

from services.common import exit_codes
from services.webapp.config import AppConfig, AppConfigError, content_security_policy
from services.webapp.serve import free_local_port
from services.webapp.server import DIST_DIR, AppNotBuiltError, WebAppServer
from testbed.anvil import Anvil
from testbed.bot_process import APE, ROOT, watcher_environment
from testbed.contracts import DaoContracts
from tests.webapp.stack import deploy_dao, wait_for_line

DAO = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
NFT = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
CONFIG = AppConfig(
    chain_id=11155111,
    chain_name="Sepolia",
    rpc_url="https://rpc.example/v1/path",
    dao_address=DAO.lower(),
    nft_address=NFT,
    deployment_block=7,
    bot_url="http://127.0.0.1:9464",
)


@pytest.fixture
def server():
    with WebAppServer(CONFIG) as running:
        yield running


def test_the_page_and_its_files_are_served_with_their_types(server):
    page = requests.get(server.url + "/", timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<script src="app.js" defer></script>' in page.text
    assert "<script>" not in page.text, "no inline script"
    for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css")):
        response = requests.get(f"{server.url}/{name}", timeout=5)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith(kind)
        assert response.content == (DIST_DIR / name).read_bytes()


def test_every_answer_carries_the_security_headers(server):
    for path in ("/", "/app.js", "/config.json", "/missing"):
        headers = requests.get(server.url + path, timeout=5).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "unsafe" not in csp
        assert "connect-src 'self' https://rpc.example http://127.0.0.1:9464;" in csp
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"


def test_config_json_describes_the_network_and_can_change_while_serving(server):
    config = requests.get(server.url + "/config.json", timeout=5).json()
    assert config == {
        "chainId": 11155111,
        "chainName": "Sepolia",
        "rpcUrl": "https://rpc.example/v1/path",
        "daoAddress": DAO,
        "nftAddress": NFT,
        "deploymentBlock": 7,
        "botUrl": "http://127.0.0.1:9464",
        "explorerUrl": None,
        "pollIntervalMs": 4000,
    }
    server.config = replace(CONFIG, bot_url="http://127.0.0.1:9999")
    response = requests.get(server.url + "/config.json", timeout=5)
    assert response.json()["botUrl"] == "http://127.0.0.1:9999"
    assert "http://127.0.0.1:9999" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "path", ["/../Makefile", "/%2e%2e/Makefile", "/.built", "/src/main.ts", "/app.js/", "//etc"]
)
def test_nothing_outside_the_build_is_served(server, path):
    response = requests.get(server.url + path, timeout=5)
    assert response.status_code == 404


def test_only_get_and_head(server):
    assert requests.head(server.url + "/", timeout=5).status_code == 200
    assert requests.post(server.url + "/", timeout=5).status_code == 405


def test_config_refuses_what_the_page_could_not_use():
    with pytest.raises(AppConfigError, match="RPC URL"):
        replace(CONFIG, rpc_url="ws://127.0.0.1:8545")
    with pytest.raises(AppConfigError, match="user:password"):
        replace(CONFIG, bot_url="http://user:pw@127.0.0.1:9464")
    with pytest.raises(ValueError, match="wrong checksum"):
        replace(CONFIG, dao_address="0x5FbDB2315678afecb367f032d93F642f64180aA3")
    no_bot = replace(CONFIG, bot_url=None)
    assert "connect-src 'self' https://rpc.example;" in content_security_policy(no_bot)


def test_an_unbuilt_app_is_reported(tmp_path: Path):
    with pytest.raises(AppNotBuiltError, match="run make"):
        WebAppServer(CONFIG, dist_dir=tmp_path)


@ape.fixture(scope="module", chain_isolation=False)
def local_dao() -> Iterator[tuple[Anvil, DaoContracts]]:
    with Anvil() as anvil:
        _, contracts = deploy_dao(anvil)
        yield anvil, contracts


def test_ape_run_app_serves_the_dao_on_a_local_chain(local_dao, tmp_path):
    anvil, contracts = local_dao
    port = free_local_port()
    log = tmp_path / "app.log"
    args = ["--network", anvil.network_choice, "--dao", contracts.dao.address]
    with log.open("wb") as out:
        app = subprocess.Popen(
            [str(APE), "run", "app", *args, "--port", str(port)],
            cwd=ROOT,
            env=watcher_environment({}),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_line(log, re.compile(r"^app: http://127\.0\.0\.1:\d+/", re.M), app)
        config = requests.get(f"http://127.0.0.1:{port}/config.json", timeout=5).json()
        assert config["chainId"] == 1337
        assert config["rpcUrl"] == anvil.url
        assert config["daoAddress"] == contracts.dao.address
        assert config["nftAddress"] == contracts.nft.address
        assert config["deploymentBlock"] == contracts.dao.functions.deploymentBlock().call()
        assert config["botUrl"] is None
        assert config["pollIntervalMs"] == 1000
        text = log.read_text()
        assert "deploy bot: none" in text
    finally:
        app.terminate()
        assert app.wait(30) == 0
    assert "app: stopped" in log.read_text()


def test_ape_run_app_without_a_dao_says_how_to_give_one(local_dao):
    anvil, _ = local_dao
    result = subprocess.run(
        [str(APE), "run", "app", "--network", anvil.network_choice, "--port", "0"],
        cwd=ROOT,
        env=watcher_environment({}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == exit_codes.CONFIG, result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("error: no SpheronDevsDAO address for ethereum:local: pass --dao ADDRESS")
    )
