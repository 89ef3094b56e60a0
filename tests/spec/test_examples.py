"""The example specs are valid and pass the example policy, which still refuses what it should."""

import json
from pathlib import Path

import pytest

from services.spec.model import (
    canonical_json,
    parse_spec,
    resolve_secrets,
    secret_names,
    spec_hash,
    spec_summary,
)
from services.spec.policy import DeployPolicy, load_policy
from services.spec.proposal import apply_changes, describe_proposal, parse_proposal

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SPECS = ["web-service.json", "node-persistent-storage.json", "with-secret.json"]


@pytest.fixture(scope="module")
def policy() -> DeployPolicy:
    return load_policy(EXAMPLES / "policy.yaml")


@pytest.mark.parametrize("name", SPECS)
def test_example_is_valid_readable_and_passes_the_example_policy(
    name: str, policy: DeployPolicy
) -> None:
    raw = (EXAMPLES / name).read_bytes()
    spec = parse_spec(raw)
    assert policy.violations(spec) == []
    assert b"\n  " in raw  # formatted for people, not the canonical one-liner
    canonical = canonical_json(spec)
    assert canonical != raw.decode()
    assert spec_hash(canonical_json(parse_spec(canonical))) == spec_hash(canonical)


def test_examples_cover_the_three_shapes() -> None:
    web, node, secret = (parse_spec((EXAMPLES / name).read_bytes()) for name in SPECS)
    assert spec_summary(web) == "web-cluster: nginx:1.27 \u00d72, 2 CPU / 4 GiB, 20 GB, region any"
    assert node.configuration.persistentStorage is not None
    assert node.configuration.persistentStorage.class_ == "NVMe"
    assert secret_names(secret) == ["DB_PASSWORD"]
    assert resolve_secrets(secret, {"DAO_SECRET_DB_PASSWORD": "from-the-bot-env"}) == {
        "POSTGRES_PASSWORD": "from-the-bot-env"
    }
    assert "from-the-bot-env" not in (EXAMPLES / "with-secret.json").read_text()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"replicas": 10},
            "configuration.replicas: 10 exceeds the policy maximum of 3",
        ),
        (
            {"image": "evil/miner", "tag": "latest"},
            'configuration.image: "evil/miner:latest" matches no allowed image pattern '
            "(nginx:*, postgres:16*, ethereum/client-go:v1.*, ghcr.io/acme/*)",
        ),
        (
            {"customSpecs": {"cpu": 16, "memory": 4}},
            "configuration.customSpecs.cpu: 16 exceeds the policy maximum of 4",
        ),
        (
            {"storage": 200},
            "configuration.storage: 200 GB exceeds the policy maximum of 100 GB",
        ),
    ],
)
def test_example_policy_refuses_what_it_should(
    change: dict[str, object], expected: str, policy: DeployPolicy
) -> None:
    doc = json.loads((EXAMPLES / "web-service.json").read_text())
    doc["configuration"].update(change)
    assert policy.violations(parse_spec(json.dumps(doc))) == [expected]


def test_refused_by_policy_example_is_a_valid_spec_that_the_example_policy_refuses(
    policy: DeployPolicy,
) -> None:
    spec = parse_spec((EXAMPLES / "refused-by-policy" / "gpu-miner.json").read_bytes())
    violations = policy.violations(spec)
    fields = {violation.split(":", 1)[0] for violation in violations}
    assert {
        "configuration.image",
        "configuration.replicas",
        "configuration.customSpecs.cpu",
    } <= fields


def test_the_update_and_close_examples_change_the_web_service_example() -> None:
    web = parse_spec((EXAMPLES / "web-service.json").read_bytes())
    update = parse_proposal((EXAMPLES / "update-web-service.json").read_bytes())
    close = parse_proposal((EXAMPLES / "close-web-service.json").read_bytes())
    assert describe_proposal(update, web) == (
        "update the instance of proposal 1: tag 1.27 \u2192 1.28, replicas 2 \u2192 3"
    )
    assert (
        load_policy(EXAMPLES / "policy.yaml").violations(apply_changes(web, update.changes)) == []
    )
    assert describe_proposal(close) == "close the instance of proposal 1"
