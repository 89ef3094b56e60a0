"""SpheronClient, build_create_body and SpheronTarget, against the local emulator on loopback."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from services.common.pause import StopRequested
from services.spec.model import InstanceSpec, parse_spec
from services.targets.base import (
    DeploymentStatus,
    DeployTarget,
    Outcome,
    TargetAuthError,
    TargetRejectedError,
    TargetUnavailableError,
)
from services.targets.spheron import SpheronClient, SpheronTarget, build_create_body, topic_for
from testbed.emulators.spheron import MACHINE_IMAGES, PROVIDER_HOST, FaultPlan, SpheronEmulator

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


def create(target: SpheronTarget, spec: InstanceSpec, name: str = "dao-web-p1", **kwargs: Any):
    """`target.create` with an `on_sending` that records how often it was called."""
    sent: list[bool] = []
    created = target.create(
        spec, name=name, secret_values=SECRETS, on_sending=lambda: sent.append(True), **kwargs
    )
    assert sent == [True]
    return created


def settle(target: SpheronTarget, deployment_id: str) -> DeploymentStatus:
    for _ in range(2_000):
        status = target.status(deployment_id)
        if status.outcome is not Outcome.PENDING:
            return status
        time.sleep(0.005)
    raise AssertionError(f"deployment {deployment_id} did not settle")


def test_spheron_target_is_a_deploy_target(spheron_target: SpheronTarget) -> None:
    assert isinstance(spheron_target, DeployTarget)
    assert spheron_target.request_timeout_s == 2  # the test client's timeout


def test_create_then_follow_until_deployed(
    spheron_emulator: SpheronEmulator, spheron_target: SpheronTarget, spheron_client: SpheronClient
) -> None:
    created = create(spheron_target, make_spec())
    settled = settle(spheron_target, created.deployment_id)

    assert (settled.status, settled.outcome) == ("Deployed", Outcome.SUCCEEDED)
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
    now = [0.0]  # the emulator's clock, moved by hand: no phase is missed however slow a poll
    emulator = spheron_emulator_factory(queued_s=1, pending_s=1, clock=lambda: now[0])
    target = SpheronTarget(spheron_client_factory(emulator))
    created = create(target, make_spec())
    seen = []
    for moment in (0.5, 1.5, 2.5):  # inside each phase
        now[0] = moment
        seen.append(target.status(created.deployment_id))
    assert [s.status for s in seen] == ["Queued", "Pending", "Deployed"]
    assert [s.outcome for s in seen] == [Outcome.PENDING, Outcome.PENDING, Outcome.SUCCEEDED]


def test_image_in_the_fail_set_ends_failed(
    spheron_target: SpheronTarget, spheron_client: SpheronClient
) -> None:
    def failing(data: dict[str, Any]) -> None:
        data["configuration"]["image"] = "example/always-fails"

    created = create(spheron_target, make_spec(failing), "dao-bad-p2")
    settled = settle(spheron_target, created.deployment_id)
    assert (settled.status, settled.outcome, settled.connection_urls) == (
        "Failed",
        Outcome.FAILED,
        [],
    )
    assert spheron_client.get_instance(created.instance_id)["state"] == "Failed-start"


def test_close_closes_once(
    spheron_emulator: SpheronEmulator, spheron_target: SpheronTarget, spheron_client: SpheronClient
) -> None:
    created = create(spheron_target, make_spec())
    spheron_target.close(created.instance_id)
    spheron_target.close(created.instance_id)
    assert spheron_client.get_instance(created.instance_id)["state"] == "Closed"
    close_path = f"/v1/cluster-instance/{created.instance_id}/close"
    assert len(api_requests(spheron_emulator, close_path)) == 1


def test_a_close_whose_answer_was_lost_is_not_an_error(
    spheron_emulator: SpheronEmulator, spheron_target: SpheronTarget, spheron_client: SpheronClient
) -> None:
    created = create(spheron_target, make_spec())
    close_path = f"/v1/cluster-instance/{created.instance_id}/close"
    spheron_emulator.set_faults(FaultPlan(drop_response_next=1, path=close_path))
    spheron_target.close(created.instance_id)  # retried: the retry answers "already closed"
    assert [e["status"] for e in api_requests(spheron_emulator, close_path)] == [200, 400]
    assert spheron_client.get_instance(created.instance_id)["state"] == "Closed"


def test_find_lists_every_namesake_with_its_state_and_age(spheron_target: SpheronTarget) -> None:
    assert spheron_target.find("dao-web-p1") == []
    first = create(spheron_target, make_spec())
    spheron_target.close(first.instance_id)
    second = create(spheron_target, make_spec())
    found = spheron_target.find("dao-web-p1")
    assert [(f.instance_id, f.closed) for f in found] == [
        (first.instance_id, True),
        (second.instance_id, False),
    ]
    assert found[0].age_key < found[1].age_key
    assert (found[1].deployment_id, found[1].cluster_id, found[1].name) == (
        second.deployment_id,
        second.cluster_id,
        "dao-web-p1",
    )
    assert spheron_target.find("dao-web-p2") == []


def test_find_pages_through_many_clusters_and_instances(spheron_client: SpheronClient) -> None:
    org = spheron_client.organization_id()
    spec = make_spec()
    for cluster in range(4):
        for index in range(4):
            body = body_for(spec, organization_id=org, instance_name=f"inst-{cluster}-{index}")
            body["clusterName"] = f"cluster-{cluster}"
            last = spheron_client.create_instance(body)
    target = SpheronTarget(spheron_client, page_size=3)
    (found,) = target.find("inst-3-3")
    assert (found.instance_id, found.cluster_id) == (last["clusterInstanceId"], last["clusterId"])
    assert target.find("inst-4-0") == []
    (scoped,) = target.find("inst-3-3", cluster_name="cluster-3")
    assert scoped.instance_id == found.instance_id
    assert target.find("inst-3-3", cluster_name="cluster-2") == []


def seven_clusters(client: SpheronClient) -> str:
    """One instance in each of seven clusters; returns the organisation id."""
    org = client.organization_id()
    for index in range(7):
        body = body_for(make_spec(), organization_id=org, instance_name=f"inst-{index}")
        body["clusterName"] = f"cluster-{index}"
        client.create_instance(body)
    return org


def test_a_server_that_ignores_paging_ends_the_listing_instead_of_looping(
    spheron_emulator: SpheronEmulator, spheron_client: SpheronClient
) -> None:
    """The whole list on every page: paging stops at the first page that brings nothing new."""
    org = seven_clusters(spheron_client)
    spheron_emulator.set_faults(FaultPlan(paging="ignore"))
    target = SpheronTarget(spheron_client, page_size=3)
    (found,) = target.find("inst-6")
    assert found.name == "inst-6"
    assert len(list(spheron_client.iter_clusters(org, page_size=3))) == 7
    images = list(spheron_client.iter_machine_images(page_size=5))
    assert [i["_id"] for i in images] == [i["_id"] for i in MACHINE_IMAGES]
    assert len(api_requests(spheron_emulator, f"/v1/organization/{org}/clusters")) < 20


def test_a_server_that_repeats_the_first_page_is_an_error_not_a_short_list(
    spheron_emulator: SpheronEmulator, spheron_client: SpheronClient
) -> None:
    """Honouring `limit` but not `skip` hides everything past the first page: the lookup must
    not conclude that an instance is absent."""
    seven_clusters(spheron_client)
    spheron_emulator.set_faults(FaultPlan(paging="ignore_skip"))
    with pytest.raises(TargetUnavailableError, match="repeats the same page of clusters"):
        SpheronTarget(spheron_client, page_size=3).find("inst-6")
    with pytest.raises(TargetUnavailableError, match="machine images"):
        spheron_client.machine_image_name(MACHINE_IMAGES[-1]["_id"])


def test_create_with_machine_image_id_sends_its_name(
    spheron_emulator: SpheronEmulator, spheron_target: SpheronTarget
) -> None:
    image = MACHINE_IMAGES[-2]

    def plan(data: dict[str, Any]) -> None:
        del data["configuration"]["customSpecs"]
        data["configuration"]["machineImageId"] = image["_id"]

    create(spheron_target, make_spec(plan))
    (logged,) = spheron_emulator.request_log()
    assert logged["body"]["configuration"]["akashMachineImageName"] == image["name"]


def test_nothing_is_sent_when_on_sending_refuses(
    spheron_emulator: SpheronEmulator, spheron_target: SpheronTarget
) -> None:
    def refuse() -> None:
        raise RuntimeError("the ledger could not record the intent")

    with pytest.raises(RuntimeError, match="could not record"):
        spheron_target.create(
            make_spec(), name="dao-web-p1", secret_values=SECRETS, on_sending=refuse
        )
    assert spheron_emulator.request_log() == []


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


def test_a_stop_request_ends_the_back_off_at_once(
    spheron_emulator: SpheronEmulator, spheron_client_factory: Callable[..., SpheronClient]
) -> None:
    stop = threading.Event()
    spheron_emulator.set_faults(FaultPlan(error_next=100, error_status=500))
    client = spheron_client_factory(spheron_emulator, backoff_s=60, max_retries=5, stop=stop)
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    with pytest.raises(StopRequested):
        client.regions()
    assert time.monotonic() - started < 5
    assert len(api_requests(spheron_emulator, "/v1/compute-machine-image/regions")) == 1


@pytest.mark.parametrize(
    ("plan", "delivered"),
    [
        (FaultPlan(error_next=1), True),  # the server answered 503: it may have acted
        (FaultPlan(drop_response_next=1), True),  # it acted, then the answer was lost
        (FaultPlan(drop_next=1), True),  # the connection was made: cannot tell
    ],
)
def test_a_failed_create_is_sent_once_and_says_whether_it_may_have_arrived(
    spheron_emulator: SpheronEmulator,
    spheron_target: SpheronTarget,
    plan: FaultPlan,
    delivered: bool,
) -> None:
    spheron_emulator.set_faults(replace(plan, path="/v1/cluster-instance/create"))
    with pytest.raises(TargetUnavailableError) as caught:
        create(spheron_target, make_spec())
    assert caught.value.delivered is delivered
    assert len(spheron_emulator.request_log()) == 1


def test_a_create_that_cannot_connect_was_certainly_not_delivered(
    spheron_emulator: SpheronEmulator, spheron_client_factory: Callable[..., SpheronClient]
) -> None:
    live = SpheronTarget(spheron_client_factory(spheron_emulator))
    live.find("warm-up")  # the organisation id is cached
    spheron_emulator.stop()  # connection refused from now on
    with pytest.raises(TargetUnavailableError) as caught:
        create(live, make_spec())
    assert caught.value.delivered is False


def test_a_rejected_create_is_sent_once_and_carries_the_server_message(
    spheron_emulator: SpheronEmulator, spheron_target: SpheronTarget
) -> None:
    def mars(data: dict[str, Any]) -> None:
        data["configuration"]["region"] = "mars"

    with pytest.raises(TargetRejectedError) as caught:
        create(spheron_target, make_spec(mars))
    assert caught.value.status_code == 400
    assert caught.value.server_message == "Region not available: mars"
    assert "Region not available: mars" in str(caught.value)
    assert len(spheron_emulator.request_log()) == 1


def test_unknown_order_is_rejected(spheron_target: SpheronTarget) -> None:
    with pytest.raises(TargetRejectedError) as caught:
        spheron_target.status("f" * 24)
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


# -- updates, health checks, inspection ------------------------------------------------------------


def send_update(
    target: SpheronTarget, instance_id: str, spec: InstanceSpec, key: str = "u1"
) -> str:
    sent: list[bool] = []
    order = target.update(
        instance_id,
        spec,
        secret_values=SECRETS,
        request_key=key,
        on_sending=lambda: sent.append(True),
    )
    assert sent == [True]
    return order


def test_an_update_is_a_new_order_of_type_update_followed_like_a_deploy(
    spheron_emulator: SpheronEmulator, spheron_target: SpheronTarget
) -> None:
    created = create(spheron_target, make_spec())
    settle(spheron_target, created.deployment_id)

    def newer(data: dict[str, Any]) -> None:
        data["configuration"].update(tag="1.28", replicas=3)
        data["configuration"]["customSpecs"] = {"cpu": 4, "memory": 8}
        data["configuration"]["environmentVariables"] = [{"key": "MODE", "value": "blue"}]

    order = send_update(spheron_target, created.instance_id, make_spec(newer))
    assert order != created.deployment_id
    view = spheron_target.inspect(created.instance_id)
    assert view.deployment_ids == (created.deployment_id, order)
    assert view.active is not None and view.active.deployment_id == order
    running = view.active
    assert (running.kind, running.image, running.tag, running.replicas) == (
        "UPDATE",
        "nginx",
        "1.28",
        3,
    )
    assert running.size == "4 CPU / 8 GiB" and running.storage_gb == 20
    assert running.env_names == ("DB_PASSWORD", "MODE")
    assert settle(spheron_target, order).outcome is Outcome.SUCCEEDED
    (logged,) = [
        e for e in spheron_emulator.request_log(all_requests=True) if "/update" in e["path"]
    ]
    assert logged["method"] == "PATCH" and logged["status"] == 200


def test_the_update_topic_is_the_same_for_every_attempt_of_one_update() -> None:
    assert topic_for("update:7") == topic_for("update:7") != topic_for("update:8")


def test_an_update_is_sent_once_even_when_it_fails_in_transit(
    spheron_emulator: SpheronEmulator, spheron_target: SpheronTarget
) -> None:
    created = create(spheron_target, make_spec())
    path = f"/v1/cluster-instance/{created.instance_id}/update"
    spheron_emulator.set_faults(FaultPlan(error_next=1, path=path))
    with pytest.raises(TargetUnavailableError) as caught:
        send_update(spheron_target, created.instance_id, make_spec())
    assert caught.value.delivered
    assert len(api_requests(spheron_emulator, path)) == 1


def test_a_closed_instance_cannot_be_updated(spheron_target: SpheronTarget) -> None:
    created = create(spheron_target, make_spec())
    spheron_target.close(created.instance_id)
    with pytest.raises(TargetRejectedError, match="is closed"):
        send_update(spheron_target, created.instance_id, make_spec())
    view = spheron_target.inspect(created.instance_id)
    assert view.closed and not view.failed


def test_the_health_check_is_set_in_place(
    spheron_target: SpheronTarget, spheron_client: SpheronClient
) -> None:
    created = create(spheron_target, make_spec())
    spheron_target.set_health_check(created.instance_id, "/ready", 8080)
    spheron_target.set_health_check(created.instance_id, "/ready", 8080)  # idempotent
    check = spheron_client.get_instance(created.instance_id)["healthCheck"]
    assert (check["url"], check["port"]) == ("/ready", 8080)


def test_inspect_sees_a_change_and_a_failure_made_outside(
    spheron_emulator: SpheronEmulator, spheron_target: SpheronTarget
) -> None:
    created = create(spheron_target, make_spec())
    settle(spheron_target, created.deployment_id)
    spheron_emulator.change_outside_the_dao(created.instance_id, tag="latest", instanceCount=9)
    view = spheron_target.inspect(created.instance_id)
    assert view.active is not None
    assert (view.active.tag, view.active.replicas, view.active.kind) == ("latest", 9, "UPDATE")
    spheron_emulator.fail_instance(created.instance_id)
    assert spheron_target.inspect(created.instance_id).failed
