"""services.cli: the parameter types, `.env` loading, and the one-line failure report."""

from __future__ import annotations

import os
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from services.chain.contracts import MissingAddressError
from services.cli.errors import CliError
from services.cli.failures import failure_message, report_failures
from services.cli.params import Duration, EtherAmount, Percent, VoteChoice
from services.common.env import load_env
from services.spec.model import SpecError


@pytest.mark.parametrize(
    "text, seconds",
    [("300", 300), ("90s", 90), ("5m", 300), ("5 min", 300), ("2h", 7_200), ("3d", 259_200)],
)
def test_duration(text, seconds):
    assert Duration().convert(text, None, None) == seconds


@pytest.mark.parametrize(
    "text, wei",
    [
        ("0.01", 10**16),
        ("1", 10**18),
        ("0", 0),
        ("10 gwei", 10**10),
        ("5 wei", 5),
        ("2eth", 2 * 10**18),
    ],
)
def test_ether_amount(text, wei):
    assert EtherAmount().convert(text, None, None) == wei


@pytest.mark.parametrize(
    "text, bps", [("20", 2_000), ("20%", 2_000), ("12.5", 1_250), ("0.01", 1), ("100", 10_000)]
)
def test_percent(text, bps):
    assert Percent().convert(text, None, None) == bps


@pytest.mark.parametrize(
    "param_type, text, reason",
    [
        (Duration(), "5 weeks", "is not a duration"),
        (EtherAmount(), "lots", "is not an amount"),
        (EtherAmount(), "0.5 wei", "not a whole number of wei"),
        (EtherAmount(), "-1", "negative"),
        (Percent(), "0", "between 0.01 and 100"),
        (Percent(), "100.5", "between 0.01 and 100"),
        (Percent(), "0.001", "between 0.01 and 100"),
        (VoteChoice(), "maybe", "use yay (for), nay (against) or abstain"),
    ],
)
def test_bad_values_are_usage_errors(param_type, text, reason):
    with pytest.raises(click.BadParameter, match=re.escape(reason)):
        param_type.convert(text, None, None)


def test_vote_words():
    words = {"yay": 1, "YES": 1, "for": 1, "nay": 0, "no": 0, "Against": 0, "abstain": 2}
    assert {word: VoteChoice().convert(word, None, None) for word in words} == words


def test_load_env_reads_the_nearest_env_file_without_overriding(tmp_path: Path):
    (tmp_path / ".env").write_text(
        "SPHERON_E2E_NEW=from-file\nSPHERON_E2E_SET=from-file\n", encoding="utf-8"
    )
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(nested)
        patch.setenv("SPHERON_E2E_SET", "from-environment")
        patch.delenv("SPHERON_E2E_NEW", raising=False)
        assert load_env() == str(tmp_path / ".env")
        assert os.environ["SPHERON_E2E_NEW"] == "from-file"
        assert os.environ["SPHERON_E2E_SET"] == "from-environment"
        patch.delenv("SPHERON_E2E_NEW")


def test_failures_of_known_kinds_become_their_message():
    assert failure_message(CliError("proposal 3 is closed")) == "proposal 3 is closed"
    assert failure_message(MissingAddressError("no DAO address")) == "no DAO address"
    assert failure_message(SpecError(["clusterName: bad", "tag: bad"])) == (
        "invalid spec (2 problems): clusterName: bad; tag: bad"
    )
    unexpected = failure_message(KeyError("boom"))
    assert unexpected.startswith("unexpected KeyError: 'boom'")


def test_report_failures_prints_one_redacted_line_and_exits_1():
    @click.command()
    @click.argument("kind")
    def command(kind: str) -> None:
        with report_failures():
            if kind == "secret":
                raise RuntimeError(f"bad key {os.environ['SPHERON_E2E_API_KEY']}\nsecond line")
            click.echo("fine")

    runner = CliRunner(mix_stderr=False)
    env = {"SPHERON_E2E_API_KEY": "abcdef123456"}
    result = runner.invoke(command, ["secret"], env=env)
    assert result.exit_code == 1
    assert result.stderr == "error: unexpected RuntimeError: bad key *** second line " + (
        "(run with -v DEBUG for details)\n"
    )
    assert "abcdef123456" not in result.stdout + result.stderr
    assert runner.invoke(command, ["ok"], env=env).stdout == "fine\n"
