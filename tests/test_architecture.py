"""The package map of ARCHITECTURE.md, enforced: imports flow one way, and nothing in the product
imports the development tooling."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: What each package may import, besides itself, the standard library and third-party packages.
ALLOWED: dict[str, set[str]] = {
    "services.common": set(),
    "services.spec": {"services.common"},
    "services.chain": {"services.common", "services.spec"},
    "services.targets": {"services.common", "services.spec"},
    "services.bot": {"services.common", "services.spec", "services.chain", "services.targets"},
    "services.cli": {"services.common", "services.spec", "services.chain"},
    "services.webapp": {"services.common", "services.spec", "services.chain", "services.cli"},
    "scripts": {
        "services.common",
        "services.spec",
        "services.chain",
        "services.targets",
        "services.bot",
        "services.cli",
        "services.webapp",
    },
}
PRODUCT = ("services", "scripts")
FIRST_PARTY = ("services", "scripts", "testbed", "bench", "tests")


def first_party_imports(path: Path) -> set[str]:
    """Every first-party module `path` imports, at any depth of the file (lazy imports count)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        found.update(name for name in names if name.split(".")[0] in FIRST_PARTY)
    return found


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "services" and len(parts) > 1 else parts[0]


def modules_of(package: str) -> list[Path]:
    folder = ROOT.joinpath(*package.split("."))
    return sorted(folder.rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_what_the_map_allows(package: str) -> None:
    files = modules_of(package)
    assert files, f"no modules in {package}"
    offending = {}
    for path in files:
        bad = {
            module
            for module in first_party_imports(path)
            if package_of(module) not in ALLOWED[package] | {package}
        }
        if bad:
            offending[str(path.relative_to(ROOT))] = sorted(bad)
    assert offending == {}, f"imports against the map in ARCHITECTURE.md: {offending}"


def test_every_product_package_is_in_the_map() -> None:
    packages = {f"services.{p.name}" for p in (ROOT / "services").iterdir() if p.is_dir()}
    packages.discard("services.__pycache__")
    assert packages == set(ALLOWED) - {"scripts"}
    top_level = [p.name for p in (ROOT / "services").glob("*.py") if p.name != "__init__.py"]
    assert top_level == [], "every product module belongs to a package"


def test_the_product_never_imports_the_development_tooling() -> None:
    for package in PRODUCT:
        for path in modules_of(package):
            tooling = {
                m for m in first_party_imports(path) if m.split(".")[0] in ("testbed", "bench")
            }
            assert not tooling, f"{path.relative_to(ROOT)} imports {sorted(tooling)}"


def test_the_rule_catches_a_forbidden_import(tmp_path: Path) -> None:
    """The check reads lazy imports too, so a function-level import cannot slip through."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from services.bot.ledger import Ledger\n    return Ledger\n")
    imported = first_party_imports(module)
    assert imported == {"services.bot.ledger"}
    assert package_of("services.bot.ledger") not in ALLOWED["services.cli"]


def test_the_installed_package_and_the_image_carry_only_the_product() -> None:
    import tomllib

    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]
    assert packages and all(package.split(".")[0] == "services" for package in packages)
    assert set(packages) == {"services", *ALLOWED} - {"scripts"}
    dockerignore = (ROOT / ".dockerignore").read_text().split()
    assert {"testbed", "bench", "tests"} <= set(dockerignore)
    copied = (ROOT / "Dockerfile").read_text()
    assert "COPY --chown=bot:bot testbed" not in copied
