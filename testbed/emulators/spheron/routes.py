"""The API's routes, and parsing of its paging query and JSON bodies."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from testbed.emulators.spheron.constants import DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT
from testbed.emulators.spheron.errors import ApiError

ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (method, re.compile(pattern), name)
    for method, pattern, name in (
        ("GET", r"/v1/api-keys/scope", "scope"),
        ("POST", r"/v1/cluster-instance/create", "create"),
        ("GET", r"/v1/cluster-instance/order/(?P<order_id>[^/]+)", "order"),
        ("POST", r"/v1/cluster-instance/(?P<instance_id>[^/]+)/close", "close"),
        ("PATCH", r"/v1/cluster-instance/(?P<instance_id>[^/]+)/update/health-check", "health"),
        ("PATCH", r"/v1/cluster-instance/(?P<instance_id>[^/]+)/update", "update"),
        ("GET", r"/v1/cluster-instance/(?P<instance_id>[^/]+)", "instance"),
        ("GET", r"/v1/organization/(?P<org_id>[^/]+)/clusters", "clusters"),
        ("GET", r"/v1/cluster/(?P<cluster_id>[^/]+)/instances", "cluster_instances"),
        ("GET", r"/v1/compute-machine-image/regions", "regions"),
        ("GET", r"/v1/compute-machine-image", "machine_images"),
    )
)


def page(query: Mapping[str, list[str]]) -> tuple[int, int]:
    try:
        skip = int(query.get("skip", ["0"])[0])
        limit = int(query.get("limit", [str(DEFAULT_PAGE_LIMIT)])[0])
    except ValueError:
        raise ApiError(400, "skip and limit must be integers") from None
    if skip < 0 or limit < 1:
        raise ApiError(400, "skip must be >= 0 and limit >= 1")
    return skip, min(limit, MAX_PAGE_LIMIT)


def json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise ApiError(400, "Request body is not valid JSON") from None
