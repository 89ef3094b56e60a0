"""services.chain.contracts address resolution: override > environment > ape-config.yaml >
Ape's deployment cache, with clear messages, using real files in temporary folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.chain.contracts import (
    InvalidAddressError,
    MissingAddressError,
    locate_address,
    resolve_address,
)

OVERRIDE = "0x1111111111111111111111111111111111111111"
FROM_ENV = "0x2222222222222222222222222222222222222222"
FROM_CONFIG = "0x3333333333333333333333333333333333333333"
FROM_CACHE = "0x4444444444444444444444444444444444444444"
CHECKSUMMED = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


@pytest.fixture
def project_root(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


@pytest.fixture
def data_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "ape-data"
    folder.mkdir()
    return folder


def _write_config(root: Path, text: str, name: str = "ape-config.yaml") -> None:
    (root / name).write_text(text, encoding="utf-8")


def _write_cache(folder: Path, entries: dict) -> None:
    (folder / "ethereum").mkdir(exist_ok=True)
    (folder / "ethereum" / "deployments_map.json").write_text(
        json.dumps({"ecosystems": {"ethereum": entries}}), encoding="utf-8"
    )


CONFIG = f"""
name: demo
deployments:
  ethereum:
    sepolia:
      - contract_type: SpheronDevsDAO
        address: "0x9999999999999999999999999999999999999999"
      - contract_type: SpheronDevsNFT
        address: "{FROM_CONFIG}"
      - contract_type: SpheronDevsDAO
        address: "{FROM_CONFIG}"
"""


def _resolve(root: Path, folder: Path, environ: dict[str, str], override: str | None = None):
    return locate_address(
        "SpheronDevsDAO",
        ecosystem="ethereum",
        network="sepolia",
        override=override,
        environ=environ,
        project_root=root,
        data_folder=folder,
    )


def test_each_source_in_order(project_root, data_folder):
    _write_config(project_root, CONFIG)
    _write_cache(data_folder, {"sepolia": {"SpheronDevsDAO": [{"address": FROM_CACHE}]}})
    environ = {"DAO_CONTRACT_ADDRESS": FROM_ENV}

    found = _resolve(project_root, data_folder, environ, override=OVERRIDE)
    assert (found.address, found.source) == (OVERRIDE, "--dao")

    found = _resolve(project_root, data_folder, environ)
    assert (found.address, found.source) == (FROM_ENV, "DAO_CONTRACT_ADDRESS")

    found = _resolve(project_root, data_folder, {"DAO_CONTRACT_ADDRESS": "  "})
    assert found.address == FROM_CONFIG, "the last config entry of the contract type wins"
    assert found.source == "ape-config.yaml deployments (ethereum:sepolia)"

    (project_root / "ape-config.yaml").unlink()
    found = _resolve(project_root, data_folder, {})
    assert (found.address, found.source) == (
        FROM_CACHE,
        "Ape's deployment cache (ethereum:sepolia)",
    )


def test_config_is_read_per_network_and_contract(project_root, data_folder):
    _write_config(project_root, CONFIG)
    nft = resolve_address(
        "SpheronDevsNFT",
        ecosystem="ethereum",
        network="sepolia",
        override=None,
        environ={"DAO_CONTRACT_ADDRESS": FROM_ENV},
        project_root=project_root,
        data_folder=data_folder,
    )
    assert nft == FROM_CONFIG
    with pytest.raises(MissingAddressError):
        resolve_address(
            "SpheronDevsDAO",
            ecosystem="ethereum",
            network="mainnet",
            override=None,
            environ={},
            project_root=project_root,
            data_folder=data_folder,
        )


def test_config_expands_environment_variables_like_ape(project_root, data_folder):
    _write_config(
        project_root,
        "deployments:\n  ethereum:\n    sepolia:\n"
        "      - contract_type: SpheronDevsDAO\n        address: $MY_DAO\n",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MY_DAO", FROM_CONFIG)
        assert _resolve(project_root, data_folder, {}).address == FROM_CONFIG


def test_json_config_and_latest_cache_entry(project_root, data_folder):
    _write_config(
        project_root,
        json.dumps({"deployments": {"ethereum": {"holesky": []}}}),
        name="ape-config.json",
    )
    _write_cache(
        data_folder,
        {"sepolia": {"SpheronDevsDAO": [{"address": FROM_CONFIG}, {"address": FROM_CACHE}]}},
    )
    assert _resolve(project_root, data_folder, {}).address == FROM_CACHE


def test_missing_address_says_how_to_set_it(project_root, data_folder):
    with pytest.raises(MissingAddressError) as info:
        _resolve(project_root, data_folder, {})
    message = str(info.value)
    assert message.startswith("no SpheronDevsDAO address for ethereum:sepolia: ")
    for hint in ("--dao ADDRESS", "DAO_CONTRACT_ADDRESS=ADDRESS", "ape-config.yaml", "sepolia:"):
        assert hint in message


@pytest.mark.parametrize(
    "value, reason",
    [
        ("0x1234", "is not an address"),
        ("not-an-address", "is not an address"),
        ("0x5FbDB2315678afecb367f032d93F642f64180aA3", "has a wrong checksum"),
        ("0x" + "0" * 40, "the zero address"),
    ],
)
def test_invalid_addresses_name_their_source(project_root, data_folder, value, reason):
    with pytest.raises(InvalidAddressError) as info:
        _resolve(project_root, data_folder, {"DAO_CONTRACT_ADDRESS": value})
    assert str(info.value).startswith("DAO_CONTRACT_ADDRESS: ")
    assert reason in str(info.value)


def test_single_case_addresses_are_checksummed(project_root, data_folder):
    found = _resolve(project_root, data_folder, {}, override=CHECKSUMMED.lower())
    assert found.address == CHECKSUMMED
    found = _resolve(project_root, data_folder, {}, override="0x" + CHECKSUMMED[2:].upper())
    assert found.address == CHECKSUMMED
