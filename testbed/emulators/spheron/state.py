"""The emulated compute state: clusters, instances and orders, and their JSON views.

A deployment's status is computed from the emulator's clock whenever it is read.
"""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from testbed.emulators.spheron.constants import PROVIDER_HOST, JsonDict
from testbed.emulators.spheron.errors import ApiError
from testbed.emulators.spheron.validation import (
    validate_create,
    validate_health_check,
    validate_update,
)


def _iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, tz=UTC).isoformat().replace("+00:00", "Z")


def _mask_env(env: Any) -> Any:
    """Copy of an env list with the values of secret entries replaced by ***."""
    if not isinstance(env, list):
        return env
    masked = []
    for entry in env:
        if isinstance(entry, dict) and entry.get("isSecret"):
            key, equals, _ = str(entry.get("value", "")).partition("=")
            entry = {**entry, "value": f"{key}=***" if equals else "***"}
        masked.append(entry)
    return masked


def masked_body(body: Any) -> Any:
    """A create or update body with secret values masked (creates nest env in configuration)."""
    body = copy.deepcopy(body)
    if isinstance(body, dict) and isinstance(body.get("configuration"), dict):
        body["configuration"]["env"] = _mask_env(body["configuration"].get("env"))
    if isinstance(body, dict) and "env" in body:
        body["env"] = _mask_env(body["env"])
    return body


@dataclass
class _Order:
    id: str
    instance_id: str
    started: float  # emulator clock
    wall: float
    configuration: JsonDict  # secret env values already masked
    fails: bool
    port_base: int
    type: str = "DEPLOY"
    topic: str = ""
    closed_status: str | None = None

    def status(self, now: float, queued_s: float, pending_s: float) -> str:
        if self.closed_status:
            return self.closed_status
        elapsed = now - self.started
        if elapsed < queued_s:
            return "Queued"
        if elapsed < queued_s + pending_s:
            return "Pending"
        return "Failed" if self.fails else "Deployed"


@dataclass
class _Instance:
    id: str
    name: str
    cluster_id: str
    wall: float
    health_url: str
    health_port: int | None
    order_ids: list[str] = field(default_factory=list)
    closed_wall: float | None = None


_INSTANCE_STATE = {"Deployed": "Active", "Failed": "Failed-start"}
_LIVE_LOGS = {
    "Queued": ["Order queued (local emulator)"],
    "Pending": ["Lease offered by the emulated provider", "Starting containers (emulated)"],
    "Deployed": ["Deployment is live (emulated)"],
    "Failed": ["Deployment failed: the image is in the emulator's fail set"],
}


class ComputeState:
    """Clusters, instances and orders of the emulated organisations. Callers hold the lock."""

    def __init__(
        self,
        *,
        organizations: Sequence[JsonDict],
        clock: Callable[[], float],
        queued_s: float,
        pending_s: float,
        fail_images: frozenset[str],
    ) -> None:
        self.organizations = list(organizations)
        self._clock = clock
        self._queued_s = queued_s
        self._pending_s = pending_s
        self._fail_images = fail_images
        self._ids = itertools.count(1)
        self.clear()

    def clear(self) -> None:
        self.clusters: dict[str, JsonDict] = {}
        self.instances: dict[str, _Instance] = {}
        self.orders: dict[str, _Order] = {}

    def _new_id(self) -> str:
        return f"{next(self._ids):024x}"

    def _order_status(self, order: _Order) -> str:
        return order.status(self._clock(), self._queued_s, self._pending_s)

    def check_org(self, org_id: str) -> None:
        if org_id not in {org["id"] for org in self.organizations}:
            raise ApiError(403, f"Organization {org_id} is not accessible with this API token")

    def create(self, body: JsonDict) -> JsonDict:
        validate_create(body)
        self.check_org(body["organizationId"])
        config = body["configuration"]
        now_wall = time.time()
        cluster = next(
            (
                c
                for c in self.clusters.values()
                if c["organization"] == body["organizationId"] and c["name"] == body["clusterName"]
            ),
            None,
        )
        if cluster is None:
            cluster_id = self._new_id()
            cluster = {
                "_id": cluster_id,
                "name": body["clusterName"],
                "organization": body["organizationId"],
                "url": body["clusterUrl"],
                "provider": body["clusterProvider"],
                "createdAt": _iso(now_wall),
                "updatedAt": _iso(now_wall),
            }
            self.clusters[cluster_id] = cluster
        instance_id = self._new_id()
        order_id = self._new_id()
        image, tag = config["image"], config["tag"]
        order = _Order(
            id=order_id,
            instance_id=instance_id,
            started=self._clock(),
            wall=now_wall,
            configuration={**copy.deepcopy(config), "env": _mask_env(config["env"])},
            fails=self._fails(image, tag),
            port_base=30000 + 10 * (len(self.orders) % 3000),
            topic=body["uniqueTopicId"],
        )
        instance = _Instance(
            id=instance_id,
            name=body.get("instanceName") or f"instance-{instance_id[-6:]}",
            cluster_id=cluster["_id"],
            wall=now_wall,
            health_url=body.get("healthCheckUrl") or "",
            health_port=body.get("healthCheckPort"),
            order_ids=[order_id],
        )
        self.orders[order_id] = order
        self.instances[instance_id] = instance
        return {
            "clusterId": cluster["_id"],
            "clusterInstanceId": instance_id,
            "clusterInstanceOrderId": order_id,
            "topic": body["uniqueTopicId"],
        }

    def _fails(self, image: str, tag: str) -> bool:
        return image in self._fail_images or f"{image}:{tag}" in self._fail_images

    def _live_instance(self, instance_id: str) -> _Instance:
        instance = self.instances.get(instance_id)
        if instance is None:
            raise ApiError(404, f"Instance not found: {instance_id}")
        if instance.closed_wall is not None:
            raise ApiError(400, f"Instance {instance_id} is closed")
        return instance

    def _new_order(self, instance: _Instance, configuration: JsonDict, topic: str) -> _Order:
        """An UPDATE order on `instance` with `configuration`; it becomes the active order."""
        order = _Order(
            id=self._new_id(),
            instance_id=instance.id,
            started=self._clock(),
            wall=time.time(),
            configuration=configuration,
            fails=self._fails(configuration["image"], configuration["tag"]),
            port_base=30000 + 10 * (len(self.orders) % 3000),
            type="UPDATE",
            topic=topic,
        )
        self.orders[order.id] = order
        instance.order_ids.append(order.id)
        return order

    def update(self, instance_id: str, body: JsonDict) -> JsonDict:
        """A new order of type UPDATE with the body's env, command, args, tag and sizes."""
        validate_update(body)
        self.check_org(body["organizationId"])
        instance = self._live_instance(instance_id)
        configuration = copy.deepcopy(self.orders[instance.order_ids[-1]].configuration)
        configuration.update(
            env=_mask_env(body["env"]), command=body["command"], args=body["args"], tag=body["tag"]
        )
        if body.get("instanceCount") is not None:
            configuration["instanceCount"] = body["instanceCount"]
        if body.get("akashMachineImageName"):
            configuration["akashMachineImageName"] = body["akashMachineImageName"]
            for key in ("cpu", "memory"):
                configuration["customInstanceSpecs"].pop(key, None)
        specs = body.get("customInstanceSpecs") or {}
        if specs.get("cpu") is not None or specs.get("memory") is not None:
            configuration["akashMachineImageName"] = ""
            configuration["customInstanceSpecs"].update(
                {key: specs[key] for key in ("cpu", "memory") if specs.get(key) is not None}
            )
        order = self._new_order(instance, configuration, body["uniqueTopicId"])
        return {
            "clusterId": instance.cluster_id,
            "clusterInstanceId": instance.id,
            "clusterInstanceOrderId": order.id,
            "topic": order.topic,
        }

    def set_health_check(self, instance_id: str, body: JsonDict) -> JsonDict:
        validate_health_check(body)
        instance = self._live_instance(instance_id)
        instance.health_url = body["healthCheckUrl"]
        instance.health_port = body["healthCheckPort"]
        return {"message": "Health check updated", "updated": True}

    def change_configuration(self, instance_id: str, changes: JsonDict) -> None:
        instance = self._live_instance(instance_id)
        configuration = copy.deepcopy(self.orders[instance.order_ids[-1]].configuration)
        configuration.update(copy.deepcopy(changes))
        self._new_order(instance, configuration, topic="outside-the-dao")

    def fail(self, instance_id: str) -> None:
        instance = self._live_instance(instance_id)
        self.orders[instance.order_ids[-1]].closed_status = "Failed"

    def instance_json(self, instance_id: str) -> JsonDict:
        instance = self.instances.get(instance_id)
        if instance is None:
            raise ApiError(404, f"Instance not found: {instance_id}")
        status = self._order_status(self.orders[instance.order_ids[-1]])
        if instance.closed_wall is not None:
            state, health = "Closed", "Inactive"
        else:
            state = _INSTANCE_STATE.get(status, "Starting")
            health = {"Active": "Active", "Failed-start": "Inactive"}.get(state, "Unknown")
        return {
            "_id": instance.id,
            "state": state,
            "name": instance.name,
            "orders": list(instance.order_ids),
            "cluster": instance.cluster_id,
            "activeOrder": instance.order_ids[-1],
            "healthCheck": {
                "url": instance.health_url,
                "port": instance.health_port,
                "status": health,
            },
            "createdAt": _iso(instance.wall),
            "updatedAt": _iso(instance.closed_wall or instance.wall),
        }

    def order_json(self, order_id: str) -> JsonDict:
        order = self.orders.get(order_id)
        if order is None:
            raise ApiError(404, f"Order not found: {order_id}")
        status = self._order_status(order)
        configuration = copy.deepcopy(order.configuration)
        deployed = status == "Deployed"
        if deployed:
            for index, port in enumerate(configuration.get("ports", [])):
                port["exposedPort"] = order.port_base + index
        progress = ["Queued", "Pending", "Failed" if order.fails else "Deployed"]
        reached = progress[: progress.index(status) + 1] if status in progress else progress
        return {
            "order": {
                "_id": order.id,
                "type": order.type,
                "status": status,
                "clusterInstance": order.instance_id,
                "clusterInstanceConfiguration": configuration,
                "protocolData": {"providerHost": PROVIDER_HOST if deployed else ""},
                "urlPrewiew": f"http://{order.id}.ingress.{PROVIDER_HOST}" if deployed else "",
                "createdAt": _iso(order.wall),
                "updatedAt": _iso(order.wall),
            },
            "liveLogs": [line for step in reached for line in _LIVE_LOGS[step]],
        }

    def close(self, instance_id: str) -> JsonDict:
        instance = self.instances.get(instance_id)
        if instance is None:
            raise ApiError(404, f"Instance not found: {instance_id}")
        if instance.closed_wall is not None:
            raise ApiError(400, f"Instance {instance_id} is already closed")
        instance.closed_wall = time.time()
        order = self.orders[instance.order_ids[-1]]
        if self._order_status(order) != "Failed":
            order.closed_status = "Deprecated"
        return {"message": "Instance closed", "success": True}

    def list_clusters(self, org_id: str, skip: int, limit: int) -> JsonDict:
        self.check_org(org_id)
        mine = [c for c in self.clusters.values() if c["organization"] == org_id]
        return {"clusters": [dict(c) for c in mine[skip : skip + limit]]}

    def cluster_instances(self, cluster_id: str, skip: int, limit: int) -> JsonDict:
        if cluster_id not in self.clusters:
            raise ApiError(404, f"Cluster not found: {cluster_id}")
        ids = [i.id for i in self.instances.values() if i.cluster_id == cluster_id]
        page = ids[skip : skip + limit]
        return {"extendedInstances": [self.instance_json(instance_id) for instance_id in page]}
