"""Client for the Spheron Compute HTTP API and the `DeployTarget` built on it.

The API is the one behind the deprecated `@spheron/compute` SDK (see the reference notes); its base
URL therefore comes from configuration, and tests and demos point it at
`testbed.emulators.spheron`, a local emulator of that API.

Retry policy: reads (and closes, which are idempotent) are retried on 5xx answers, connection
errors and timeouts with bounded exponential back-off and jitter; 4xx answers never are. A create
is not idempotent on the server, so it is sent once: the deployer decides, from its ledger, when a
failed create may be tried again (see `services.bot.deployer`). Back-off waits end at once when the
bot is asked to stop.

Listings are paged with `skip`/`limit`. A server that ignores paging must not make the bot loop or
miss an instance: paging stops when a page brings nothing new, and a listing that cannot be
completed (a full page repeated, or more than `MAX_LISTED_ITEMS`) is an error, not a short list.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from services.common.formatting import format_number
from services.common.pause import pause
from services.targets.base import (
    CreatedDeployment,
    DeploymentStatus,
    DeployTargetError,
    ExistingDeployment,
    InstanceView,
    Outcome,
    RunningConfig,
    TargetAuthError,
    TargetRejectedError,
    TargetUnavailableError,
)

if TYPE_CHECKING:
    from services.spec.model import InstanceSpec

DEFAULT_BASE_URL = "https://api-v2.spheron.network"
#: Seconds the client keeps one request open by default (connect, and each read).
DEFAULT_TIMEOUT_S = 30.0
#: Upper bound of one back-off sleep, whatever the attempt number.
MAX_BACKOFF_S = 30.0
#: A listing longer than this is treated as a misbehaving server, not paged further.
MAX_LISTED_ITEMS = 10_000
#: Deployment (order) statuses and what they mean (see the reference notes).
DEPLOYED_STATUS = "Deployed"
FAILED_STATUSES = frozenset({"Failed", "Deprecated", "Deprecated-Provider"})
CLOSED_STATE = "Closed"
FAILED_START_STATE = "Failed-start"
#: Namespace of the deterministic `uniqueTopicId` of each request (see `topic_for`).
_TOPIC_NAMESPACE = uuid.UUID("5b1f6c2e-8d3a-4f1b-9c7e-2a6d0e4b8f31")
#: Persistent storage class names on the wire.
STORAGE_CLASSES = {"HDD": "beta1", "SSD": "beta2", "NVMe": "beta3"}

_TRANSIENT_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)

JsonDict = dict[str, Any]


class SpheronClient:
    """One method per call of the Spheron Compute API; answers are returned as decoded JSON.

    `max_retries` is the number of retries after the first attempt of a retryable request;
    `stop`, when set, ends every back-off wait at once (`services.common.pause.StopRequested`).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retries: int = 4,
        backoff_s: float = 0.5,
        session: requests.Session | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        if not token:
            raise ValueError("Spheron API token is empty")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self._base_url = base_url.rstrip("/")
        self._token = token
        self.timeout_s = timeout_s
        self._stop = stop
        self._max_retries = max_retries
        self._backoff_s = backoff_s
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        self._random = random.Random()
        self._organization_id: str | None = None

    def __repr__(self) -> str:
        return f"SpheronClient(base_url={self._base_url!r}, token='***')"

    def close(self) -> None:
        """Close the HTTP session if this client created it."""
        if self._owns_session:
            self._session.close()

    # -- calls of the API ------------------------------------------------------------------

    def status(self) -> JsonDict:
        return self._call("GET", "/status")

    def scope(self) -> JsonDict:
        return self._call("GET", "/v1/api-keys/scope")

    def organization_id(self) -> str:
        """The id of the one organisation the token is scoped to (looked up once)."""
        if self._organization_id is None:
            organizations = self.scope().get("organizations") or []
            if len(organizations) != 1:
                raise TargetAuthError(
                    f"The Spheron token is scoped to {len(organizations)} organisations; "
                    "use a single-scope token"
                )
            self._organization_id = str(organizations[0]["id"])
        return self._organization_id

    def create_instance(self, body: Mapping[str, Any]) -> JsonDict:
        """POST a create body, once (a create is not idempotent on the server).

        Returns `{clusterId, clusterInstanceId, clusterInstanceOrderId, topic}`.
        """
        return self._call("POST", "/v1/cluster-instance/create", body=dict(body), retry=False)

    def update_instance(self, instance_id: str, body: Mapping[str, Any]) -> JsonDict:
        """PATCH an update body, once (it starts a new order). Returns
        `{clusterId, clusterInstanceId, clusterInstanceOrderId, topic}`."""
        return self._call(
            "PATCH", f"/v1/cluster-instance/{instance_id}/update", body=dict(body), retry=False
        )

    def update_health_check(self, instance_id: str, url: str, port: int) -> JsonDict:
        """Set the health check (idempotent: retried). Returns `{message, updated}`."""
        body = {"healthCheckUrl": url, "healthCheckPort": port}
        return self._call(
            "PATCH", f"/v1/cluster-instance/{instance_id}/update/health-check", body=body
        )

    def get_instance(self, instance_id: str) -> JsonDict:
        """The `instance` object (`_id, state, name, orders, cluster, activeOrder, ...`)."""
        return self._call("GET", f"/v1/cluster-instance/{instance_id}")["instance"]

    def get_order(self, order_id: str) -> JsonDict:
        """The whole answer: `{order: {...}, liveLogs: [...]}`."""
        return self._call("GET", f"/v1/cluster-instance/order/{order_id}")

    def close_instance(self, instance_id: str) -> JsonDict:
        """Close the instance (retried: closing is idempotent in effect; a repeat answers 400)."""
        return self._call("POST", f"/v1/cluster-instance/{instance_id}/close")

    def list_clusters(self, organization_id: str, *, skip: int, limit: int) -> list[JsonDict]:
        params = {"skip": skip, "limit": limit}
        answer = self._call("GET", f"/v1/organization/{organization_id}/clusters", params=params)
        return list(answer.get("clusters") or [])

    def cluster_instances(self, cluster_id: str, *, skip: int, limit: int) -> list[JsonDict]:
        params = {"skip": skip, "limit": limit}
        answer = self._call("GET", f"/v1/cluster/{cluster_id}/instances", params=params)
        return list(answer.get("extendedInstances") or [])

    def machine_images(self, *, skip: int, limit: int, search: str | None = None) -> JsonDict:
        """One page: `{akashMachineImages: [{_id, name, cpu, memory, storage}], totalCount}`."""
        params: dict[str, Any] = {"skip": skip, "limit": limit}
        if search:
            params["searchString"] = search
        return self._call("GET", "/v1/compute-machine-image", params=params)

    def regions(self) -> list[Any]:
        return list(self._call("GET", "/v1/compute-machine-image/regions").get("regions") or [])

    # -- paging helpers ----------------------------------------------------------------------

    def iter_clusters(self, organization_id: str, *, page_size: int = 50) -> Iterator[JsonDict]:
        yield from _pages(
            lambda skip: self.list_clusters(organization_id, skip=skip, limit=page_size),
            page_size,
            "clusters",
        )

    def iter_cluster_instances(self, cluster_id: str, *, page_size: int = 50) -> Iterator[JsonDict]:
        yield from _pages(
            lambda skip: self.cluster_instances(cluster_id, skip=skip, limit=page_size),
            page_size,
            f"instances of cluster {cluster_id}",
        )

    def iter_machine_images(
        self, *, page_size: int = 10, search: str | None = None
    ) -> Iterator[JsonDict]:
        """Every machine image, page by page (the SDK looked only at the first page of 10)."""

        def fetch(skip: int) -> list[JsonDict]:
            answer = self.machine_images(skip=skip, limit=page_size, search=search)
            return list(answer.get("akashMachineImages") or [])

        yield from _pages(fetch, page_size, "machine images")

    def machine_image_name(self, machine_image_id: str) -> str:
        """The name of the machine image with this id, searched across all pages."""
        seen = 0
        for image in self.iter_machine_images():
            seen += 1
            if image.get("_id") == machine_image_id:
                return str(image["name"])
        raise TargetRejectedError(
            f"Machine image id {machine_image_id!r} is not among the {seen} machine images "
            "the Spheron API lists"
        )

    def machine_image_id(self, machine_image_name: str) -> str:
        """The id of the machine image with this name (what a spec names), or the name itself
        when the API lists none by that name."""
        for image in self.iter_machine_images():
            if image.get("name") == machine_image_name:
                return str(image["_id"])
        return machine_image_name

    # -- transport -----------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: JsonDict | None = None,
        retry: bool = True,
    ) -> JsonDict:
        attempts = 1 + (self._max_retries if retry else 0)
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        last_problem = ""
        delivered = False
        for attempt in range(attempts):
            if attempt:
                pause(self._backoff_delay(attempt), self._stop)
            try:
                response = self._session.request(
                    method,
                    self._base_url + path,
                    params=params,
                    json=body,
                    headers=headers,
                    timeout=self.timeout_s,
                )
            except _TRANSIENT_ERRORS as exc:
                last_problem = f"{type(exc).__name__}: {exc}"
                delivered = delivered or not _never_delivered(exc)
                continue
            if response.status_code >= 500:
                last_problem = f"HTTP {response.status_code}: {_server_message(response)}"
                delivered = True
                continue
            return self._decode(response, method, path)
        raise TargetUnavailableError(
            self._scrub(
                f"Spheron API {method} {path} failed after {attempts} attempt(s); "
                f"last problem: {last_problem}"
            ),
            delivered=delivered,
        )

    def _decode(self, response: requests.Response, method: str, path: str) -> JsonDict:
        status = response.status_code
        if status in (401, 403):
            raise TargetAuthError(
                self._scrub(
                    f"Spheron API refused the token (HTTP {status}) for {method} {path}: "
                    f"{_server_message(response)}"
                )
            )
        if status >= 400:
            message = self._scrub(_server_message(response))
            raise TargetRejectedError(
                f"Spheron API rejected {method} {path} (HTTP {status}): {message}",
                status_code=status,
                server_message=message,
            )
        try:
            answer = response.json()
        except ValueError as exc:
            raise DeployTargetError(
                f"Spheron API answered {method} {path} with HTTP {status} but no JSON body"
            ) from exc
        if not isinstance(answer, dict):
            raise DeployTargetError(f"Spheron API answered {method} {path} with non-object JSON")
        return answer

    def _backoff_delay(self, attempt: int) -> float:
        """Exponential in the attempt number, capped, scaled by a random factor in [0.5, 1]."""
        ceiling = min(MAX_BACKOFF_S, self._backoff_s * 2 ** (attempt - 1))
        return ceiling * self._random.uniform(0.5, 1.0)

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***")


def _never_delivered(exc: Exception) -> bool:
    """Whether a failed request certainly never reached the server (no connection was made)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _pages(fetch: Callable[[int], list[JsonDict]], page_size: int, what: str) -> Iterator[JsonDict]:
    """Yield every item of a `skip`/`limit` listing, each once.

    A short page does not end the listing (the server may cap `limit` below what was asked); an
    empty page, or one that brings nothing new, does. A repeated *full* page means the server
    ignores `skip` while honouring `limit`: the rest of the list cannot be reached, so that is an
    error rather than a silently short listing. So is a list longer than `MAX_LISTED_ITEMS`.
    Items are told apart by `_id` (or their whole content when they have none).
    """
    seen: set[str] = set()
    skip = 0
    while page := fetch(skip):
        new = []
        for item in page:
            key = str(item.get("_id")) if isinstance(item, dict) and "_id" in item else repr(item)
            if key not in seen:
                seen.add(key)
                new.append(item)
        if not new:
            if len(page) == page_size:
                raise TargetUnavailableError(
                    f"Spheron API repeats the same page of {what} whatever the skip; "
                    "cannot list them completely"
                )
            return
        if len(seen) > MAX_LISTED_ITEMS:
            raise TargetUnavailableError(
                f"Spheron API lists more than {MAX_LISTED_ITEMS} {what}; not paging further"
            )
        yield from new
        skip += len(page)


def _server_message(response: requests.Response) -> str:
    try:
        answer = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason or "no message"
    if isinstance(answer, dict) and answer.get("message"):
        return str(answer["message"])
    return str(answer)[:200]


def _number(value: float) -> int | float:
    """2.0 → 2, 0.5 → 0.5 (so sizes read "2Gi", not "2.0Gi")."""
    return int(value) if float(value).is_integer() else value


def _gi(value: float) -> str:
    return f"{format_number(value)}Gi"


def _env(spec: InstanceSpec, secret_values: Mapping[str, str]) -> list[JsonDict]:
    """Plain variables, then secret ones with their resolved values, as `KEY=VALUE` entries."""
    config = spec.configuration
    missing = [
        var.key for var in config.secretEnvironmentVariables or [] if var.key not in secret_values
    ]
    if missing:
        raise ValueError(f"No resolved value for secret environment variable(s): {missing}")
    return [
        {"value": f"{var.key}={var.value}", "isSecret": False}
        for var in config.environmentVariables or []
    ] + [
        {"value": f"{var.key}={secret_values[var.key]}", "isSecret": True}
        for var in config.secretEnvironmentVariables or []
    ]


def build_update_body(
    spec: InstanceSpec,
    *,
    organization_id: str,
    topic_id: str,
    secret_values: Mapping[str, str],
    machine_image_name: str,
) -> JsonDict:
    """The HTTP update body that makes an instance run `spec` (what may change in place: env,
    command, args, tag, size, replica count), as `@spheron/core`'s `updateClusterInstance`."""
    config = spec.configuration
    body: JsonDict = {
        "env": _env(spec, secret_values),
        "command": list(config.commands or []),
        "args": list(config.args or []),
        "uniqueTopicId": topic_id,
        "tag": config.tag,
        "instanceCount": config.replicas,
        "organizationId": organization_id,
    }
    if machine_image_name:
        body["akashMachineImageName"] = machine_image_name
    if config.customSpecs is not None:
        body["customInstanceSpecs"] = {
            "cpu": _number(config.customSpecs.cpu),
            "memory": _gi(config.customSpecs.memory),
        }
    return body


def build_create_body(
    spec: InstanceSpec,
    *,
    organization_id: str,
    topic_id: str,
    secret_values: Mapping[str, str],
    machine_image_name: str,
    instance_name: str,
) -> JsonDict:
    """The HTTP create body for `spec`, following the SDK's mapping minus its bugs.

    `secret_values` maps each secret environment variable's key to its resolved value.
    `machine_image_name` is the name of `spec.configuration.machineImageId` ("" when unset).
    """
    config = spec.configuration
    env = _env(spec, secret_values)
    instance_specs: JsonDict = {"storage": _gi(config.storage)}
    if config.persistentStorage is not None:
        instance_specs["persistentStorage"] = {
            "size": _gi(config.persistentStorage.size),
            "class": STORAGE_CLASSES[config.persistentStorage.class_],
            "mountPoint": config.persistentStorage.mountPoint,
        }
    if config.customSpecs is not None:
        instance_specs["cpu"] = _number(config.customSpecs.cpu)
        instance_specs["memory"] = _gi(config.customSpecs.memory)

    body: JsonDict = {
        "organizationId": organization_id,
        "uniqueTopicId": topic_id,
        "configuration": {
            "folderName": "",
            "protocol": "akash",
            "image": config.image,
            "tag": config.tag,
            "instanceCount": config.replicas,
            "buildImage": False,
            "ports": [
                {"containerPort": port.containerPort, "exposedPort": port.exposedPort}
                for port in config.ports
            ],
            "env": env,
            "command": list(config.commands or []),
            "args": list(config.args or []),
            "region": config.region,
            "akashMachineImageName": machine_image_name,
            "customInstanceSpecs": instance_specs,
        },
        "clusterUrl": config.image,
        "clusterProvider": "DOCKERHUB",
        "clusterName": spec.clusterName,
        "scalable": spec.type == "demand",
        "instanceName": instance_name,
    }
    if spec.healthCheckConfig is not None:
        body["healthCheckUrl"] = spec.healthCheckConfig.path
        body["healthCheckPort"] = spec.healthCheckConfig.port
    return body


def _id_of(value: Any) -> str | None:
    """References come back either as an id string or as the populated object."""
    if isinstance(value, dict):
        value = value.get("_id")
    return str(value) if value else None


def topic_for(request_key: str) -> str:
    """The `uniqueTopicId` of a request: the same for every attempt of one create or update."""
    return str(uuid.uuid5(_TOPIC_NAMESPACE, request_key))


def _outcome(status: str) -> Outcome:
    if status == DEPLOYED_STATUS:
        return Outcome.SUCCEEDED
    if status in FAILED_STATUSES:
        return Outcome.FAILED
    return Outcome.PENDING


class SpheronTarget:
    """`DeployTarget` on the Spheron Compute API."""

    def __init__(self, client: SpheronClient, *, page_size: int = 50) -> None:
        self._client = client
        self._page_size = page_size

    def __repr__(self) -> str:
        return f"SpheronTarget({self._client!r})"

    @property
    def request_timeout_s(self) -> float:
        return self._client.timeout_s

    def find(self, name: str, *, cluster_name: str | None = None) -> list[ExistingDeployment]:
        """Every instance called `name` in the cluster `cluster_name` (or in any cluster).

        Spheron files an instance under the cluster named by its spec's `clusterName`, so giving
        it keeps the lookup to one cluster's instances.
        """
        found: list[ExistingDeployment] = []
        organization_id = self._client.organization_id()
        for cluster in self._client.iter_clusters(organization_id, page_size=self._page_size):
            if cluster_name is not None and cluster.get("name") != cluster_name:
                continue
            cluster_id = str(cluster["_id"])
            instances = self._client.iter_cluster_instances(cluster_id, page_size=self._page_size)
            found += [
                ExistingDeployment(
                    instance_id=str(instance["_id"]),
                    deployment_id=_id_of(instance.get("activeOrder")),
                    cluster_id=cluster_id,
                    name=name,
                    closed=instance.get("state") == CLOSED_STATE,
                    created_at=str(instance.get("createdAt") or ""),
                )
                for instance in instances
                if instance.get("name") == name
            ]
        return found

    def create(
        self,
        spec: InstanceSpec,
        *,
        name: str,
        secret_values: Mapping[str, str],
        on_sending: Callable[[], None],
    ) -> CreatedDeployment:
        """Resolve what the body needs (organisation, machine image name), then send one create."""
        image_id = spec.configuration.machineImageId
        body = build_create_body(
            spec,
            organization_id=self._client.organization_id(),
            topic_id=topic_for(f"create:{name}"),
            secret_values=secret_values,
            machine_image_name=self._client.machine_image_name(image_id) if image_id else "",
            instance_name=name,
        )
        on_sending()
        answer = self._client.create_instance(body)
        try:
            return CreatedDeployment(
                instance_id=str(answer["clusterInstanceId"]),
                deployment_id=str(answer["clusterInstanceOrderId"]),
                cluster_id=str(answer["clusterId"]),
            )
        except KeyError as missing:
            raise TargetUnavailableError(
                f"Spheron API answered the create without {missing}; the instance may exist"
            ) from None

    def status(self, deployment_id: str) -> DeploymentStatus:
        order = self._client.get_order(deployment_id).get("order") or {}
        provider_host = (order.get("protocolData") or {}).get("providerHost") or None
        urls: list[str] = []
        preview = order.get("urlPrewiew")  # sic: the API's spelling
        if preview:
            urls.append(str(preview))
        if provider_host:
            ports = (order.get("clusterInstanceConfiguration") or {}).get("ports") or []
            for port in ports:
                url = f"{provider_host}:{port['exposedPort']}"
                if url not in urls:
                    urls.append(url)
        status = str(order.get("status", ""))
        return DeploymentStatus(
            deployment_id=deployment_id,
            status=status,
            outcome=_outcome(status),
            connection_urls=urls,
        )

    def update(
        self,
        instance_id: str,
        spec: InstanceSpec,
        *,
        secret_values: Mapping[str, str],
        request_key: str,
        on_sending: Callable[[], None],
    ) -> str:
        """Resolve what the body needs, then send one update; the new order's id."""
        image_id = spec.configuration.machineImageId
        body = build_update_body(
            spec,
            organization_id=self._client.organization_id(),
            topic_id=topic_for(request_key),
            secret_values=secret_values,
            machine_image_name=self._client.machine_image_name(image_id) if image_id else "",
        )
        on_sending()
        answer = self._client.update_instance(instance_id, body)
        try:
            return str(answer["clusterInstanceOrderId"])
        except KeyError:
            raise TargetUnavailableError(
                "Spheron API answered the update without clusterInstanceOrderId; it may have "
                "started"
            ) from None

    def set_health_check(self, instance_id: str, path: str, port: int) -> None:
        self._client.update_health_check(instance_id, path, port)

    def inspect(self, instance_id: str) -> InstanceView:
        instance = self._client.get_instance(instance_id)
        orders = tuple(str(_id_of(order)) for order in instance.get("orders") or [] if order)
        active_id = _id_of(instance.get("activeOrder"))
        active = self.running(active_id) if active_id else None
        state = str(instance.get("state", ""))
        closed = state == CLOSED_STATE
        ended = active is not None and active.status in FAILED_STATUSES
        return InstanceView(
            instance_id=instance_id,
            closed=closed,
            failed=not closed and (state == FAILED_START_STATE or ended),
            deployment_ids=orders,
            active=active,
        )

    def running(self, deployment_id: str) -> RunningConfig:
        order = self._client.get_order(deployment_id).get("order") or {}
        config = order.get("clusterInstanceConfiguration") or {}
        specs = config.get("customInstanceSpecs") or {}
        machine = config.get("akashMachineImageName") or ""
        if machine:
            size = f"machine {self._client.machine_image_id(machine)}"
        else:
            cpu = format_number(float(specs.get("cpu") or 0))
            memory = format_number(float(str(specs.get("memory") or "0").removesuffix("Gi")))
            size = f"{cpu} CPU / {memory} GiB"
        env_names = sorted(
            str(entry.get("value", "")).partition("=")[0]
            for entry in config.get("env") or []
            if isinstance(entry, dict)
        )
        return RunningConfig(
            deployment_id=deployment_id,
            kind=str(order.get("type", "")),
            status=str(order.get("status", "")),
            image=str(config.get("image", "")),
            tag=str(config.get("tag", "")),
            replicas=int(config.get("instanceCount") or 0),
            size=size,
            storage_gb=float(str(specs.get("storage", "0")).removesuffix("Gi") or 0),
            env_names=tuple(env_names),
        )

    def close(self, instance_id: str) -> None:
        """Close the instance; closing one that is already Closed does nothing."""
        if self._client.get_instance(instance_id).get("state") == CLOSED_STATE:
            return
        try:
            self._client.close_instance(instance_id)
        except TargetRejectedError:
            # A retried close whose first answer was lost is refused as "already closed".
            if self._client.get_instance(instance_id).get("state") != CLOSED_STATE:
                raise
