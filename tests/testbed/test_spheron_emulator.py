"""The local Spheron Compute API emulator, spoken to over raw HTTP on loopback."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests

from testbed.emulators.spheron import (
    BANNER,
    MACHINE_IMAGES,
    PROVIDER_HOST,
    FaultPlan,
    SpheronEmulator,
)
from tests.helpers import DELETE, set_path

SECRET = "hunter2=and=more"


class ManualClock:
    """Drives the emulator's state machine by hand, so no test waits on wall-clock time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def valid_body(org_id: str, **top: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "organizationId": org_id,
        "uniqueTopicId": "0b6b3a5e-6a7e-4c41-9d43-6f2f3f4f0a11",
        "configuration": {
            "folderName": "",
            "protocol": "akash",
            "image": "nginx",
            "tag": "1.27",
            "instanceCount": 1,
            "buildImage": False,
            "ports": [{"containerPort": 80, "exposedPort": 80}],
            "env": [
                {"value": "GREETING=hi=there", "isSecret": False},
                {"value": f"DB_PASSWORD={SECRET}", "isSecret": True},
            ],
            "command": [],
            "args": [],
            "region": "any",
            "akashMachineImageName": "",
            "customInstanceSpecs": {"storage": "10Gi", "cpu": 1, "memory": "2Gi"},
        },
        "clusterUrl": "nginx",
        "clusterProvider": "DOCKERHUB",
        "clusterName": "web",
        "scalable": False,
        "instanceName": "web-1",
    }
    body.update(top)
    return body


class Api:
    """A tiny raw-HTTP helper bound to one emulator and token."""

    def __init__(self, emulator: SpheronEmulator, token: str) -> None:
        self.emulator = emulator
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.emulator.url + path, headers=self.headers, timeout=5, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.post(self.emulator.url + path, headers=self.headers, timeout=5, **kwargs)

    def create(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = self.post(
            "/v1/cluster-instance/create", json=body or valid_body(self.emulator.organization_id)
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def order(self, order_id: str) -> dict[str, Any]:
        return self.get(f"/v1/cluster-instance/order/{order_id}").json()

    def instance(self, instance_id: str) -> dict[str, Any]:
        return self.get(f"/v1/cluster-instance/{instance_id}").json()["instance"]

    def set_faults(self, **plan: Any) -> requests.Response:
        return requests.post(self.emulator.url + "/emulator/faults", json=plan, timeout=5)


@pytest.fixture
def spheron_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def spheron_api(
    spheron_emulator_factory: Callable[..., SpheronEmulator],
    spheron_clock: ManualClock,
    spheron_token: str,
) -> Api:
    emulator = spheron_emulator_factory(
        queued_s=1, pending_s=2, clock=spheron_clock, fail_images=["example/fails:2"]
    )
    return Api(emulator, spheron_token)


# -- transport and authentication -----------------------------------------------------------------


def test_status_needs_no_token_and_says_it_is_an_emulator(spheron_api: Api) -> None:
    answer = requests.get(spheron_api.emulator.url + "/status", timeout=5)
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
    assert "emulator" in answer.json()["service"].lower()


@pytest.mark.parametrize("auth", [None, "Bearer wrong-token", "Basic abc", "Bearer "])
def test_api_requires_the_token(spheron_api: Api, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    url = spheron_api.emulator.url + "/v1/api-keys/scope"
    answer = requests.get(url, headers=headers, timeout=5)
    assert answer.status_code == 401
    assert answer.json()["error"] is True
    assert "token" in answer.json()["message"]


def test_scope_lists_one_compute_organisation(spheron_api: Api) -> None:
    (org,) = spheron_api.get("/v1/api-keys/scope").json()["organizations"]
    assert org["id"] == spheron_api.emulator.organization_id
    assert org["appType"] == "compute"


def test_unknown_paths_are_404(spheron_api: Api) -> None:
    answer = spheron_api.get("/v1/nothing-here")
    assert (answer.status_code, answer.json()["error"]) == (404, True)


# -- create validation ----------------------------------------------------------------------------


def _edit(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set (or, with value None, delete) a dotted path in a body."""

    def apply(body: dict[str, Any]) -> None:
        set_path(body, path, DELETE if value is None else value)

    return apply


def _machine_and_custom(body: dict[str, Any]) -> None:
    body["configuration"]["akashMachineImageName"] = MACHINE_IMAGES[0]["name"]


def _unknown_machine(body: dict[str, Any]) -> None:
    body["configuration"]["akashMachineImageName"] = "no-such-plan"
    body["configuration"]["customInstanceSpecs"] = {"storage": "10Gi"}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_unknown_machine, "Machine image not found: no-such-plan"),
        (_machine_and_custom, "A machine image and custom specs cannot be used together"),
        (_edit("configuration.customInstanceSpecs.cpu", 3), "cpu must be one of 0.5, 1, 2,"),
        (_edit("configuration.customInstanceSpecs.cpu", 64), "cpu must be one of"),
        (_edit("configuration.customInstanceSpecs.memory", "3Gi"), "memory must be one of"),
        (_edit("configuration.customInstanceSpecs.memory", None), "custom cpu and memory"),
        (_edit("configuration.customInstanceSpecs.storage", "0Gi"), "between 1Gi and 1024Gi"),
        (_edit("configuration.customInstanceSpecs.storage", "1025Gi"), "between 1Gi and 1024Gi"),
        (_edit("configuration.customInstanceSpecs.storage", "10GB"), 'a size like "10Gi"'),
        (
            _edit(
                "configuration.customInstanceSpecs.persistentStorage",
                {"size": "2000Gi", "class": "beta1", "mountPoint": "/data"},
            ),
            "persistentStorage.size must be between 1Gi and 1024Gi",
        ),
        (
            _edit(
                "configuration.customInstanceSpecs.persistentStorage",
                {"size": "20Gi", "class": "SSD", "mountPoint": "/data"},
            ),
            "class must be one of beta1, beta2, beta3",
        ),
        (_edit("configuration.instanceCount", 0), "instanceCount must be at least 1"),
        (_edit("configuration.instanceCount", "2"), "instanceCount must be an integer"),
        (_edit("clusterName", None), "Missing required field: clusterName"),
        (_edit("configuration.image", None), "Missing required field: configuration.image"),
        (_edit("configuration.region", "mars"), "Region not available: mars"),
        (_edit("configuration.protocol", "ipfs"), "Unsupported protocol: ipfs"),
        (_edit("configuration.env", [{"value": "NOEQUALS", "isSecret": False}]), "KEY=VALUE"),
        (_edit("configuration.ports", [{"containerPort": 0, "exposedPort": 80}]), "1..65535"),
    ],
)
def test_create_validation_messages(
    spheron_api: Api, edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    body = copy.deepcopy(valid_body(spheron_api.emulator.organization_id))
    edit(body)
    answer = spheron_api.post("/v1/cluster-instance/create", json=body)
    assert answer.status_code == 400
    assert message in answer.json()["message"]
    assert answer.json()["error"] is True
    assert spheron_api.get(f"/v1/organization/{body['organizationId']}/clusters").json() == {
        "clusters": []
    }


def test_create_refuses_non_json(spheron_api: Api) -> None:
    answer = spheron_api.post("/v1/cluster-instance/create", data=b"{not json")
    assert (answer.status_code, answer.json()["message"]) == (400, "Request body is not valid JSON")


def test_create_refuses_another_organisation(spheron_api: Api) -> None:
    answer = spheron_api.post("/v1/cluster-instance/create", json=valid_body("f" * 24))
    assert answer.status_code == 403


# -- create, clusters, instances ------------------------------------------------------------------


def test_create_answers_ids_and_reuses_the_cluster_by_name(spheron_api: Api) -> None:
    org = spheron_api.emulator.organization_id
    first = spheron_api.create(valid_body(org, uniqueTopicId="topic-a"))
    second = spheron_api.create(valid_body(org, instanceName="web-2"))
    other = spheron_api.create(valid_body(org, clusterName="api"))

    assert set(first) == {"clusterId", "clusterInstanceId", "clusterInstanceOrderId", "topic"}
    assert first["topic"] == "topic-a"
    assert first["clusterId"] == second["clusterId"] != other["clusterId"]
    assert first["clusterInstanceId"] != second["clusterInstanceId"]
    clusters = spheron_api.get(f"/v1/organization/{org}/clusters").json()["clusters"]
    assert [c["name"] for c in clusters] == ["web", "api"]
    listed = spheron_api.get(f"/v1/cluster/{first['clusterId']}/instances").json()
    assert [i["name"] for i in listed["extendedInstances"]] == ["web-1", "web-2"]


def test_cluster_and_instance_listings_page(spheron_api: Api) -> None:
    org = spheron_api.emulator.organization_id
    for index in range(5):
        spheron_api.create(valid_body(org, clusterName=f"c{index}"))
    page = spheron_api.get(f"/v1/organization/{org}/clusters", params={"skip": 3, "limit": 10})
    assert [c["name"] for c in page.json()["clusters"]] == ["c3", "c4"]
    bad = spheron_api.get(f"/v1/organization/{org}/clusters", params={"limit": "x"})
    assert bad.status_code == 400


def test_machine_images_page_and_search(spheron_api: Api) -> None:
    first = spheron_api.get("/v1/compute-machine-image").json()
    assert len(first["akashMachineImages"]) == 10
    assert first["totalCount"] == len(MACHINE_IMAGES) > 10
    last = spheron_api.get("/v1/compute-machine-image", params={"skip": 20, "limit": 10}).json()
    assert [m["_id"] for m in last["akashMachineImages"]] == [m["_id"] for m in MACHINE_IMAGES[20:]]
    found = spheron_api.get("/v1/compute-machine-image", params={"searchString": "16CPU"}).json()
    assert found["totalCount"] == 4
    assert all(m["name"].startswith("emu-16cpu") for m in found["akashMachineImages"])


def test_regions(spheron_api: Api) -> None:
    answer = spheron_api.get("/v1/compute-machine-image/regions").json()
    assert answer["totalCount"] == len(answer["regions"]) > 0


# -- state machine --------------------------------------------------------------------------------


def test_order_and_instance_move_through_their_states(
    spheron_api: Api, spheron_clock: ManualClock
) -> None:
    created = spheron_api.create()
    order_id, instance_id = created["clusterInstanceOrderId"], created["clusterInstanceId"]

    order = spheron_api.order(order_id)["order"]
    assert (order["status"], order["type"], order["protocolData"]["providerHost"]) == (
        "Queued",
        "DEPLOY",
        "",
    )
    assert spheron_api.instance(instance_id)["state"] == "Starting"

    spheron_clock.advance(1)
    assert spheron_api.order(order_id)["order"]["status"] == "Pending"
    assert spheron_api.instance(instance_id)["state"] == "Starting"

    spheron_clock.advance(2)
    answer = spheron_api.order(order_id)
    order = answer["order"]
    assert order["status"] == "Deployed"
    assert order["protocolData"]["providerHost"] == PROVIDER_HOST
    assert order["urlPrewiew"].startswith("http://")
    assert order["clusterInstanceConfiguration"]["ports"][0]["exposedPort"] >= 30000
    assert len(answer["liveLogs"]) >= 3
    instance = spheron_api.instance(instance_id)
    assert (instance["state"], instance["name"], instance["activeOrder"]) == (
        "Active",
        "web-1",
        order_id,
    )


def test_an_image_in_the_fail_set_fails(spheron_api: Api, spheron_clock: ManualClock) -> None:
    body = valid_body(spheron_api.emulator.organization_id)
    body["configuration"].update(image="example/fails", tag="2")
    created = spheron_api.create(body)
    spheron_clock.advance(3)
    assert spheron_api.order(created["clusterInstanceOrderId"])["order"]["status"] == "Failed"
    assert spheron_api.instance(created["clusterInstanceId"])["state"] == "Failed-start"


def test_close_closes_once(spheron_api: Api, spheron_clock: ManualClock) -> None:
    created = spheron_api.create()
    spheron_clock.advance(3)
    path = f"/v1/cluster-instance/{created['clusterInstanceId']}/close"
    answer = spheron_api.post(path)
    assert answer.json() == {"message": "Instance closed", "success": True}
    assert spheron_api.instance(created["clusterInstanceId"])["state"] == "Closed"
    assert spheron_api.order(created["clusterInstanceOrderId"])["order"]["status"] == "Deprecated"
    again = spheron_api.post(path)
    assert again.status_code == 400
    assert "already closed" in again.json()["message"]


def test_unknown_instance_and_order_are_404(spheron_api: Api) -> None:
    assert spheron_api.get("/v1/cluster-instance/" + "a" * 24).status_code == 404
    assert spheron_api.get("/v1/cluster-instance/order/" + "a" * 24).status_code == 404


# -- introspection --------------------------------------------------------------------------------


def test_request_log_records_creates_with_secrets_masked(spheron_api: Api) -> None:
    spheron_api.create()
    spheron_api.get("/v1/compute-machine-image/regions")
    answer = requests.get(spheron_api.emulator.url + "/emulator/requests", timeout=5)
    assert SECRET not in answer.text
    (entry,) = answer.json()["requests"]
    assert entry["path"] == "/v1/cluster-instance/create"
    assert isinstance(entry["monotonic"], float) and isinstance(entry["time"], float)
    assert entry["body"]["configuration"]["env"] == [
        {"value": "GREETING=hi=there", "isSecret": False},
        {"value": "DB_PASSWORD=***", "isSecret": True},
    ]
    everything = requests.get(
        spheron_api.emulator.url + "/emulator/requests", params={"all": 1}, timeout=5
    ).json()["requests"]
    assert [e["path"] for e in everything][-1] == "/v1/compute-machine-image/regions"


def test_request_log_masks_even_a_malformed_secret_entry(spheron_api: Api) -> None:
    body = valid_body(spheron_api.emulator.organization_id)
    body["configuration"]["env"] = [{"value": "JUSTTHESECRET", "isSecret": True}]
    assert spheron_api.post("/v1/cluster-instance/create", json=body).status_code == 400
    (entry,) = spheron_api.emulator.request_log()
    assert entry["body"]["configuration"]["env"] == [{"value": "***", "isSecret": True}]
    assert entry["status"] == 400


def test_orders_do_not_reveal_secret_values(spheron_api: Api) -> None:
    created = spheron_api.create()
    assert (
        SECRET
        not in spheron_api.get(
            f"/v1/cluster-instance/order/{created['clusterInstanceOrderId']}"
        ).text
    )


def test_reset_forgets_state_and_restores_initial_faults(
    spheron_emulator_factory: Callable[..., SpheronEmulator], spheron_token: str
) -> None:
    emulator = spheron_emulator_factory(faults=FaultPlan(error_next=1))
    api = Api(emulator, spheron_token)
    assert api.get("/v1/compute-machine-image/regions").status_code == 503
    created = api.create()
    assert requests.post(emulator.url + "/emulator/reset", timeout=5).status_code == 200
    assert emulator.request_log(all_requests=True) == []
    assert api.get(f"/v1/cluster-instance/{created['clusterInstanceId']}").status_code == 503
    assert api.get(f"/v1/cluster-instance/{created['clusterInstanceId']}").status_code == 404


# -- fault injection ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503])
def test_error_faults_for_the_next_requests(spheron_api: Api, status: int) -> None:
    assert spheron_api.set_faults(error_next=2, error_status=status).status_code == 200
    statuses = [spheron_api.get("/v1/compute-machine-image/regions").status_code for _ in range(3)]
    assert statuses == [status, status, 200]


def test_drop_closes_the_connection_without_an_answer(spheron_api: Api) -> None:
    spheron_api.set_faults(drop_next=1)
    with pytest.raises(requests.ConnectionError):
        spheron_api.get("/v1/compute-machine-image/regions")
    assert spheron_api.get("/v1/compute-machine-image/regions").status_code == 200


def test_drop_response_processes_the_request_first(spheron_api: Api) -> None:
    spheron_api.set_faults(drop_response_next=1)
    with pytest.raises(requests.ConnectionError):
        spheron_api.create()
    org = spheron_api.emulator.organization_id
    clusters = spheron_api.get(f"/v1/organization/{org}/clusters").json()["clusters"]
    assert [c["name"] for c in clusters] == ["web"]


def test_delay_slows_the_answer(spheron_api: Api) -> None:
    spheron_api.set_faults(delay_s=30, delay_next=1)
    with pytest.raises(requests.ReadTimeout):
        requests.get(
            spheron_api.emulator.url + "/v1/compute-machine-image/regions",
            headers=spheron_api.headers,
            timeout=0.2,
        )
    assert spheron_api.get("/v1/compute-machine-image/regions").status_code == 200


def test_faults_can_be_limited_to_a_path(spheron_api: Api) -> None:
    spheron_api.set_faults(error_next=1, path="/v1/cluster-instance/create")
    assert spheron_api.get("/v1/compute-machine-image/regions").status_code == 200
    body = valid_body(spheron_api.emulator.organization_id)
    assert spheron_api.post("/v1/cluster-instance/create", json=body).status_code == 503


def test_rate_faults_repeat_with_the_same_seed(spheron_api: Api) -> None:
    def run() -> list[int]:
        spheron_api.set_faults(error_rate=0.5, seed=7)
        return [spheron_api.get("/v1/compute-machine-image/regions").status_code for _ in range(16)]

    first = run()
    assert first == run()
    assert set(first) == {200, 503}


def test_faults_spare_status_and_the_control_surface(spheron_api: Api) -> None:
    spheron_api.set_faults(error_rate=1.0, drop_rate=1.0)
    assert requests.get(spheron_api.emulator.url + "/status", timeout=5).status_code == 200
    faults = requests.get(spheron_api.emulator.url + "/emulator/faults", timeout=5).json()
    assert faults["plan"]["drop_rate"] == 1.0


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ({"bogus": 1}, "unknown fault setting"),
        ({"error_rate": 2}, "between 0 and 1"),
        ({"error_status": 404}, "5xx"),
        ({"drop_next": "x"}, "must be a number"),
    ],
)
def test_bad_fault_plans_are_refused(spheron_api: Api, plan: dict[str, Any], message: str) -> None:
    answer = spheron_api.set_faults(**plan)
    assert answer.status_code == 400
    assert message in answer.json()["message"]


# -- lifecycle and command line -------------------------------------------------------------------


def test_stop_leaves_no_thread_behind(spheron_token: str) -> None:
    before = set(threading.enumerate())
    emulator = SpheronEmulator(token=spheron_token, faults=FaultPlan(delay_s=30, delay_next=1))
    with emulator:
        url = emulator.url
        with pytest.raises(requests.ReadTimeout):
            requests.get(url + "/v1/compute-machine-image/regions", timeout=0.1)
    assert set(threading.enumerate()) <= before
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/status", timeout=1)
    assert "***" in repr(emulator) and spheron_token not in repr(emulator)


def test_command_line_serves_until_sigterm(spheron_token: str) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "testbed.emulators.spheron",
            "--port",
            "0",
            "--token",
            spheron_token,
            "--error-next",
            "1",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        prefix = BANNER.format(url="")
        assert line.startswith(prefix)
        url = line[len(prefix) :]
        assert url.startswith("http://127.0.0.1:")
        headers = {"Authorization": f"Bearer {spheron_token}"}
        regions = url + "/v1/compute-machine-image/regions"
        assert requests.get(regions, headers=headers, timeout=5).status_code == 503
        assert requests.get(regions, headers=headers, timeout=5).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
