"""The deploy policy: each limit, image patterns, and loading policy files."""

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.spec.model import InstanceSpec, parse_spec
from services.spec.policy import DeployPolicy, PolicyError, load_policy


def make_spec(**config: Any) -> InstanceSpec:
    """A small valid spec; keyword arguments replace configuration fields (None deletes)."""
    doc: dict[str, Any] = {
        "clusterName": "web",
        "type": "spot",
        "configuration": {
            "image": "nginx",
            "tag": "1.27",
            "ports": [{"containerPort": 80, "exposedPort": 80}],
            "region": "us-east",
            "storage": 20,
            "customSpecs": {"cpu": 2, "memory": 4},
            "replicas": 2,
        },
    }
    for key, value in config.items():
        if key == "type":
            doc["type"] = value
        elif value is None:
            del doc["configuration"][key]
        else:
            doc["configuration"][key] = value
    return parse_spec(json.dumps(doc))


def test_defaults_allow_a_small_spec_and_every_field_is_documented() -> None:
    assert DeployPolicy().violations(make_spec()) == []
    for name, field in DeployPolicy.model_fields.items():
        assert field.description, f"{name} has no docstring"
    assert DeployPolicy().allow_types == ["spot", "demand"]
    assert DeployPolicy().max_replicas == 3


@pytest.mark.parametrize(
    ("policy", "config", "expected"),
    [
        (
            {"max_replicas": 3},
            {"replicas": 5},
            "configuration.replicas: 5 exceeds the policy maximum of 3",
        ),
        (
            {"max_cpu": 2},
            {"customSpecs": {"cpu": 4, "memory": 1}},
            "configuration.customSpecs.cpu: 4 exceeds the policy maximum of 2",
        ),
        (
            {"max_cpu": 0.5},
            {"customSpecs": {"cpu": 1, "memory": 1}},
            "configuration.customSpecs.cpu: 1 exceeds the policy maximum of 0.5",
        ),
        (
            {"max_memory_gb": 8},
            {"customSpecs": {"cpu": 1, "memory": 16}},
            "configuration.customSpecs.memory: 16 GiB exceeds the policy maximum of 8 GiB",
        ),
        (
            {"max_storage_gb": 10},
            {"storage": 11},
            "configuration.storage: 11 GB exceeds the policy maximum of 10 GB",
        ),
        (
            {"max_persistent_storage_gb": 100},
            {"persistentStorage": {"size": 500, "class": "NVMe", "mountPoint": "/data"}},
            "configuration.persistentStorage.size: 500 GB exceeds the policy maximum of 100 GB",
        ),
        (
            {"allowed_images": ["nginx:*", "ghcr.io/acme/*"]},
            {"image": "evil/miner", "tag": "latest"},
            'configuration.image: "evil/miner:latest" matches no allowed image pattern '
            "(nginx:*, ghcr.io/acme/*)",
        ),
        (
            {"allowed_regions": ["us-east", "us-west"]},
            {"region": "eu-west"},
            'configuration.region: "eu-west" is not an allowed region (us-east, us-west)',
        ),
        (
            {"allowed_regions": ["us-east"]},
            {"region": "any"},
            'configuration.region: "any" is not an allowed region (us-east)',
        ),
        (
            {"allowed_machine_images": ["small", "medium"]},
            {"customSpecs": None, "machineImageId": "huge"},
            'configuration.machineImageId: "huge" is not an allowed machine image (small, medium)',
        ),
        (
            {"allow_types": ["demand"]},
            {"type": "spot"},
            'type: "spot" is not an allowed instance type (demand)',
        ),
    ],
)
def test_each_limit_is_enforced_with_its_message(
    policy: dict[str, Any], config: dict[str, Any], expected: str
) -> None:
    assert DeployPolicy(**policy).violations(make_spec(**config)) == [expected]


@pytest.mark.parametrize(
    ("policy", "config"),
    [
        ({"max_replicas": 3}, {"replicas": 3}),
        ({"max_cpu": 4, "max_memory_gb": 8}, {"customSpecs": {"cpu": 4, "memory": 8}}),
        ({"max_cpu": 4.5}, {"customSpecs": {"cpu": 4, "memory": 1}}),
        ({"max_storage_gb": 20}, {"storage": 20}),
        (
            {"max_persistent_storage_gb": 500},
            {"persistentStorage": {"size": 500, "class": "HDD", "mountPoint": "/d"}},
        ),
        ({"allowed_regions": ["us-east"]}, {"region": "us-east"}),
        ({"allowed_machine_images": ["small"]}, {"customSpecs": None, "machineImageId": "small"}),
        ({"allowed_machine_images": ["small"]}, {}),  # custom specs: the list does not apply
        ({"allow_types": ["spot"]}, {"type": "spot"}),
    ],
)
def test_values_at_the_limit_pass(policy: dict[str, Any], config: dict[str, Any]) -> None:
    assert DeployPolicy(**policy).violations(make_spec(**config)) == []


def test_limits_are_per_replica() -> None:
    # 3 replicas of 4 CPU / 8 GiB is 12 CPU in total: allowed, each replica is within limits.
    spec = make_spec(replicas=3, customSpecs={"cpu": 4, "memory": 8})
    assert DeployPolicy(max_replicas=3, max_cpu=4, max_memory_gb=8).violations(spec) == []


def test_every_violation_is_listed() -> None:
    policy = DeployPolicy(
        allowed_images=["nginx:*"],
        allowed_regions=["us-east"],
        max_replicas=1,
        max_cpu=1,
        max_memory_gb=1,
        max_storage_gb=1,
        max_persistent_storage_gb=1,
        allow_types=["demand"],
    )
    spec = make_spec(
        image="redis",
        tag="7",
        region="any",
        replicas=2,
        storage=2,
        customSpecs={"cpu": 2, "memory": 2},
        persistentStorage={"size": 2, "class": "SSD", "mountPoint": "/data"},
    )
    assert policy.violations(spec) == [
        'type: "spot" is not an allowed instance type (demand)',
        'configuration.image: "redis:7" matches no allowed image pattern (nginx:*)',
        'configuration.region: "any" is not an allowed region (us-east)',
        "configuration.replicas: 2 exceeds the policy maximum of 1",
        "configuration.customSpecs.cpu: 2 exceeds the policy maximum of 1",
        "configuration.customSpecs.memory: 2 GiB exceeds the policy maximum of 1 GiB",
        "configuration.storage: 2 GB exceeds the policy maximum of 1 GB",
        "configuration.persistentStorage.size: 2 GB exceeds the policy maximum of 1 GB",
    ]


@pytest.mark.parametrize(
    ("patterns", "image", "tag", "allowed"),
    [
        (["nginx:*"], "nginx", "1.27", True),
        (["nginx:*"], "nginx", "latest", True),
        (["nginx:1.27"], "nginx", "1.27.1", False),
        (["nginx:1.27*"], "nginx", "1.27.1", True),
        (["nginx:*"], "docker.io/library/nginx", "1.27", False),
        (["nginx:*"], "nginx-evil", "1", False),
        (["NGINX:*"], "nginx", "1", False),
        (["ghcr.io/acme/*"], "ghcr.io/acme/app", "v2", True),
        (["ghcr.io/acme/*"], "ghcr.io/acme/team/app", "v2", True),
        (["ghcr.io/acme/*"], "ghcr.io/acmecorp/app", "v2", False),
        (["postgres:16.?"], "postgres", "16.4", True),
        (["postgres:16.?"], "postgres", "16.10", False),
        (["redis:[67].*"], "redis", "7.2", True),
        (["redis:[67].*"], "redis", "5.0", False),
        (["nginx:*", "redis:*"], "redis", "7", True),
        ([], "anything/at-all", "x", True),
    ],
)
def test_image_patterns_match_image_colon_tag(
    patterns: list[str], image: str, tag: str, allowed: bool
) -> None:
    violations = DeployPolicy(allowed_images=patterns).violations(make_spec(image=image, tag=tag))
    assert (violations == []) is allowed


def test_policy_is_frozen_strict_and_refuses_unknown_fields() -> None:
    policy = DeployPolicy()
    with pytest.raises(ValidationError):
        policy.max_replicas = 10  # type: ignore[misc]
    with pytest.raises(ValidationError):
        DeployPolicy(max_replica=10)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        DeployPolicy(max_replicas="3")  # type: ignore[arg-type]


# ---- loading files -----------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_no_path_gives_the_defaults() -> None:
    assert load_policy(None) == DeployPolicy()


def test_load_from_yaml(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.yaml",
        "# comment\nallowed_images:\n  - 'nginx:*'\nmax_replicas: 5\nmax_cpu: 0.5\n"
        "allow_types: [demand]\n",
    )
    policy = load_policy(path)
    assert policy == DeployPolicy(
        allowed_images=["nginx:*"], max_replicas=5, max_cpu=0.5, allow_types=["demand"]
    )
    assert load_policy(str(path)) == policy


def test_load_from_json(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "policy.json",
        json.dumps({"allowed_regions": ["us-east"], "max_storage_gb": 50, "max_memory_gb": 16}),
    )
    assert load_policy(path) == DeployPolicy(
        allowed_regions=["us-east"], max_storage_gb=50, max_memory_gb=16
    )


@pytest.mark.parametrize("text", ["", "# only comments\n", "---\n"])
def test_an_empty_file_gives_the_defaults(tmp_path: Path, text: str) -> None:
    assert load_policy(write(tmp_path, "policy.yaml", text)) == DeployPolicy()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bogus: 1\n", ["bogus: unknown field"]),
        ("max_replicas: '3'\n", ['max_replicas: must be an integer (got "3")']),
        ("max_replicas: yes\n", ["max_replicas: must be an integer (got true)"]),
        ("max_replicas: 0\n", ["max_replicas: must be at least 1 (got 0)"]),
        ("max_cpu: 0\n", ["max_cpu: must be greater than 0 (got 0)"]),
        ("max_memory_gb: .inf\n", ["max_memory_gb: must be a finite number"]),
        ("max_storage_gb: 1.5\n", ["max_storage_gb: must be an integer (got 1.5)"]),
        ("allow_types: []\n", ["allow_types: must have at least 1 item (got 0)"]),
        (
            "allow_types: [SPOT]\n",
            ["""allow_types[0]: must be 'spot' or 'demand' (got "SPOT")"""],
        ),
        ("allowed_images: nginx\n", ['allowed_images: must be an array (got "nginx")']),
        (
            "allowed_images: ['']\n",
            ["allowed_images[0]: must be at least 1 character (got 0)"],
        ),
        (
            "max_replicas: 0\nmax_cpu: x\n",
            ["max_replicas: must be at least 1 (got 0)", 'max_cpu: must be a number (got "x")'],
        ),
        ("- max_replicas: 1\n", ["must be a mapping of settings (got a list)"]),
        ("just text\n", ["must be a mapping of settings (got a str)"]),
    ],
)
def test_bad_policy_files_name_the_file_and_each_field(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    path = write(tmp_path, "policy.yaml", text)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert caught.value.errors == expected
    assert caught.value.path == str(path)
    assert str(caught.value) == f"policy file {path}: " + "; ".join(expected)
    assert isinstance(caught.value, ValueError)


def test_syntax_errors_and_duplicate_keys_are_refused(tmp_path: Path) -> None:
    broken = write(tmp_path, "broken.yaml", "allowed_images: [nginx\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(broken)
    assert caught.value.errors[0].startswith("invalid YAML/JSON: ")
    assert "line 2" in caught.value.errors[0]

    broken_json = write(tmp_path, "broken.json", '{"max_replicas": 3,, }')
    with pytest.raises(PolicyError, match=r"broken\.json: invalid YAML/JSON: "):
        load_policy(broken_json)

    twice = write(tmp_path, "twice.yaml", "max_replicas: 1\nmax_replicas: 20\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(twice)
    assert "duplicate key 'max_replicas'" in caught.value.errors[0]
    assert "line 2" in caught.value.errors[0]


def test_unreadable_files_are_reported_with_their_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(PolicyError) as caught:
        load_policy(missing)
    assert caught.value.errors == ["cannot read the file: No such file or directory"]
    assert str(missing) in str(caught.value)

    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path)
    assert caught.value.errors[0].startswith("cannot read the file: ")

    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"allowed_regions: [m\xfcnchen]\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(latin1)
    assert caught.value.errors == ["not valid UTF-8 (byte 19)"]


def test_yaml_tags_that_build_objects_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "evil.yaml", "max_replicas: !!python/object/apply:os.getpid []\n")
    with pytest.raises(PolicyError, match="invalid YAML/JSON: could not determine a constructor"):
        load_policy(path)
