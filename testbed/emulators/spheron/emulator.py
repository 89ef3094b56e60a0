"""`SpheronEmulator`: the emulator's server, in-process control and request handling."""

from __future__ import annotations

import copy
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any

from services.common.http_server import BackgroundHTTPServer, bind_handler
from testbed.emulators.spheron.constants import CREATE_PATH, MACHINE_IMAGES, REGIONS, JsonDict
from testbed.emulators.spheron.errors import ApiError
from testbed.emulators.spheron.faults import Fault, FaultInjector, FaultPlan
from testbed.emulators.spheron.handler import Handler
from testbed.emulators.spheron.routes import ROUTES, json_body, page
from testbed.emulators.spheron.state import ComputeState, masked_body


class SpheronEmulator(BackgroundHTTPServer):
    """The emulator's HTTP server and state. Use as a context manager or call start()/stop().

    `clock` drives the deployment state machine (default `time.monotonic`); tests may pass their
    own to step through states without waiting.
    """

    thread_name = "spheron-emulator"
    service_name = "the emulator"

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
        super().__init__(host, port)
        self._token = token
        self.verbose = verbose
        organizations = [
            {"id": f"{0x0E0 + index:024x}", "name": name, "username": f"org{index}"}
            for index, name in enumerate([org_name, *extra_org_names])
        ]
        for org in organizations:
            org["appType"] = "compute"
        self._lock = threading.Lock()
        self._state = ComputeState(
            organizations=organizations,
            clock=clock,
            queued_s=queued_s,
            pending_s=pending_s,
            fail_images=frozenset(fail_images),
        )
        self._initial_faults = faults or FaultPlan()
        self._faults = FaultInjector(self._initial_faults)
        self._log: list[JsonDict] = []

    def __repr__(self) -> str:
        where = self.url if self.running else "not started"
        return f"SpheronEmulator({where}, token='***')"

    # -- lifecycle (start, stop and url come from BackgroundHTTPServer) -----------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return bind_handler(Handler, emulator=self)

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

    def change_outside_the_dao(self, instance_id: str, **configuration: object) -> None:
        """What an operator with the token could do behind the DAO's back: a new UPDATE order
        with `configuration` changed (e.g. `tag="evil"`, `instanceCount=9`). For drift tests."""
        with self._lock:
            self._state.change_configuration(instance_id, configuration)

    def fail_instance(self, instance_id: str) -> None:
        """The provider loses the instance: its active order ends Failed. For drift tests."""
        with self._lock:
            self._state.fail(instance_id)

    def reset(self) -> None:
        with self._lock:
            self._state.clear()
            self._log.clear()
            self._faults.set(self._initial_faults)

    # -- request handling (called from handler threads) -----------------------------------------

    def _arrive(self, method: str, path: str, raw: bytes) -> tuple[Fault, JsonDict]:
        """Pick the request's fault and log its arrival."""
        is_create = method == "POST" and path == CREATE_PATH
        entry: JsonDict = {
            "method": method,
            "path": path,
            "create": is_create,
            "monotonic": time.monotonic(),
            "time": time.time(),
        }
        if raw:  # creates and updates: what was asked, secrets masked
            try:
                entry["body"] = masked_body(json.loads(raw or b"null"))
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
        for route_method, pattern, name in ROUTES:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                try:
                    body = json_body(raw) if name in ("create", "update", "health") else None
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
        if name == "update":
            return state.update(params["instance_id"], body)
        if name == "health":
            return state.set_health_check(params["instance_id"], body)
        if name == "order":
            return state.order_json(params["order_id"])
        if name == "close":
            return state.close(params["instance_id"])
        if name == "instance":
            return {"success": True, "instance": state.instance_json(params["instance_id"])}
        if name == "clusters":
            return state.list_clusters(params["org_id"], *self._page(query))
        if name == "cluster_instances":
            return state.cluster_instances(params["cluster_id"], *self._page(query))
        if name == "regions":
            return {"regions": list(REGIONS), "totalCount": len(REGIONS)}
        skip, limit = self._page(query)
        search = query.get("searchString", [""])[0].lower()
        images = [dict(image) for image in MACHINE_IMAGES if search in image["name"].lower()]
        return {"akashMachineImages": images[skip : skip + limit], "totalCount": len(images)}

    def _page(self, query: Mapping[str, list[str]]) -> tuple[int, int]:
        """`skip`/`limit` as the fault plan's `paging` mode treats them (lock held)."""
        skip, limit = page(query)
        mode = self._faults.plan.paging
        if mode == "ignore":
            return 0, 1_000_000
        if mode == "ignore_skip":
            return 0, limit
        return skip, limit

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
                plan = FaultPlan.from_json(json_body(raw))
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
