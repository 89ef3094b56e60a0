"""The build pins: one Solidity version shared by ape-config.yaml and package.json, the
OpenZeppelin version in the Ape dependency equal to the npm package, exact npm pins, and the
browser tests' Playwright pinned (it drives the system's Chromium, never a downloaded one)."""

import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _ape_config() -> dict:
    return yaml.safe_load((ROOT / "ape-config.yaml").read_text())


def _package_json() -> dict:
    return json.loads((ROOT / "package.json").read_text())


def test_solidity_version_is_pinned_once():
    assert _ape_config()["solidity"]["version"] == _package_json()["dependencies"]["solc"]


def test_contracts_pin_the_same_compiler():
    version = _package_json()["dependencies"]["solc"]
    sources = [
        path
        for path in (ROOT / "contracts").rglob("*.sol")
        if not any(part.startswith(".") for part in path.relative_to(ROOT).parts)
    ]
    assert sources
    for source in sources:  # Ape's dependency copies under contracts/.cache are not ours
        assert f"pragma solidity {version};" in source.read_text(), source.name


def test_openzeppelin_dependency_matches_npm_package():
    npm_version = _package_json()["dependencies"]["@openzeppelin/contracts"]
    [dependency] = [d for d in _ape_config()["dependencies"] if d["name"] == "openzeppelin"]
    assert dependency["version"] == npm_version
    remapping = _ape_config()["solidity"]["import_remapping"]
    assert f"@openzeppelin/contracts=openzeppelin/{npm_version}" in remapping


def test_npm_packages_are_pinned_exactly():
    package = _package_json()
    pins = {**package["dependencies"], **package["devDependencies"]}
    loose = {name: pin for name, pin in pins.items() if not pin[:1].isdigit()}
    assert not loose, f"pin these exactly: {loose}"


def test_playwright_is_pinned_and_never_fetches_a_browser():
    requirements = (ROOT / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("playwright==") for line in requirements)
    makefile = (ROOT / "Makefile").read_text()
    assert "playwright install" not in makefile
