"""A local emulator of the Spheron Compute API, for tests and the local demo. It is NOT Spheron.

It speaks the HTTP API the deprecated `@spheron/compute` SDK used (paths, bodies, enums and error
shape from the reference notes), keeps its state in memory, and deploys nothing: a deployment's
status moves Queued → Pending → Deployed (or Failed, for images in `fail_images`) as configured
delays elapse, computed whenever it is read.

Besides the API (`/v1/...` and `GET /status`) it serves a control surface under `/emulator/...`:
- `GET /emulator/requests` — create requests as they arrived (secret env values masked);
  `?all=1` lists every API request.
- `GET|POST /emulator/faults` — read or replace the fault plan (see `FaultPlan`).
- `POST /emulator/reset` — forget clusters, instances, orders and the log; restore the initial
  fault plan.

Run it with `python -m services.emulators.spheron --port 8080 --token T`.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hmac
import itertools
import json
import random
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

BANNER = "Local emulator of the Spheron Compute API (not Spheron) listening on {url}"
#: Host name the emulator reports as the provider of deployed orders (it serves nothing).
PROVIDER_HOST = "provider.emulator.localhost"
REGIONS = ("us-east", "us-west", "eu-central", "eu-west", "ap-south")
SPEC_CHOICES = (0.5, 1, 2, 4, 8, 16, 32)
STORAGE_CLASSES = ("beta1", "beta2", "beta3")
DEFAULT_PAGE_LIMIT = 10
MAX_PAGE_LIMIT = 100
MAX_BODY_BYTES = 1_000_000
CREATE_PATH = "/v1/cluster-instance/create"

#: 24 machine images, so that a client reading only the first page of 10 misses most of them.
MACHINE_IMAGES: tuple[dict[str, Any], ...] = tuple(
    {
        "_id": f"{0xE0000000 + index:024x}",
        "name": f"emu-{cpu:g}cpu-{cpu * factor:g}gi",
        "cpu": cpu,
        "memory": f"{cpu * factor:g}Gi",
        "storage": f"{max(10, int(cpu * 20))}Gi",
    }
    for index, (cpu, factor) in enumerate(itertools.product((0.5, 1, 2, 4, 8, 16), (1, 2, 4, 8)))
)

JsonDict = dict[str, Any]


class ApiError(Exception):
    """Turned into an HTTP error answer `{"message": ..., "error": true}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# -- fault injection ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultPlan:
    """Faults applied to API requests (`/v1/...`; never `/status` or `/emulator/...`).

    For each kind, `*_next` affects the next N requests and `*_rate` each request with that
    probability; only requests whose path starts with `path` count. The kinds: `drop` closes the
    connection without answering (the request is not processed); `drop_response` processes the
    request, then closes without answering; `error` answers `error_status`; `delay` waits
    `delay_s` before handling. A `seed` makes the draws repeatable.
    """

    error_status: int = 503
    error_next: int = 0
    error_rate: float = 0.0
    drop_next: int = 0
    drop_rate: float = 0.0
    drop_response_next: int = 0
    delay_s: float = 0.0
    delay_next: int = 0
    delay_rate: float = 0.0
    seed: int | None = None
    path: str = ""

    def __post_init__(self) -> None:
        if not 500 <= self.error_status <= 599:
            raise ValueError(f"error_status must be a 5xx status, got {self.error_status}")
        for name in ("error_next", "drop_next", "drop_response_next", "delay_next"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        for name in ("error_rate", "drop_rate", "delay_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.delay_s < 0:
            raise ValueError("delay_s must be >= 0")

    @classmethod
    def from_json(cls, data: Any) -> FaultPlan:
        if not isinstance(data, dict):
            raise ValueError("the fault plan must be a JSON object")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"unknown fault setting(s): {unknown}; known: {sorted(known)}")
        for name, value in data.items():
            wanted = (int,) if name.endswith(("_next", "_status")) else (int, float)
            if (name == "seed" and value is None) or (name == "path" and isinstance(value, str)):
                continue
            if isinstance(value, bool) or not isinstance(value, wanted):
                raise ValueError(f"{name} must be a number")
        return cls(**data)


@dataclass(frozen=True)
class _Fault:
    delay_s: float = 0.0
    drop: bool = False
    error_status: int | None = None
    drop_response: bool = False

    def describe(self) -> str | None:
        parts = [f"delay {self.delay_s:g}s"] if self.delay_s else []
        if self.drop:
            parts.append("drop")
        if self.error_status:
            parts.append(f"HTTP {self.error_status}")
        if self.drop_response:
            parts.append("drop-response")
        return ", ".join(parts) or None


class _FaultInjector:
    """Decides each request's fault; callers hold the emulator's lock."""

    def __init__(self, plan: FaultPlan) -> None:
        self.set(plan)

    def set(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._rng = random.Random(plan.seed)
        self._left = {
            "error": plan.error_next,
            "drop": plan.drop_next,
            "drop_response": plan.drop_response_next,
            "delay": plan.delay_next,
        }

    def snapshot(self) -> JsonDict:
        return {"plan": asdict(self.plan), "remaining": dict(self._left)}

    def _hit(self, kind: str, rate: float) -> bool:
        if self._left.get(kind, 0) > 0:
            self._left[kind] -= 1
            return True
        return rate > 0 and self._rng.random() < rate

    def decide(self, path: str) -> _Fault:
        plan = self.plan
        if not path.startswith(plan.path):
            return _Fault()
        delay = plan.delay_s if self._hit("delay", plan.delay_rate) else 0.0
        if self._hit("drop", plan.drop_rate):
            return _Fault(delay_s=delay, drop=True)
        if self._hit("error", plan.error_rate):
            return _Fault(delay_s=delay, error_status=plan.error_status)
        return _Fault(delay_s=delay, drop_response=self._hit("drop_response", 0.0))


# -- the emulated compute state -------------------------------------------------------------------


def _iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, tz=timezone.utc).isoformat().replace("+00:00", "Z")


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


def _masked_body(body: Any) -> Any:
    body = copy.deepcopy(body)
    if isinstance(body, dict) and isinstance(body.get("configuration"), dict):
        body["configuration"]["env"] = _mask_env(body["configuration"].get("env"))
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


class _ComputeState:
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
        _validate_create(body)
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
            fails=image in self._fail_images or f"{image}:{tag}" in self._fail_images,
            port_base=30000 + 10 * (len(self.orders) % 3000),
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
                "type": "DEPLOY",
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


# -- create body validation -----------------------------------------------------------------------

_TYPES: dict[str, tuple[type, ...]] = {
    "a string": (str,),
    "a boolean": (bool,),
    "an integer": (int,),
    "a list": (list,),
    "an object": (dict,),
}
_GI = re.compile(r"(\d+(?:\.\d+)?)Gi")


def _field(obj: JsonDict, key: str, kind: str, where: str = "", *, required: bool = True) -> Any:
    name = f"{where}{key}"
    if key not in obj or obj[key] is None:
        if required:
            raise ApiError(400, f"Missing required field: {name}")
        return None
    value = obj[key]
    if not isinstance(value, _TYPES[kind]) or (kind == "an integer" and isinstance(value, bool)):
        raise ApiError(400, f"Field {name} must be {kind}")
    return value


def _gi_size(value: Any, name: str) -> float:
    match = _GI.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ApiError(400, f'{name} must be a size like "10Gi", got {value!r}')
    return float(match.group(1))


def _check_storage(value: Any, name: str) -> None:
    if not 1 <= _gi_size(value, name) <= 1024:
        raise ApiError(400, f"{name} must be between 1Gi and 1024Gi, got {value}")


def _validate_create(body: Any) -> None:
    """Refuse what the SDK or the server refused, with messages in the same spirit."""
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object")
    for key in ("organizationId", "uniqueTopicId", "clusterUrl", "clusterProvider", "clusterName"):
        if not _field(body, key, "a string"):
            raise ApiError(400, f"Field {key} must not be empty")
    _field(body, "scalable", "a boolean")
    _field(body, "instanceName", "a string", required=False)
    if _field(body, "healthCheckUrl", "a string", required=False):
        _field(body, "healthCheckPort", "an integer")
    config = _field(body, "configuration", "an object")
    where = "configuration."
    for key in ("folderName", "protocol", "image", "tag", "region", "akashMachineImageName"):
        _field(config, key, "a string", where)
    _field(config, "buildImage", "a boolean", where)
    for key in ("ports", "env", "command", "args"):
        _field(config, key, "a list", where)
    if config["protocol"] != "akash":
        raise ApiError(400, f"Unsupported protocol: {config['protocol']}")
    for key in ("image", "tag"):
        if not config[key]:
            raise ApiError(400, f"Field configuration.{key} must not be empty")
    if _field(config, "instanceCount", "an integer", where) < 1:
        raise ApiError(400, "instanceCount must be at least 1")
    for index, port in enumerate(config["ports"]):
        if not isinstance(port, dict):
            raise ApiError(400, f"configuration.ports[{index}] must be an object")
        for key in ("containerPort", "exposedPort"):
            value = _field(port, key, "an integer", f"configuration.ports[{index}].")
            if not 1 <= value <= 65535:
                raise ApiError(400, f"configuration.ports[{index}].{key} must be in 1..65535")
    for index, entry in enumerate(config["env"]):
        name = f"configuration.env[{index}]"
        if not isinstance(entry, dict):
            raise ApiError(400, f"{name} must be an object")
        value = _field(entry, "value", "a string", f"{name}.")
        _field(entry, "isSecret", "a boolean", f"{name}.")
        if not value.partition("=")[0] or "=" not in value:
            raise ApiError(400, f"{name}.value must look like KEY=VALUE")
    if not all(isinstance(item, str) for item in config["command"] + config["args"]):
        raise ApiError(400, "configuration.command and configuration.args must hold strings")
    if config["region"] != "any" and config["region"] not in REGIONS:
        raise ApiError(400, f"Region not available: {config['region']}")
    _validate_specs(config)


def _validate_specs(config: JsonDict) -> None:
    specs = _field(config, "customInstanceSpecs", "an object", "configuration.")
    where = "customInstanceSpecs"
    _check_storage(_field(specs, "storage", "a string", f"{where}."), f"{where}.storage")
    persistent = _field(specs, "persistentStorage", "an object", f"{where}.", required=False)
    if persistent is not None:
        pwhere = f"{where}.persistentStorage"
        _check_storage(_field(persistent, "size", "a string", f"{pwhere}."), f"{pwhere}.size")
        if _field(persistent, "class", "a string", f"{pwhere}.") not in STORAGE_CLASSES:
            raise ApiError(400, f"{pwhere}.class must be one of {', '.join(STORAGE_CLASSES)}")
        if not str(_field(persistent, "mountPoint", "a string", f"{pwhere}.")).startswith("/"):
            raise ApiError(400, f"{pwhere}.mountPoint must be an absolute path")
    has_cpu, has_memory = specs.get("cpu") is not None, specs.get("memory") is not None
    machine = config["akashMachineImageName"]
    if machine and (has_cpu or has_memory):
        raise ApiError(400, "A machine image and custom specs cannot be used together")
    if machine:
        if machine not in {image["name"] for image in MACHINE_IMAGES}:
            raise ApiError(400, f"Machine image not found: {machine}")
        return
    if not (has_cpu and has_memory):
        raise ApiError(400, "Either a machine image or custom cpu and memory are required")
    cpu = specs["cpu"]
    if isinstance(cpu, bool) or not isinstance(cpu, int | float) or cpu not in SPEC_CHOICES:
        choices = ", ".join(f"{choice:g}" for choice in SPEC_CHOICES)
        raise ApiError(400, f"{where}.cpu must be one of {choices}, got {cpu!r}")
    if _gi_size(specs["memory"], f"{where}.memory") not in SPEC_CHOICES:
        choices = ", ".join(f"{choice:g}Gi" for choice in SPEC_CHOICES)
        raise ApiError(400, f"{where}.memory must be one of {choices}, got {specs['memory']!r}")


# -- HTTP -----------------------------------------------------------------------------------------

_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (method, re.compile(pattern), name)
    for method, pattern, name in (
        ("GET", r"/v1/api-keys/scope", "scope"),
        ("POST", r"/v1/cluster-instance/create", "create"),
        ("GET", r"/v1/cluster-instance/order/(?P<order_id>[^/]+)", "order"),
        ("POST", r"/v1/cluster-instance/(?P<instance_id>[^/]+)/close", "close"),
        ("GET", r"/v1/cluster-instance/(?P<instance_id>[^/]+)", "instance"),
        ("GET", r"/v1/organization/(?P<org_id>[^/]+)/clusters", "clusters"),
        ("GET", r"/v1/cluster/(?P<cluster_id>[^/]+)/instances", "cluster_instances"),
        ("GET", r"/v1/compute-machine-image/regions", "regions"),
        ("GET", r"/v1/compute-machine-image", "machine_images"),
    )
)


def _page(query: Mapping[str, list[str]]) -> tuple[int, int]:
    try:
        skip = int(query.get("skip", ["0"])[0])
        limit = int(query.get("limit", [str(DEFAULT_PAGE_LIMIT)])[0])
    except ValueError:
        raise ApiError(400, "skip and limit must be integers") from None
    if skip < 0 or limit < 1:
        raise ApiError(400, "skip must be >= 0 and limit >= 1")
    return skip, min(limit, MAX_PAGE_LIMIT)


class _Server(ThreadingHTTPServer):
    # Handler threads are joined on close, so stop() leaves no thread behind.
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], emulator: SpheronEmulator) -> None:
        super().__init__(address, _Handler)
        self.emulator = emulator


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # an idle connection is dropped after this many seconds

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.emulator.verbose:
            super().log_message(format, *args)

    def _handle(self, method: str) -> None:
        emulator = self.server.emulator
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        raw = self._read_body()
        if raw is None:
            self._send(400, {"message": "Request body too large or unreadable", "error": True})
            return
        if not url.path.startswith("/v1/"):
            self._send(*emulator._serve_plain(method, url.path, query, raw))
            return
        fault, entry = emulator._arrive(method, url.path, raw)
        if fault.delay_s:
            emulator._stopping.wait(fault.delay_s)
        if fault.drop:
            self._drop()
            return
        if fault.error_status:
            answer = (fault.error_status, {"message": "Injected fault (emulator)", "error": True})
        else:
            answer = emulator._serve_api(
                method, url.path, query, self.headers.get("Authorization", ""), raw
            )
        emulator._record_status(entry, answer[0])
        if fault.drop_response:
            self._drop()
            return
        self._send(*answer)

    def _read_body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if length < 0 or length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        """Close the connection without writing an answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise ApiError(400, "Request body is not valid JSON") from None


class SpheronEmulator:
    """The emulator's HTTP server and state. Use as a context manager or call start()/stop().

    `clock` drives the deployment state machine (default `time.monotonic`); tests may pass their
    own to step through states without waiting.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "local-emulator-token",
        *,
        queued_s: float = 0.2,
        pending_s: float = 0.3,
        org_name: str = "Emulated Organisation",
        extra_org_names: Iterable[str] = (),
        fail_images: Iterable[str] = (),
        faults: FaultPlan | None = None,
        clock: Callable[[], float] = time.monotonic,
        verbose: bool = False,
    ) -> None:
        if not token:
            raise ValueError("the emulator needs a non-empty token")
        self._address = (host, port)
        self._token = token
        self.verbose = verbose
        organizations = [
            {"id": f"{0x0E0 + index:024x}", "name": name, "username": f"org{index}"}
            for index, name in enumerate([org_name, *extra_org_names])
        ]
        for org in organizations:
            org["appType"] = "compute"
        self._lock = threading.Lock()
        self._state = _ComputeState(
            organizations=organizations,
            clock=clock,
            queued_s=queued_s,
            pending_s=pending_s,
            fail_images=frozenset(fail_images),
        )
        self._initial_faults = faults or FaultPlan()
        self._faults = _FaultInjector(self._initial_faults)
        self._log: list[JsonDict] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        where = self.url if self._server else "not started"
        return f"SpheronEmulator({where}, token='***')"

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> SpheronEmulator:
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        self._stopping.clear()
        self._server = _Server(self._address, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="spheron-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> SpheronEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def organization_id(self) -> str:
        return str(self._state.organizations[0]["id"])

    # -- in-process control (same as the /emulator endpoints) ------------------------------------

    def request_log(self, *, all_requests: bool = False) -> list[JsonDict]:
        with self._lock:
            entries = self._log if all_requests else [e for e in self._log if e["create"]]
            return copy.deepcopy(entries)

    def set_faults(self, plan: FaultPlan) -> None:
        with self._lock:
            self._faults.set(plan)

    def faults(self) -> JsonDict:
        with self._lock:
            return self._faults.snapshot()

    def reset(self) -> None:
        with self._lock:
            self._state.clear()
            self._log.clear()
            self._faults.set(self._initial_faults)

    # -- request handling (called from handler threads) -----------------------------------------

    def _arrive(self, method: str, path: str, raw: bytes) -> tuple[_Fault, JsonDict]:
        """Pick the request's fault and log its arrival."""
        is_create = method == "POST" and path == CREATE_PATH
        entry: JsonDict = {
            "method": method,
            "path": path,
            "create": is_create,
            "monotonic": time.monotonic(),
            "time": time.time(),
        }
        if is_create:
            try:
                entry["body"] = _masked_body(json.loads(raw or b"null"))
            except ValueError:
                entry["body"] = None
        with self._lock:
            fault = self._faults.decide(path)
            entry["fault"] = fault.describe()
            entry["status"] = None
            self._log.append(entry)
        return fault, entry

    def _record_status(self, entry: JsonDict, status: int) -> None:
        with self._lock:
            entry["status"] = status

    def _serve_api(
        self, method: str, path: str, query: Mapping[str, list[str]], auth: str, raw: bytes
    ) -> tuple[int, Any]:
        scheme, _, presented = auth.partition(" ")
        if scheme != "Bearer" or not hmac.compare_digest(presented.encode(), self._token.encode()):
            return 401, {"message": "Unauthorized: missing or invalid API token", "error": True}
        for route_method, pattern, name in _ROUTES:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                try:
                    body = _json_body(raw) if name == "create" else None
                    with self._lock:
                        return 200, self._dispatch(name, match.groupdict(), query, body)
                except ApiError as exc:
                    return exc.status, {"message": exc.message, "error": True}
        return 404, {"message": f"Not found: {method} {path}", "error": True}

    def _dispatch(
        self, name: str, params: Mapping[str, str], query: Mapping[str, list[str]], body: Any
    ) -> JsonDict:
        state = self._state
        if name == "scope":
            return {
                "user": {"_id": "e" * 24, "username": "emulator-user", "email": "user@localhost"},
                "organizations": [dict(org) for org in state.organizations],
            }
        if name == "create":
            return state.create(body)
        if name == "order":
            return state.order_json(params["order_id"])
        if name == "close":
            return state.close(params["instance_id"])
        if name == "instance":
            return {"success": True, "instance": state.instance_json(params["instance_id"])}
        if name == "clusters":
            return state.list_clusters(params["org_id"], *_page(query))
        if name == "cluster_instances":
            return state.cluster_instances(params["cluster_id"], *_page(query))
        if name == "regions":
            return {"regions": list(REGIONS), "totalCount": len(REGIONS)}
        skip, limit = _page(query)
        search = query.get("searchString", [""])[0].lower()
        images = [dict(image) for image in MACHINE_IMAGES if search in image["name"].lower()]
        return {"akashMachineImages": images[skip : skip + limit], "totalCount": len(images)}

    def _serve_plain(
        self, method: str, path: str, query: Mapping[str, list[str]], raw: bytes
    ) -> tuple[int, Any]:
        """`GET /status` and the `/emulator/...` control surface (no token, no faults)."""
        if (method, path) == ("GET", "/status"):
            return 200, {"status": "ok", "service": "Local emulator of the Spheron Compute API"}
        if (method, path) == ("GET", "/emulator/requests"):
            all_requests = query.get("all", ["0"])[0] not in ("0", "", "false")
            return 200, {"requests": self.request_log(all_requests=all_requests)}
        if (method, path) == ("GET", "/emulator/faults"):
            return 200, self.faults()
        if (method, path) == ("POST", "/emulator/faults"):
            try:
                plan = FaultPlan.from_json(_json_body(raw))
            except ApiError as exc:
                return exc.status, {"message": exc.message, "error": True}
            except (ValueError, TypeError) as exc:
                return 400, {"message": f"Invalid fault plan: {exc}", "error": True}
            self.set_faults(plan)
            return 200, self.faults()
        if (method, path) == ("POST", "/emulator/reset"):
            self.reset()
            return 200, {"message": "Emulator state reset"}
        return 404, {"message": f"Not found: {method} {path}", "error": True}


# -- command line ---------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.emulators.spheron",
        description="Local emulator of the Spheron Compute API (not Spheron).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", required=True, help="the bearer token clients must present")
    parser.add_argument("--queued-s", type=float, default=0.2)
    parser.add_argument("--pending-s", type=float, default=0.3)
    parser.add_argument("--org-name", default="Emulated Organisation")
    parser.add_argument(
        "--fail-image",
        action="append",
        default=[],
        help="an image (name or name:tag) whose deployments end Failed; repeatable",
    )
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    faults = parser.add_argument_group("fault injection (API requests only)")
    for spec in fields(FaultPlan):
        kind: type = float
        if spec.name.endswith(("_next", "_status")) or spec.name == "seed":
            kind = int
        elif spec.name == "path":
            kind = str
        faults.add_argument(
            f"--{spec.name.replace('_', '-')}", type=kind, default=spec.default, dest=spec.name
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        plan = FaultPlan(**{spec.name: getattr(args, spec.name) for spec in fields(FaultPlan)})
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    emulator = SpheronEmulator(
        args.host,
        args.port,
        args.token,
        queued_s=args.queued_s,
        pending_s=args.pending_s,
        org_name=args.org_name,
        fail_images=args.fail_image,
        faults=plan,
        verbose=args.verbose,
    )
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    with emulator:
        print(BANNER.format(url=emulator.url), flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
