"""The browser and Python agree: the web app's spec checks (ajv on the schema exported from the
pydantic model, plus the rules JSON Schema cannot express), canonical form, spec hash, summary and
revert messages, run in node, against services.spec and services.cli.error_catalogue.

The spec corpus: every example, every case of the Python rule tables in tests/spec/test_model.py
(reused, not copied), texts that are not JSON the rules accept, cases for the rules outside JSON
Schema, and random valid specs in random layouts. Each must be accepted or refused alike, with the
same field paths and messages (Python's JSON syntax errors come from its json module; for those the
browser gives its own wording of the same problem at the same path).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tests.spec.test_model as spec_tests
from services.cli.error_catalogue import RevertContext, describe_custom_error
from services.spec.model import (
    MAX_SPEC_BYTES,
    SpecError,
    canonical_json,
    parse_spec,
    spec_hash,
    spec_summary,
)
from tests.webapp.node_bundle import ROOT, NodeScript

EXAMPLES = sorted((ROOT / "examples").rglob("*.json"))
PYTHON_JSON_SYNTAX = re.compile(r"^invalid JSON: .* at line \d+ column \d+$")


@pytest.fixture(scope="module")
def browser_side(tmp_path_factory: pytest.TempPathFactory) -> NodeScript:
    entry = Path(__file__).parent / "node" / "agreement.ts"
    return NodeScript(entry, tmp_path_factory.mktemp("agreement"))


def python_check(text: str, max_bytes: int) -> dict[str, Any]:
    try:
        spec = parse_spec(text, max_bytes=max_bytes)
    except SpecError as error:
        problems = [
            dict(zip(("path", "message"), e.split(": ", 1), strict=True)) for e in error.errors
        ]
        return {"ok": False, "problems": problems}
    canonical = canonical_json(spec)
    return {
        "ok": True,
        "canonical": canonical,
        "hash": "0x" + spec_hash(canonical).hex(),
        "summary": spec_summary(spec),
    }


def check_agreement(browser_side: NodeScript, texts: list[str], max_bytes: int = MAX_SPEC_BYTES):
    answers = browser_side.run(
        {"specs": [{"text": t, "maxBytes": max_bytes} for t in texts], "reverts": []}
    )["specs"]
    for text, browser in zip(texts, answers, strict=True):
        python = python_check(text, max_bytes)
        where = f"spec {text[:300]!r}"
        assert browser["ok"] == python["ok"], f"{where}\npython: {python}\nbrowser: {browser}"
        if python["ok"]:
            assert browser == python, where
            continue
        expected = sorted((p["path"], p["message"]) for p in python["problems"])
        got = sorted((p["path"], p["message"]) for p in browser["problems"])
        if len(expected) == 1 and PYTHON_JSON_SYNTAX.match(expected[0][1]):
            assert [path for path, _ in got] == ["spec"], where
            assert got[0][1].startswith("invalid JSON: "), where
        else:
            assert got == expected, where


def parametrized(test: Any) -> list[tuple[Any, ...]]:
    """The cases of a test's ``@pytest.mark.parametrize`` table."""
    mark = next(mark for mark in test.pytestmark if mark.name == "parametrize")
    return list(mark.args[1])


def test_every_example_is_accepted_alike_with_the_same_canonical_form_and_hash(browser_side):
    texts = [path.read_text(encoding="utf-8") for path in EXAMPLES]
    assert len(texts) >= 4
    check_agreement(browser_side, texts)


def test_every_case_of_the_python_rule_tables_is_refused_alike(browser_side):
    texts = []
    for path, value, _ in parametrized(spec_tests.test_each_rule_refuses_with_its_message):
        texts.append(json.dumps(spec_tests.changed(path, value)))
    for (where,) in (
        (w,) for w in parametrized(spec_tests.test_unknown_fields_are_refused_at_every_level)
    ):
        texts.append(json.dumps(spec_tests.changed(where + "bogus", 1)))
    for path, value in parametrized(spec_tests.test_edge_values_that_are_allowed):
        texts.append(json.dumps(spec_tests.changed(path, value)))
    assert len(texts) > 100
    check_agreement(browser_side, texts)


def test_texts_that_are_not_an_acceptable_json_object_are_refused_alike(browser_side):
    texts = []
    for text, _ in parametrized(spec_tests.test_documents_that_are_not_a_json_object_are_refused):
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                continue  # a browser string is always text; bytes are checked by Python only
        texts.append(text)
    base = json.dumps(spec_tests.base_spec())
    texts += [
        base.replace('"type": "spot"', '"type": "spot", "type": "demand"'),
        base.replace('"replicas": 2', '"replicas": 2, "replicas": 20'),
        '{"a": [' + "[" * 15 + "]" * 15 + "]}",  # 17 levels
        '{"a": [' + "[" * 14 + "]" * 14 + "]}",  # 16 levels: parsed, then unknown field
        '{"a": "\\ud83d\\ude00"}',  # a surrogate pair is fine
        '{"a": "\\udc00"}',
        '{"a": 1',
        '{"a": tru}',
        '{"a": "\t"}',
        "{'a': 1}",
        '{"a": 01}',
        '{"a": 1,}',
        "  ",
        "{} {}",
        '{"__proto__": {"x": 1}}',
        "1" * 4301,
        "-" + "1" * 4300,
    ]
    check_agreement(browser_side, texts)


def _doc_text(**changes: Any) -> str:
    doc = spec_tests.base_spec()
    for path, value in changes.items():
        spec_tests.set_path(doc, path.replace("__", "."), value)
    return json.dumps(doc)


def test_rules_outside_json_schema_are_applied_alike(browser_side):
    base = json.dumps(spec_tests.base_spec())
    big = "9" * 400
    texts = [
        # numbers written with a fraction or an exponent where an integer is required
        base.replace('"storage": 20', '"storage": 20.0'),
        base.replace('"storage": 20', '"storage": 2e1'),
        base.replace('"storage": 20', '"storage": 2E+1'),
        base.replace('"replicas": 2', '"replicas": 1.0e0'),
        base.replace('"exposedPort": 8080', '"exposedPort": 8080.000'),
        base.replace('"size": 10', '"size": 1e30'),
        base.replace('"storage": 20', f'"storage": {big}'),
        base.replace('"storage": 20', '"storage": -0'),
        base.replace('"storage": 20', '"storage": 123456789012345678901234567890123'),
        base.replace('"cpu": 2', '"cpu": 2.0'),
        base.replace('"cpu": 2', '"cpu": 2e0'),
        base.replace('"cpu": 2', f'"cpu": {big}'),
        base.replace('"cpu": 2', '"cpu": 1e20'),
        base.replace('"cpu": 2', '"cpu": 1e-5'),
        base.replace('"cpu": 2', '"cpu": 123.456'),
        base.replace('"memory": 4', '"memory": 4.0000000000000001'),
        # secrets: never echoed, also in type errors
        base.replace('"value": "${secret:DB_PASSWORD}"', '"value": 12.5'),
        base.replace('"value": "${secret:DB_PASSWORD}"', '"value": ["hunter2"]'),
        # model rules: only once the fields are valid
        _doc_text(configuration__machineImageId="m-1", clusterName="Bad"),
        _doc_text(configuration__machineImageId="m-1", configuration__region="a b"),
        _doc_text(configuration__machineImageId=None),
        _doc_text(configuration__customSpecs=None),
        _doc_text(healthCheckConfig__port=81, clusterName="Bad"),
        _doc_text(healthCheckConfig__port=81, configuration__machineImageId="m-1"),
        _doc_text(
            configuration__ports=[
                {"containerPort": 80, "exposedPort": 1},
                {"containerPort": 80, "exposedPort": 1},
                {"containerPort": 80, "exposedPort": 2},
            ]
        ),
        _doc_text(
            configuration__environmentVariables=[
                {"key": "DB_PASS", "value": "1"},
                {"key": "B", "value": "2"},
                {"key": "B", "value": "3"},
            ]
        ),
        # secret names in any case, and the exemptions
        _doc_text(configuration__environmentVariables__0__key="Db_PassWord"),
        _doc_text(configuration__environmentVariables__0__key="my_Allow_Empty_Password"),
        _doc_text(configuration__environmentVariables__0__key="X_SECRET_KEY"),
        _doc_text(configuration__environmentVariables__0__key="SECRET_KEYS"),
        _doc_text(configuration__environmentVariables__0__key="MNEMONIC"),
        # image hints, long values cut in messages, non-ASCII
        _doc_text(configuration__image="ghcr.io/acme/app:v1@sha256:00"),
        _doc_text(configuration__image="registry.example.com:5000/team/app:2.1"),
        _doc_text(configuration__image="Registry.Example.com/App"),
        _doc_text(configuration__image="localhost:5000"),
        _doc_text(clusterName="x" * 62 + "é"),
        _doc_text(configuration__tag="é" * 70),
        _doc_text(configuration__region="€" * 65),
        _doc_text(configuration__persistentStorage__mountPoint="/a/./b"),
        _doc_text(configuration__persistentStorage__mountPoint="/a/.../b"),
        _doc_text(configuration__persistentStorage__mountPoint="/a\nb"),
        _doc_text(healthCheckConfig__path="/ok\n"),
        _doc_text(configuration__commands=["a\u0000b", 5, None]),
        _doc_text(configuration__environmentVariables__0__value="\u2028 <script>"),
        _doc_text(type=["spot"]),
        _doc_text(configuration__persistentStorage__class=None),
        _doc_text(configuration__customSpecs__cpu=False),
    ]
    check_agreement(browser_side, texts)


def test_size_limits_count_utf8_bytes_alike(browser_side):
    compact = json.dumps(spec_tests.base_spec(), separators=(",", ":"), ensure_ascii=False)
    accented = compact.replace('"prod"', '"' + "é" * 50 + '"')
    size = len(accented.encode("utf-8"))
    for limit in (size - 1, size):
        check_agreement(browser_side, [accented, accented + " "], max_bytes=limit)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    docs=st.lists(spec_tests.valid_specs(), min_size=10, max_size=10),
    indent=st.sampled_from([None, 2, "\t"]),
    ascii_only=st.booleans(),
)
def test_random_valid_specs_get_the_same_canonical_form_and_hash(
    browser_side, docs, indent, ascii_only
):
    texts = [
        json.dumps(spec_tests._reorder(doc), indent=indent, ensure_ascii=ascii_only) for doc in docs
    ]
    check_agreement(browser_side, texts, max_bytes=1 << 20)


# ---- revert messages ----------------------------------------------------------------------------

_SAMPLE_ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
_DEADLINE = 1_795_480_985


def _error_abis() -> dict[str, list[dict[str, Any]]]:
    build = json.loads((ROOT / ".build" / "__local__.json").read_text())
    errors: dict[str, list[dict[str, Any]]] = {}
    for name in ("SpheronDevsDAO", "SpheronDevsNFT"):
        for item in build["contractTypes"][name]["abi"]:
            if item["type"] == "error":
                errors[item["name"]] = item["inputs"]
    return errors


def _sample(kind: str, name: str) -> Any:
    if kind == "address":
        return _SAMPLE_ADDRESS
    if kind == "string":
        return "votingPeriod"
    return {"deadline": _DEADLINE, "expiry": _DEADLINE, "expected": 10**16, "sent": 5}.get(name, 7)


def _revert_cases() -> list[tuple[str, dict[str, Any], RevertContext]]:
    contexts = [
        RevertContext(),
        RevertContext(now=_DEADLINE - 725, num_proposals=0),
        RevertContext(now=_DEADLINE + 90_061, num_proposals=1),
        RevertContext(now=_DEADLINE, num_proposals=12),
    ]
    cases = []
    for name, inputs in _error_abis().items():
        args = {item["name"]: _sample(item["type"], item["name"]) for item in inputs}
        cases += [(name, args, context) for context in contexts]
    for parameter in (
        "token",
        "votingPeriod",
        "quorumBps",
        "proposalThreshold",
        "maxSpecBytes",
        "x",
    ):
        cases.append(("SpheronDevsDAOInvalidParameter", {"parameter": parameter}, contexts[0]))
    cases += [
        ("SpheronDevsNFTSoldOut", {"requested": 3, "remaining": 0}, contexts[0]),
        ("SpheronDevsNFTWrongPayment", {"expected": 25 * 10**17, "sent": 1}, contexts[0]),
        (
            "SpheronDevsDAOInsufficientVotingPower",
            {"account": _SAMPLE_ADDRESS, "votes": 1, "threshold": 2},
            contexts[0],
        ),
        ("SpheronDevsDAOAlreadyVoted", {}, contexts[0]),
        ("Error", {"message": "nope <b>"}, contexts[0]),
        ("Panic", {"code": 0x11}, contexts[0]),
        ("Panic", {"code": 0x99}, contexts[0]),
        ("NotAnError", {"a": 1}, contexts[0]),
    ]
    return cases


def _for_node(value: Any) -> Any:
    return {"int": str(value)} if isinstance(value, int) else value


def test_every_revert_reads_the_same_in_the_browser(browser_side):
    cases = _revert_cases()
    request = {
        "specs": [],
        "reverts": [
            {
                "name": name,
                "args": {key: _for_node(value) for key, value in args.items()},
                "now": None if ctx.now is None else str(ctx.now),
                "numProposals": None if ctx.num_proposals is None else str(ctx.num_proposals),
            }
            for name, args, ctx in cases
        ],
    }
    answers = browser_side.run(request)["reverts"]
    for (name, args, ctx), browser in zip(cases, answers, strict=True):
        python = describe_custom_error(name, args, ctx)
        if "arguments could not be read" in python:
            assert "arguments could not be read" in browser, name
        else:
            assert browser == python, f"{name} {args} {ctx}"
    assert len({answer for answer in answers}) > 60, "the cases cover many distinct messages"
