"""The browser and Python agree: the web app's spec checks (ajv on the schema exported from the
pydantic model, plus the rules JSON Schema cannot express), canonical form, spec hash, summary and
revert messages, run in node, against services.spec and services.cli.error_catalogue; and for
update and close envelopes, their checks, canonical form and hash, what a vote means against the
instance as voted (the diff, or why the update cannot apply), and the voted state replayed from
DeployEvents (services.chain.voted_state.replay).

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
from services.chain.voted_state import replay
from services.cli.error_catalogue import RevertContext, describe_custom_error
from services.spec.model import (
    MAX_SPEC_BYTES,
    InstanceSpec,
    SpecError,
    canonical_json,
    parse_spec,
    spec_hash,
    spec_summary,
)
from services.spec.proposal import (
    FIXED_FIELDS,
    UpdateProposal,
    apply_changes,
    canonical_proposal_json,
    describe_proposal,
    kind_of,
    parse_proposal,
)
from tests.webapp.node_bundle import ROOT, NodeScript

EXAMPLES = sorted((ROOT / "examples").rglob("*.json"))
PYTHON_JSON_SYNTAX = re.compile(r"^invalid JSON: .* at line \d+ column \d+$")


@pytest.fixture(scope="module")
def browser_side(tmp_path_factory: pytest.TempPathFactory) -> NodeScript:
    entry = Path(__file__).parent / "node" / "agreement.ts"
    return NodeScript(entry, tmp_path_factory.mktemp("agreement"))


def as_problems(error: SpecError) -> list[dict[str, str]]:
    return [dict(zip(("path", "message"), e.split(": ", 1), strict=True)) for e in error.errors]


def python_check(text: str, max_bytes: int) -> dict[str, Any]:
    try:
        spec = parse_spec(text, max_bytes=max_bytes)
    except SpecError as error:
        return {"ok": False, "problems": as_problems(error)}
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
        assert_same_problems(python["problems"], browser["problems"], where)


def assert_same_problems(python: list[dict[str, str]], browser: list[dict[str, str]], where: str):
    """The same (path, message) pairs; for a JSON syntax error, the browser's wording of the same
    problem at the same path."""
    expected = sorted((p["path"], p["message"]) for p in python)
    got = sorted((p["path"], p["message"]) for p in browser)
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
    specs = [text for text in texts if '"action"' not in text]
    assert len(specs) >= 4
    check_agreement(browser_side, specs)
    answers = check_proposals_agree(browser_side, texts, [WEB, None])
    assert all(answer["ok"] for answer in answers)
    assert {answer["kind"] for answer in answers} == {"deploy", "update", "close"}


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


# ---- update and close envelopes ----------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(1)">'
JS_URL = "javascript:alert(1)"
WEB = (EXAMPLES[0].parent / "web-service.json").read_text()
DEPLOYED_SPECS = [
    WEB,
    (EXAMPLES[0].parent / "with-secret.json").read_text(),
    (EXAMPLES[0].parent / "node-persistent-storage.json").read_text(),
    json.dumps(spec_tests.base_spec()),
    _doc_text(configuration__customSpecs=None, configuration__machineImageId="emu-2cpu-4gi"),
]


def python_proposal(text: str, max_bytes: int, deployed: str | None) -> dict[str, Any]:
    """What Python says of a proposal's text and, against `deployed`, of its meaning."""
    try:
        proposal = parse_proposal(text, max_bytes=max_bytes)
    except SpecError as error:
        return {"ok": False, "problems": as_problems(error)}
    canonical = canonical_proposal_json(proposal)
    spec = None if deployed is None else parse_spec(deployed)
    try:
        meaning_text = describe_proposal(proposal, spec)
    except SpecError as error:
        meaning: dict[str, Any] = {"ok": False, "errors": error.errors}  # in order
    else:
        after = None
        if isinstance(proposal, InstanceSpec):
            after = canonical_json(proposal)
        elif isinstance(proposal, UpdateProposal) and spec is not None:
            after = canonical_json(apply_changes(spec, proposal.changes))
        meaning = {"ok": True, "text": meaning_text, "after": after}
    return {
        "ok": True,
        "kind": kind_of(proposal),
        "canonical": canonical,
        "hash": "0x" + spec_hash(canonical).hex(),
        "meaning": meaning,
    }


def check_proposals_agree(
    browser_side: NodeScript,
    texts: list[str],
    deployed: list[str | None],
    max_bytes: int = MAX_SPEC_BYTES,
) -> list[dict[str, Any]]:
    """Every text against every deployed spec (None: no target spec): the same verdict, problems,
    canonical form, hash and meaning. Python's answers, for tests that look closer."""
    cases = [(text, spec) for text in texts for spec in deployed]
    answers = browser_side.run(
        {"proposals": [{"text": t, "maxBytes": max_bytes, "deployed": d} for t, d in cases]}
    )["proposals"]
    pythons = []
    for (text, spec), browser in zip(cases, answers, strict=True):
        python = python_proposal(text, max_bytes, spec)
        where = f"proposal {text[:300]!r} against {(spec or 'no spec')[:80]!r}"
        assert browser["ok"] == python["ok"], f"{where}\npython: {python}\nbrowser: {browser}"
        if python["ok"]:
            assert browser == python, where
        else:
            assert_same_problems(python["problems"], browser["problems"], where)
        pythons.append(python)
    return pythons


def envelope(action: object = "update", **fields: object) -> str:
    return json.dumps({"action": action, **fields})


def update(target: object = 1, **changes: object) -> str:
    return envelope("update", target=target, changes=changes)


VALID_UPDATES = [
    update(tag="1.28", replicas=3),
    update(tag="1.27"),
    update(replicas=1),
    update(environmentVariables=[]),
    update(environmentVariables=[{"key": "A", "value": "1"}, {"key": "MODE", "value": "dev"}]),
    update(
        environmentVariables=[{"key": "NGINX_ENTRYPOINT_QUIET_LOGS", "value": "0"}],
        secretEnvironmentVariables=[{"key": "TOKEN_FILE", "value": "${secret:TOKEN}"}],
    ),
    update(secretEnvironmentVariables=[]),
    update(commands=["nginx", "-g", "daemon off;"], args=[]),
    update(commands=["é", "\u2028", "\x7f", "😀", SCRIPT], args=[IMG, JS_URL, 'a"b\\c']),
    update(customSpecs={"cpu": 0.5, "memory": 32}),
    update(customSpecs={"cpu": 2.0, "memory": 4e0}),
    update(machineImageId="emu-2cpu-4gi"),
    update(healthCheckConfig={"path": "/ready", "port": 80}),
    update(healthCheckConfig={"path": "/<b>", "port": 5432}),
    update(environmentVariables=[{"key": "A", "value": "1"}, {"key": "A", "value": "2"}]),
    update(
        environmentVariables=[{"key": "X", "value": "1"}],
        secretEnvironmentVariables=[{"key": "X", "value": "${secret:X}"}],
    ),
    update(target=2**256 - 1, tag="v2"),
    update(target=7, replicas=20),
    '{"changes": {"replicas": 3, "tag": "1.28"}, "target": 1, "action": "update"}',
    '{\n  "action": "update",\n  "target": 12345678901234567890123,\n  "changes": {"tag": "x"}\n}',
]
VALID_CLOSES = [
    envelope("close", target=1),
    envelope("close", target=2**256 - 1),
    '{"target":9007199254740993,"action":"close"}',
]
BAD_ENVELOPES = [
    # what cannot change in place, alone, together, and hiding other problems
    *(update(**{field: "x"}) for field in FIXED_FIELDS),
    update(type="demand", image="nginx", region=5, tag="1.28"),
    update(ports=[], bogus=1, tag="bad tag", replicas=2.0),
    envelope("update", target=0, changes={"storage": 30}),
    # null is not a change (its canonical form would drop it)
    update(machineImageId=None),
    update(customSpecs=None),
    update(customSpecs=None, machineImageId="m-1"),
    update(customSpecs={"cpu": 1, "memory": 1}, machineImageId=None),
    update(healthCheckConfig=None),
    update(tag=None),
    update(replicas=None, image="nginx"),
    update(environmentVariables=None),
    update(commands=None, args=None, tag="bad tag"),
    # nothing to change, or changes that are not an object
    update(),
    envelope("update", target=1, changes=None),
    envelope("update", target=1, changes=[]),
    envelope("update", target=1, changes="tag"),
    envelope("update", target=1),
    # bad targets
    *(
        update(target, tag="v")
        for target in (0, -1, "1", True, None, [1], {"id": 1}, 2**256, 10**80, -(10**40))
    ),
    '{"action":"update","target":1.0,"changes":{"tag":"v"}}',
    '{"action":"update","target":1e0,"changes":{"tag":"v"}}',
    '{"action":"close","target":1.5}',
    '{"action":"close","target":-0}',
    envelope("close"),
    envelope("close", target=1, changes={"tag": "x"}),
    envelope("update", target=1, changes={"tag": "v"}, note="hi"),
    # unknown actions, quoted as Python's json.dumps writes them
    *(
        envelope(action, target=1)
        for action in (
            "delete",
            "",
            "Update",
            5,
            None,
            True,
            [1, "é"],
            {"b": 1, "1": 2},
            "é" * 70,
            "\u2028" + SCRIPT,
            "\x7f\x1f",
            "😀",
        )
    ),
    '{"action": 1.0, "target": 1}',
    '{"action": 1e20, "target": 1}',
    '{"action": -0.0, "target": 1}',
    '{"action": 123456789012345678901234567890, "target": 1}',
    '{"action": {"2": [1.5e-7, {"a": null}], "x": "\\ud83d\\ude00"}, "target": 1}',
    # the fields' own rules, at their paths
    update(tag="bad tag"),
    update(tag="é" * 70),
    update(replicas=21),
    update(replicas=0),
    '{"action":"update","target":1,"changes":{"replicas":3.0}}',
    '{"action":"update","target":1,"changes":{"healthCheckConfig":{"path":"/","port":80.0}}}',
    update(environmentVariables=[{"key": "DB_PASSWORD", "value": "hunter2"}]),
    update(environmentVariables=[{"key": "1A", "value": "x\x00"}]),
    update(secretEnvironmentVariables=[{"key": "X", "value": "plaintext"}]),
    update(secretEnvironmentVariables=[{"key": "X", "value": 12.5}]),
    update(secretEnvironmentVariables="hunter2"),
    update(customSpecs={"cpu": 3, "memory": 4}),
    update(customSpecs={"cpu": 1, "memory": 1}, machineImageId="m"),
    update(customSpecs={"cpu": 1, "memory": 1}, machineImageId="bad id"),
    update(customSpecs={"cpu": 3, "memory": 1}, machineImageId="m"),
    update(machineImageId=""),
    update(healthCheckConfig={"path": "no-slash", "port": 0}),
    update(healthCheckConfig={"path": "/"}),
    update(commands=["a"] * 33),
    update(args=[5, None, "x" * 1025]),
    update(tag=IMG, commands=[SCRIPT, 1]),
    # texts that are not an acceptable envelope
    '{"action":"update","action":"close","target":1}',
    '{"action":"update","target":1,"changes":{"tag":"a","tag":"b"}}',
    '{"action":"close","target":1',
    '["action", "close"]',
]


def test_valid_envelopes_mean_the_same_against_every_deployed_spec(browser_side):
    answers = check_proposals_agree(
        browser_side, VALID_UPDATES + VALID_CLOSES, [*DEPLOYED_SPECS, None]
    )
    assert all(answer["ok"] for answer in answers)
    meanings = {answer["meaning"].get("text") for answer in answers}
    assert "update the instance of proposal 1: tag 1.27 → 1.28, replicas 2 → 3" in meanings
    assert "close the instance of proposal 1" in meanings
    refused = [answer["meaning"]["errors"] for answer in answers if not answer["meaning"]["ok"]]
    assert any("updated spec: healthCheckConfig.port" in line for e in refused for line in e)
    assert any('duplicate key "X"' in line for e in refused for line in e)


def test_bad_envelopes_are_refused_alike_with_the_same_paths_and_messages(browser_side):
    answers = check_proposals_agree(browser_side, BAD_ENVELOPES, [WEB])
    assert not any(answer["ok"] for answer in answers)
    lines = [f"{p['path']}: {p['message']}" for a in answers for p in a["problems"]]
    for field in FIXED_FIELDS:
        assert any(line.startswith(f"changes: {field} cannot change in place") for line in lines)
    assert "changes: an update must change something" in lines
    assert "changes: commands, args: null is not a change" in " ".join(lines)


def test_the_redeploy_and_change_something_rules_come_from_the_exported_schema(browser_side):
    """The browser has no copy of these messages: they travel in the update envelope's schema."""
    from services.webapp.build_data import spec_rules

    changes = spec_rules()["schema"]["$defs"]["Changes"]
    messages = [entry["x-error"] for entry in changes["allOf"]]
    assert messages[0].startswith("{keys} cannot change in place on Spheron; redeploy instead")
    assert "an update must change something" in messages
    bundle = (ROOT / "webapp" / "src").rglob("*.ts")
    sources = "".join(path.read_text() for path in bundle)
    assert "cannot change in place" not in sources and "must change something" not in sources


def test_envelope_size_limits_count_utf8_bytes_alike(browser_side):
    text = update(commands=["é" * 300] * 3)
    size = len(text.encode("utf-8"))
    for limit in (size - 1, size, len(canonical_proposal_json(parse_proposal(text))) - 1):
        check_proposals_agree(browser_side, [text, text + " "], [WEB], max_bytes=limit)


def _history(*events: tuple[int, object]) -> list[tuple[int, str]]:
    return [(pid, doc if isinstance(doc, str) else json.dumps(doc)) for pid, doc in events]


def test_the_voted_state_of_an_instance_is_replayed_alike(browser_side):
    deploy = json.loads(WEB)
    other = spec_tests.base_spec()
    histories = [
        _history(
            (2, {"action": "update", "target": 1, "changes": {"tag": "early"}}),
            (1, deploy),
            (3, {"action": "update", "target": 1, "changes": {"tag": "1.28", "replicas": 3}}),
            (4, other),
            (5, "not json <script>"),
            (6, {"action": "update", "target": 1, "changes": {"image": "x"}}),
            (7, {"action": "update", "target": 1, "changes": {"healthCheckConfig": None}}),
            (8, {"action": "update", "target": 1, "changes": {"tag": None}}),
            (9, {"action": "update", "target": 4, "changes": {"replicas": 5}}),
            (10, {"action": "close", "target": 1}),
            (11, {"action": "update", "target": 1, "changes": {"replicas": 4}}),
            (12, {"action": "close", "target": 1}),
            (13, {"action": "close", "target": 99}),
        ),
        _history(
            (1, deploy),
            (
                2,
                {
                    "action": "update",
                    "target": 1,
                    "changes": {"healthCheckConfig": {"path": "/", "port": 1}},
                },
            ),
            (3, {"action": "update", "target": 1, "changes": {"environmentVariables": []}}),
        ),
        [],
    ]
    cases = []
    for events in histories:
        ids = sorted({pid for pid, _ in events} | {1, 99})
        for target in ids:
            for before in (None, *ids):
                cases.append((events, target, before))
    request = {
        "histories": [
            {
                "events": [{"proposalId": str(pid), "json": text} for pid, text in events],
                "target": str(target),
                "before": None if before is None else str(before),
            }
            for events, target, before in cases
        ]
    }
    answers = browser_side.run(request)["histories"]
    described = set()
    for (events, target, before), browser in zip(cases, answers, strict=True):
        state = replay(events, target, before=before)
        python = {
            "describe": state.describe(),
            "spec": None if state.spec is None else canonical_json(state.spec),
            "updatedBy": [str(pid) for pid in state.updated_by],
            "closedBy": None if state.closed_by is None else str(state.closed_by),
        }
        assert browser == python, f"target {target} before {before}: {events}"
        described.add(python["describe"])
    assert "deployed by proposal 1; updated by proposal 3; closed by proposal 10" in described
    assert "proposal 3 is itself an update, not a deployment" in described
    assert "proposal 99 has not deployed anything (no executed deployment)" in described


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
