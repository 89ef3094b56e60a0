"""Valid instance specs of an exact size, so gas and throughput figures use realistic payloads."""

from __future__ import annotations

import json
from typing import Any

from services.spec.model import canonical_json, parse_spec

#: The padding goes into this plain environment variable (its value is at most 1,024 characters).
PADDING_KEY = "BENCH_PADDING"


def _base_spec(cluster: str) -> dict[str, Any]:
    return {
        "clusterName": cluster,
        "type": "spot",
        "healthCheckConfig": {"path": "/", "port": 80},
        "configuration": {
            "image": "nginx",
            "tag": "1.27",
            "ports": [{"containerPort": 80, "exposedPort": 80}],
            "environmentVariables": [{"key": PADDING_KEY, "value": ""}],
            "region": "any",
            "storage": 20,
            "customSpecs": {"cpu": 1, "memory": 2},
            "replicas": 1,
        },
    }


def _canonical(cluster: str, padding: int) -> str:
    spec = _base_spec(cluster)
    spec["configuration"]["environmentVariables"][0]["value"] = "x" * padding
    return canonical_json(parse_spec(json.dumps(spec)))


def spec_json(size: int, cluster: str = "bench") -> str:
    """A canonical spec of exactly `size` UTF-8 bytes that `parse_spec` and the default policy
    accept; ValueError if `size` is below the smallest such spec or above what padding can reach."""
    smallest = len(_canonical(cluster, 0))
    padding = size - smallest
    if padding < 0:
        raise ValueError(f"a spec needs at least {smallest} bytes, asked for {size}")
    try:
        text = _canonical(cluster, padding)
    except ValueError as error:
        raise ValueError(f"cannot pad a spec to {size} bytes: {error}") from None
    if len(text.encode("utf-8")) != size:
        raise ValueError(f"padding produced {len(text.encode('utf-8'))} bytes, not {size}")
    return text
