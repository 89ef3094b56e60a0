"""SpheronClient, build_create_body and SpheronTarget, against the local emulator on loopback."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from services.deploy_target import (
    DeployTarget,
    TargetAuthError,
    TargetRejectedError,
    TargetUnavailableError,
)
from services.emulators.spheron import MACHINE_IMAGES, PROVIDER_HOST, FaultPlan, SpheronEmulator
from services.spec import InstanceSpec, parse_spec
from services.spheron import SpheronClient, SpheronTarget, build_create_body

SECRET = "s3cr=t==value"
DSN = "postgres://app@db/main?sslmode=require&options=-c=search_path=app"

SPEC: dict[str, Any] = {
    "clusterName": "dao-web",
    "type": "demand",
    "healthCheckConfig": {"path": "/health", "port": 8080},
    "configuration": {
        "image": "nginx",
        "tag": "1.27",
        "ports": [{"containerPort": 8080, "exposedPort": 80}],
        "environmentVariables": [
            {"key": "GREETING", "value": "hello"},
            {"key": "DSN", "value": DSN},
        ],
        "secretEnvironmentVariables": [{"key": "DB_PASSWORD", "value": "${secret:DB_PASSWORD}"}],
        "commands": ["nginx"],
        "args": ["-g", "daemon off;"],
        "region": "us-east",
        "storage": 20,
        "persistentStorage": {"size": 50, "class": "SSD", "mountPoint": "/data"},
        "customSpecs": {"cpu": 2, "memory": 4},
        "replicas": 2,
    },
}
SECRETS = {"DB_PASSWORD": SECRET}


def make_spec(edit: Callable[[dict[str, Any]], None] | None = None) -> InstanceSpec:
    """Parse SPEC (after `edit` changes a copy of it) through the real spec parser."""
    data = copy.deepcopy(SPEC)
    if edit is not None:
        edit(data)
    return parse_spec(json.dumps(data))


def body_for(spec: InstanceSpec, **overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "organization_id": "org-1",
        "topic_id": "topic-1",
        "secret_values": SECRETS,
        "machine_image_name": "",
        "instance_name": "dao-web-p1",
    }
    options.update(overrides)
    return build_create_body(spec, **options)


def api_requests(emulator: SpheronEmulator, path: str) -> list[dict[str, Any]]:
    return [e for e in emulator.request_log(all_requests=True) if e["path"] == path]


# -- build_create_body ----------------------------------------------------------------------------


def test_create_body_maps_every_field() -> None:
    assert body_for(make_spec()) == {
        "organizationId": "org-1",
        "uniqueTopicId": "topic-1",
        "configuration": {
            "folderName": "",
            "protocol": "akash",
            "image": "nginx",
            "tag": "1.27",
            "instanceCount": 2,
            "buildImage": False,
            "ports": [{"containerPort": 8080, "exposedPort": 80}],
            "env": [
                {"value": "GREETING=hello", "isSecret": False},
                {"value": f"DSN={DSN}", "isSecret": False},
                {"value": f"DB_PASSWORD={SECRET}", "isSecret": True},
            ],
            "command": ["nginx"],
            "args": ["-g", "daemon off;"],
            "region": "us-east",
            "akashMachineImageName": "",
            "customInstanceSpecs": {
                "storage": "20Gi",
                "persistentStorage": {"size": "50Gi", "class": "beta2", "mountPoint": "/data"},
                "cpu": 2,
                "memory": "4Gi",
            },
        },
        "clusterUrl": "nginx",
        "clusterProvider": "DOCKERHUB",
        "clusterName": "dao-web",
        "healthCheckUrl": "/health",
        "healthCheckPort": 8080,
        "scalable": True,
        "instanceName": "dao-web-p1",
    }


def test_env_values_containing_equals_signs_are_kept_whole() -> None:
    env = body_for(make_spec())["configuration"]["env"]
    assert {"value": f"DSN={DSN}", "isSecret": False} in env
    assert env[-1]["value"].partition("=")[2] == SECRET


def test_plain_env_comes_before_secret_env_with_flags() -> None:
    def two_secrets(data: dict[str, Any]) -> None:
        data["configuration"]["secretEnvironmentVariables"].append(
            {"key": "API_KEY", "value": "${secret:API_KEY}"}
        )

    body = body_for(make_spec(two_secrets), secret_values={**SECRETS, "API_KEY": "k"})
    flags = [(e["value"].partition("=")[0], e["isSecret"]) for e in body["configuration"]["env"]]
    assert flags == [("GREETING", False), ("DSN", False), ("DB_PASSWORD", True), ("API_KEY", True)]


def test_missing_secret_value_is_refused_without_leaking_others() -> None:
    with pytest.raises(ValueError, match="DB_PASSWORD") as caught:
        body_for(make_spec(), secret_values={"OTHER": SECRET})
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("storage_class", "wire"), [("HDD", "beta1"), ("SSD", "beta2"), ("NVMe", "beta3")]
)
def test_persistent_storage_classes(storage_class: str, wire: str) -> None:
    def set_class(data: dict[str, Any]) -> None:
        data["configuration"]["persistentStorage"]["class"] = storage_class

    specs = body_for(make_spec(set_class))["configuration"]["customInstanceSpecs"]
    assert specs["persistentStorage"]["class"] == wire


@pytest.mark.parametrize(("kind", "scalable"), [("demand", True), ("spot", False)])
def test_scalable_follows_on_demand_type(kind: str, scalable: bool) -> None:
    def set_type(data: dict[str, Any]) -> None:
        data["type"] = kind

    assert body_for(make_spec(set_type))["scalable"] is scalable


def test_optional_parts_absent_from_the_spec_are_absent_from_the_body() -> None:
    def strip(data: dict[str, Any]) -> None:
        del data["healthCheckConfig"]
        del data["configuration"]["persistentStorage"]
        del data["configuration"]["customSpecs"]
        data["configuration"]["machineImageId"] = "some-id"

    body = body_for(make_spec(strip), machine_image_name="emu-2cpu-4gi")
    assert "healthCheckUrl" not in body
    assert "healthCheckPort" not in body
    assert body["configuration"]["customInstanceSpecs"] == {"storage": "20Gi"}
    assert body["configuration"]["akashMachineImageName"] == "emu-2cpu-4gi"


def test_fractional_custom_specs_keep_their_fraction() -> None:
    def half(data: dict[str, Any]) -> None:
        data["configuration"]["customSpecs"] = {"cpu": 0.5, "memory": 0.5}

    specs = body_for(make_spec(half))["configuration"]["customInstanceSpecs"]
    assert (specs["cpu"], specs["memory"]) == (0.5, "0.5Gi")


# -- client: organisation, lookups ----------------------------------------------------------------


def test_organization_id_comes_from_the_scope_and_is_cached(
    spheron_emulator: SpheronEmulator, spheron_client: SpheronClient
) -> None:
    assert spheron_client.organization_id() == spheron_emulator.organization_id
    assert spheron_client.organization_id() == spheron_emulator.organization_id
    assert len(api_requests(spheron_emulator, "/v1/api-keys/scope")) == 1


def test_a_token_scoped_to_several_organisations_is_refused(
    spheron_emulator_factory: Callable[..., SpheronEmulator],
    spheron_client_factory: Callable[..., SpheronClient],
) -> None:
    emulator = spheron_emulator_factory(extra_org_names=["Second Org"])
    with pytest.raises(TargetAuthError, match="use a single-scope token"):
        spheron_client_factory(emulator).organization_id()


def test_machine_image_lookup_pages_beyond_the_first_ten(spheron_client: SpheronClient) -> None:
    last = MACHINE_IMAGES[-1]
    assert spheron_client.machine_image_name(last["_id"]) == last["name"]
    ids = [image["_id"] for image in spheron_client.iter_machine_images(page_size=7)]
    assert ids == [image["_id"] for image in MACHINE_IMAGES]


def test_unknown_machine_image_id_is_rejected(spheron_client: SpheronClient) -> None:
    with pytest.raises(TargetRejectedError, match=f"among the {len(MACHINE_IMAGES)} machine"):
        spheron_client.machine_image_name("no-such-id")


def test_regions_and_status(spheron_client: SpheronClient) -> None:
    assert "us-east" in spheron_client.regions()
    assert spheron_client.status()["status"] == "ok"


# -- target: create, status, close, find ----------------------------------------------------------


def test_spheron_target_is_a_deploy_target(spheron_target: SpheronTarget) -> None:
    assert isinstance(spheron_target, DeployTarget)


def test_create_then_wait_until_deployed(
    spheron_emulator: SpheronEmulator, spheron_target: SpheronTarget, spheron_client: SpheronClient
) -> None:
    created = spheron_target.create(make_spec(), name="dao-web-p1", secret_values=SECRETS)
    settled = spheron_target.wait_until_settled(created.deployment_id, timeout_s=10, poll_s=0.005)

    assert settled.status == "Deployed"
    assert settled.succeeded and not settled.timed_out
    assert settled.provider_host == PROVIDER_HOST
    assert settled.connection_urls[0].startswith("http://")
    assert any(url.startswith(f"{PROVIDER_HOST}:") for url in settled.connection_urls)
    instance = spheron_client.get_instance(created.instance_id)
    assert (instance["state"], instance["name"]) == ("Active", "dao-web-p1")
    assert instance["activeOrder"] == created.deployment_id
    assert instance["cluster"] == created.cluster_id
    (logged,) = spheron_emulator.request_log()
    assert logged["body"]["instanceName"] == "dao-web-p1"


def test_status_moves_through_queued_and_pending(
    spheron_emulator_factory: Callable[..., SpheronEmulator],
    spheron_client_factory: Callable[..., SpheronClient],
) -> None:
    emulator = spheron_emulator_factory(queued_s=0.02, pending_s=0.02)
    target = SpheronTarget(spheron_client_factory(emulator))
    created = target.create(make_spec(), name="dao-web-p1", secret_values=SECRETS)
    seen = [target.deployment_status(created.deployment_id).status]
    while seen[-1] != "Deployed":
        status = target.deployment_status(created.deployment_id).status
        if status != seen[-1]:
            seen.append(status)
    order = ["Queued", "Pending", "Deployed"]
    assert seen == order[order.index(seen[0]) :]
    assert target.deployment_status(created.deployment_id).provider_host == PROVIDER_HOST


def test_image_in_the_fail_set_ends_failed(
    spheron_target: SpheronTarget, spheron_client: SpheronClient
) -> None:
    def failing(data: dict[str, Any]) -> None:
        data["configuration"]["image"] = "example/always-fails"

    created = spheron_target.create(make_spec(failing), name="dao-bad-p2", secret_values=SECRETS)
    settled = spheron_target.wait_until_settled(created.deployment_id, timeout_s=10, poll_s=0.005)
    assert (settled.status, settled.succeeded, settled.connection_urls) == ("Failed", False, [])
    assert spheron_client.get_instance(created.instance_id)["state"] == "Failed-start"


def test_wait_gives_up_at_the_timeout_with_the_last_status(
    spheron_emulator_factory: Callable[..., SpheronEmulator],
    spheron_client_factory: Callable[..., SpheronClient],
) -> None:
    emulator = spheron_emulator_factory(queued_s=3600)
    target = SpheronTarget(spheron_client_factory(emulator))
    created = target.create(make_spec(), name="dao-web-p1", secret_values=SECRETS)
    status = target.wait_until_settled(created.deployment_id, timeout_s=0.02, poll_s=0.005)
    assert (status.status, status.timed_out, status.settled) == ("Queued", True, False)


def test_close_closes_once(
    spheron_emulator: SpheronEmulator, spheron_target: SpheronTarget, spheron_client: SpheronClient
) -> None:
    created = spheron_target.create(make_spec(), name="dao-web-p1", secret_values=SECRETS)
    spheron_target.close(created.instance_id)
    spheron_target.close(created.instance_id)
    assert spheron_client.get_instance(created.instance_id)["state"] == "Closed"
    close_path = f"/v1/cluster-instance/{created.instance_id}/close"
    assert len(api_requests(spheron_emulator, close_path)) == 1


def test_find_deployment_present_and_absent(spheron_target: SpheronTarget) -> None:
    assert spheron_target.find_deployment("dao-web-p1") is None
    created = spheron_target.create(make_spec(), name="dao-web-p1", secret_values=SECRETS)
    found = spheron_target.find_deployment("dao-web-p1")
    assert found is not None
    assert (found.instance_id, found.deployment_id, found.cluster_id, found.name) == (
        created.instance_id,
        created.deployment_id,
        created.cluster_id,
        "dao-web-p1",
    )
    assert spheron_target.find_deployment("dao-web-p2") is None


def test_find_deployment_pages_through_many_clusters_and_instances(
    spheron_client: SpheronClient,
) -> None:
    org = spheron_client.organization_id()
    spec = make_spec()
    for cluster in range(4):
        for index in range(4):
            body = body_for(spec, organization_id=org, instance_name=f"inst-{cluster}-{index}")
            body["clusterName"] = f"cluster-{cluster}"
            last = spheron_client.create_instance(body)
    target = SpheronTarget(spheron_client, page_size=3)
    found = target.find_deployment("inst-3-3")
    assert found is not None
    assert (found.instance_id, found.cluster_id) == (last["clusterInstanceId"], last["clusterId"])
    assert target.find_deployment("inst-4-0") is None
    scoped = target.find_deployment("inst-3-3", cluster_name="cluster-3")
    assert scoped is not None and scoped.instance_id == found.instance_id
    assert target.find_deployment("inst-3-3", cluster_name="cluster-2") is None


def test_find_deployment_prefers_an_open_instance(
    spheron_target: SpheronTarget,
) -> None:
    first = spheron_target.create(make_spec(), name="dao-web-p1", secret_values=SECRETS)
    spheron_target.close(first.instance_id)
    closed = spheron_target.find_deployment("dao-web-p1")
    assert closed is not None and closed.state == "Closed"
    second = spheron_target.create(make_spec(), name="dao-web-p1", secret_values=SECRETS)
    found = spheron_target.find_deployment("dao-web-p1")
    assert found is not None and found.instance_id == second.instance_id


def test_create_with_machine_image_id_sends_its_name(
    spheron_emulator: SpheronEmulator, spheron_target: SpheronTarget
) -> None:
    image = MACHINE_IMAGES[-2]

    def plan(data: dict[str, Any]) -> None:
        del data["configuration"]["customSpecs"]
        data["configuration"]["machineImageId"] = image["_id"]

    spheron_target.create(make_spec(plan), name="dao-web-p1", secret_values=SECRETS)
    (logged,) = spheron_emulator.request_log()
    assert logged["body"]["configuration"]["akashMachineImageName"] == image["name"]


# -- retries and errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan", "fault", "status"),
    [
        (FaultPlan(error_next=2, error_status=500), "HTTP 500", 500),
        (FaultPlan(error_next=2, error_status=503), "HTTP 503", 503),
        (FaultPlan(drop_next=2), "drop", None),
    ],
)
def test_transient_failures_are_retried_until_success(
    spheron_emulator: SpheronEmulator,
    spheron_client: SpheronClient,
    plan: FaultPlan,
    fault: str,
    status: int | None,
) -> None:
    spheron_emulator.set_faults(plan)
    assert "us-east" in spheron_client.regions()
    logged = api_requests(spheron_emulator, "/v1/compute-machine-image/regions")
    outcomes = [(e["fault"], e["status"]) for e in logged]
    assert outcomes == [(fault, status), (fault, status), (None, 200)]


def test_a_read_timeout_is_retried(
    spheron_emulator: SpheronEmulator, spheron_client_factory: Callable[..., SpheronClient]
) -> None:
    spheron_emulator.set_faults(FaultPlan(delay_s=30, delay_next=1))
    client = spheron_client_factory(spheron_emulator, timeout_s=0.2)
    assert "us-east" in client.regions()
    assert len(api_requests(spheron_emulator, "/v1/compute-machine-image/regions")) == 2


def test_retries_are_bounded(
    spheron_emulator: SpheronEmulator, spheron_client_factory: Callable[..., SpheronClient]
) -> None:
    spheron_emulator.set_faults(FaultPlan(error_next=100, error_status=500))
    client = spheron_client_factory(spheron_emulator, max_retries=2)
    with pytest.raises(TargetUnavailableError, match=r"after 3 attempt\(s\).*HTTP 500"):
        client.regions()
    assert len(api_requests(spheron_emulator, "/v1/compute-machine-image/regions")) == 3


def test_a_create_without_a_way_to_check_is_not_retried_blindly(
    spheron_emulator: SpheronEmulator, spheron_client: SpheronClient
) -> None:
    body = body_for(make_spec(), organization_id=spheron_client.organization_id())
    spheron_emulator.set_faults(FaultPlan(error_next=1))
    with pytest.raises(TargetUnavailableError):
        spheron_client.create_instance(body)
    assert len(spheron_emulator.request_log()) == 1


def test_create_retried_after_a_refused_attempt(
    spheron_emulator: SpheronEmulator, spheron_target: SpheronTarget
) -> None:
    spheron_emulator.set_faults(FaultPlan(error_next=1, path="/v1/cluster-instance/create"))
    created = spheron_target.create(make_spec(), name="dao-web-p1", secret_values=SECRETS)
    assert [e["status"] for e in spheron_emulator.request_log()] == [503, 200]
    found = spheron_target.find_deployment("dao-web-p1")
    assert found is not None and found.instance_id == created.instance_id


def test_a_closed_namesake_is_not_taken_for_an_earlier_attempt(
    spheron_emulator: SpheronEmulator, spheron_target: SpheronTarget
) -> None:
    old = spheron_target.create(make_spec(), name="dao-web-p1", secret_values=SECRETS)
    spheron_target.close(old.instance_id)
    spheron_emulator.set_faults(FaultPlan(error_next=1, path="/v1/cluster-instance/create"))
    new = spheron_target.create(make_spec(), name="dao-web-p1", secret_values=SECRETS)
    assert new.instance_id != old.instance_id
    assert [e["status"] for e in spheron_emulator.request_log()] == [200, 503, 200]


def test_create_whose_answer_was_lost_is_not_repeated(
    spheron_emulator: SpheronEmulator, spheron_target: SpheronTarget, spheron_client: SpheronClient
) -> None:
    spheron_emulator.set_faults(FaultPlan(drop_response_next=1, path="/v1/cluster-instance/"))
    created = spheron_target.create(make_spec(), name="dao-web-p1", secret_values=SECRETS)
    (logged,) = spheron_emulator.request_log()
    assert (logged["fault"], logged["status"]) == ("drop-response", 200)
    instance = spheron_client.get_instance(created.instance_id)
    assert instance["name"] == "dao-web-p1"
    assert instance["activeOrder"] == created.deployment_id


def test_a_rejected_create_is_sent_once_and_carries_the_server_message(
    spheron_emulator: SpheronEmulator, spheron_target: SpheronTarget
) -> None:
    def mars(data: dict[str, Any]) -> None:
        data["configuration"]["region"] = "mars"

    with pytest.raises(TargetRejectedError) as caught:
        spheron_target.create(make_spec(mars), name="dao-web-p1", secret_values=SECRETS)
    assert caught.value.status_code == 400
    assert caught.value.server_message == "Region not available: mars"
    assert "Region not available: mars" in str(caught.value)
    assert len(spheron_emulator.request_log()) == 1


def test_unknown_order_is_rejected(spheron_target: SpheronTarget) -> None:
    with pytest.raises(TargetRejectedError) as caught:
        spheron_target.deployment_status("f" * 24)
    assert caught.value.status_code == 404


def test_a_bad_token_is_an_auth_error_without_the_token(
    spheron_emulator: SpheronEmulator, spheron_client_factory: Callable[..., SpheronClient]
) -> None:
    wrong = "wrong-token-Hq2Lw9"
    client = spheron_client_factory(spheron_emulator, token=wrong)
    with pytest.raises(TargetAuthError, match="HTTP 401") as caught:
        client.regions()
    assert wrong not in str(caught.value) and wrong not in repr(caught.value)
    assert wrong not in repr(client) and wrong not in repr(SpheronTarget(client))
    assert len(api_requests(spheron_emulator, "/v1/compute-machine-image/regions")) == 1


def test_the_token_appears_in_no_error_or_repr(
    spheron_emulator: SpheronEmulator, spheron_client: SpheronClient, spheron_token: str
) -> None:
    errors: list[Exception] = []
    for plan, call in [
        (FaultPlan(error_next=100), spheron_client.regions),
        (FaultPlan(drop_next=100), spheron_client.regions),
        (FaultPlan(), lambda: spheron_client.get_instance("nope")),
        (FaultPlan(), lambda: spheron_client.machine_image_name("nope")),
    ]:
        spheron_emulator.set_faults(plan)
        with pytest.raises((TargetUnavailableError, TargetRejectedError)) as caught:
            call()
        errors.append(caught.value)
    for text in [*map(str, errors), *map(repr, errors), repr(spheron_client)]:
        assert spheron_token not in text
    assert "***" in repr(spheron_client)


def test_client_refuses_an_empty_token() -> None:
    with pytest.raises(ValueError, match="empty"):
        SpheronClient("http://127.0.0.1:9", "")
