"""Proposal kinds: a bare spec deploys, an envelope updates or closes; canonical, bounded, and
described as what a vote means."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.spec.model import InstanceSpec, SpecError, parse_spec, spec_hash
from services.spec.proposal import (
    CHANGEABLE_FIELDS,
    FIXED_FIELDS,
    Changes,
    CloseProposal,
    UpdateProposal,
    apply_changes,
    canonical_proposal_json,
    describe_changes,
    describe_proposal,
    kind_of,
    parse_proposal,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEPLOYED = parse_spec((EXAMPLES / "web-service.json").read_text())


def update(**changes) -> str:
    return json.dumps({"action": "update", "target": 1, "changes": changes})


def test_a_bare_spec_is_a_deployment_as_before():
    text = (EXAMPLES / "web-service.json").read_text()
    proposal = parse_proposal(text)
    assert isinstance(proposal, InstanceSpec) and kind_of(proposal) == "deploy"
    assert canonical_proposal_json(proposal) == canonical_proposal_json(parse_spec(text))
    assert describe_proposal(proposal).startswith("deploy web-cluster: nginx:1.27 \u00d72")


def test_an_update_envelope_is_canonical_and_hash_bound():
    text = '{ "target": 1, "changes": {"replicas": 3, "tag": "1.28"}, "action": "update" }'
    proposal = parse_proposal(text)
    assert isinstance(proposal, UpdateProposal) and kind_of(proposal) == "update"
    canonical = canonical_proposal_json(proposal)
    assert canonical == '{"action":"update","changes":{"replicas":3,"tag":"1.28"},"target":1}'
    assert canonical_proposal_json(parse_proposal(canonical)) == canonical
    assert spec_hash(canonical) == spec_hash(canonical_proposal_json(parse_proposal(text)))


def test_an_empty_list_in_changes_is_kept_it_empties_the_list():
    proposal = parse_proposal(update(environmentVariables=[]))
    assert canonical_proposal_json(proposal) == (
        '{"action":"update","changes":{"environmentVariables":[]},"target":1}'
    )
    after = apply_changes(DEPLOYED, proposal.changes)
    assert after.configuration.environmentVariables == []
    assert describe_changes(DEPLOYED, after) == ["environment -NGINX_ENTRYPOINT_QUIET_LOGS"]


def test_a_close_envelope():
    proposal = parse_proposal('{"action":"close","target":7}')
    assert isinstance(proposal, CloseProposal) and kind_of(proposal) == "close"
    assert describe_proposal(proposal) == "close the instance of proposal 7"


def test_what_a_vote_on_an_update_means_is_a_diff_against_the_deployed_spec():
    proposal = parse_proposal(update(tag="1.28", replicas=3))
    assert describe_proposal(proposal, DEPLOYED) == (
        "update the instance of proposal 1: tag 1.27 → 1.28, replicas 2 → 3"
    )
    assert describe_proposal(proposal) == "update the instance of proposal 1: set replicas, tag"


def test_changing_the_size_swaps_a_machine_plan_for_custom_specs():
    planned = apply_changes(DEPLOYED, parse_proposal(update(machineImageId="emu-2cpu-4gi")).changes)
    assert planned.configuration.customSpecs is None
    assert planned.configuration.machineImageId == "emu-2cpu-4gi"
    back = apply_changes(
        planned, parse_proposal(update(customSpecs={"cpu": 1, "memory": 2})).changes
    )
    assert back.configuration.machineImageId is None
    assert describe_changes(planned, back) == ["size machine emu-2cpu-4gi → 1 CPU / 2 GiB"]


def test_secret_changes_name_the_variables_never_a_value():
    changes = parse_proposal(
        update(secretEnvironmentVariables=[{"key": "DB_PASSWORD", "value": "${secret:DB_PW}"}])
    ).changes
    after = apply_changes(DEPLOYED, changes)
    (line,) = describe_changes(DEPLOYED, after)
    assert line == "secrets +DB_PASSWORD" and "DB_PW" not in line


@pytest.mark.parametrize("field", FIXED_FIELDS)
def test_what_cannot_change_in_place_asks_for_a_redeploy(field):
    with pytest.raises(SpecError) as caught:
        parse_proposal(update(**{field: "x"}))
    (line,) = caught.value.errors
    assert line.startswith(f"changes: {field} cannot change in place on Spheron; redeploy instead")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"action":"delete","target":1}', 'action: "delete" is not an action'),
        ('{"action":"update","target":1,"changes":{}}', "changes: an update must change something"),
        ('{"action":"update","target":0,"changes":{"tag":"x"}}', "target: must be at least 1"),
        ('{"action":"update","target":"1","changes":{"tag":"x"}}', "target:"),
        ('{"action":"close"}', "target: required field is missing"),
        ('{"action":"close","target":1,"changes":{"tag":"x"}}', "changes: unknown field"),
        ('{"action":"update","target":1,"changes":{"tag":"bad tag"}}', "changes.tag:"),
        ('{"action":"update","target":1,"changes":{"replicas":21}}', "changes.replicas: must be"),
        (
            '{"action":"update","target":1,"changes":{"environmentVariables":'
            '[{"key":"DB_PASSWORD","value":"hunter2"}]}}',
            "changes.environmentVariables[0].key:",
        ),
        (
            '{"action":"update","target":1,"changes":{"secretEnvironmentVariables":'
            '[{"key":"X","value":"plaintext"}]}}',
            "changes.secretEnvironmentVariables[0].value:",
        ),
        (
            '{"action":"update","target":1,"changes":'
            '{"customSpecs":{"cpu":1,"memory":1},"machineImageId":"m"}}',
            "changes: machineImageId and customSpecs cannot be used together",
        ),
        (
            '{"action":"update","target":1,"changes":{"healthCheckConfig":null}}',
            "changes: healthCheckConfig: null is not a change; leave a field out",
        ),
        (
            '{"action":"update","target":1,"changes":{"replicas":null,"tag":"1.28","args":null}}',
            "changes: args, replicas: null is not a change",
        ),
    ],
)
def test_bad_envelopes_are_refused_with_the_field_and_the_rule(text, expected):
    with pytest.raises(SpecError) as caught:
        parse_proposal(text)
    assert any(line.startswith(expected) for line in caught.value.errors), caught.value.errors


def test_an_update_whose_result_breaks_the_spec_rules_is_refused_against_the_deployed_spec():
    changes = parse_proposal(update(healthCheckConfig={"path": "/", "port": 9999})).changes
    with pytest.raises(SpecError) as caught:
        apply_changes(DEPLOYED, changes)
    assert caught.value.errors == [
        "updated spec: healthCheckConfig.port: 9999 is not one of the containerPorts (80)"
    ]


def test_envelopes_are_bounded_like_specs():
    big = update(commands=["x" * 1000] * 9)
    with pytest.raises(SpecError, match="exceeds the limit of 8192 bytes"):
        parse_proposal(big)
    assert isinstance(parse_proposal(big, max_bytes=65_536), UpdateProposal)


def test_the_changeable_fields_are_the_fields_of_changes():
    assert tuple(Changes.model_fields) == CHANGEABLE_FIELDS


def test_every_valid_envelope_survives_its_canonical_form():
    """What create_proposal submits (the canonical form) must parse as what was checked."""
    for text in (
        '{"action":"update","target":1,"changes":{"tag":"1.28","args":[]}}',
        '{"action":"update","target":1,"changes":{"healthCheckConfig":{"path":"/","port":80}}}',
        '{"action":"close","target":7}',
    ):
        proposal = parse_proposal(text)
        assert parse_proposal(canonical_proposal_json(proposal)) == proposal
