"""Every script answers `--help` with its usage, without a network or an account."""

from __future__ import annotations

import ape
import pytest

from tests.scripts.conftest import ApeRunner, Call

SCRIPTS = {
    "deploy": ("--voting-period", "--quorum", "--price", "--max-supply", "--publish"),
    "mint": ("--quantity", "--nft", "--dao", "--account"),
    "create_proposal": ("SPEC_FILE", "--dry-run", "--dao", "--account"),
    "vote": ("PROPOSAL_ID CHOICE", "yay", "--account"),
    "execute": ("PROPOSAL_ID", "DeployEvent", "--account"),
    "status": ("[PROPOSAL_ID]", "--limit", "--dao"),
    "app": ("--port", "--bot-url", "--rpc-url", "--dao"),
}


@ape.fixture(scope="module", chain_isolation=False)
def helps(script_env) -> dict[str, object]:
    runner = ApeRunner("", script_env)
    calls = [Call(name, ["--help"], network=False) for name in SCRIPTS]
    calls.append(Call("--help", network=False))
    results = runner.run_all(calls)
    return dict(zip([*SCRIPTS, "ape run"], results, strict=True))


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_script_help(helps, script):
    result = helps[script].ok()
    assert result.stdout.startswith(f"Usage: ape run {script} [OPTIONS]"), result
    for word in (*SCRIPTS[script], "--network"):
        assert word in result.stdout, (word, result)
    assert not result.stderr.strip(), result


def test_ape_run_lists_every_script(helps):
    result = helps["ape run"].ok()
    for script in SCRIPTS:
        assert f"  {script} " in result.stdout, result
