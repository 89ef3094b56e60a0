"""Validation of a create request body, refusing what the SDK or the Spheron server refused."""

from __future__ import annotations

import re
from typing import Any

from testbed.emulators.spheron.constants import (
    MACHINE_IMAGES,
    REGIONS,
    SPEC_CHOICES,
    STORAGE_CLASSES,
    JsonDict,
)
from testbed.emulators.spheron.errors import ApiError

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


def validate_create(body: Any) -> None:
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


def validate_update(body: Any) -> None:
    """The body of an update (`@spheron/core`'s `updateClusterInstance`): the new env, command,
    args and tag, and optionally a machine image name, custom specs and an instance count."""
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object")
    for key in ("organizationId", "uniqueTopicId", "tag"):
        if not _field(body, key, "a string"):
            raise ApiError(400, f"Field {key} must not be empty")
    for key in ("env", "command", "args"):
        _field(body, key, "a list")
    for index, entry in enumerate(body["env"]):
        name = f"env[{index}]"
        if not isinstance(entry, dict):
            raise ApiError(400, f"{name} must be an object")
        value = _field(entry, "value", "a string", f"{name}.")
        _field(entry, "isSecret", "a boolean", f"{name}.")
        if not value.partition("=")[0] or "=" not in value:
            raise ApiError(400, f"{name}.value must look like KEY=VALUE")
    if not all(isinstance(item, str) for item in body["command"] + body["args"]):
        raise ApiError(400, "command and args must hold strings")
    count = _field(body, "instanceCount", "an integer", required=False)
    if count is not None and count < 1:
        raise ApiError(400, "instanceCount must be at least 1")
    machine = _field(body, "akashMachineImageName", "a string", required=False)
    specs = _field(body, "customInstanceSpecs", "an object", required=False)
    if machine and specs and (specs.get("cpu") is not None or specs.get("memory") is not None):
        raise ApiError(400, "A machine image and custom specs cannot be used together")
    if machine and machine not in {image["name"] for image in MACHINE_IMAGES}:
        raise ApiError(400, f"Machine image not found: {machine}")
    if specs and specs.get("cpu") is not None and specs["cpu"] not in SPEC_CHOICES:
        raise ApiError(400, f"customInstanceSpecs.cpu must be one of {SPEC_CHOICES}")
    memory = (specs or {}).get("memory")
    if memory is not None and _gi_size(memory, "customInstanceSpecs.memory") not in SPEC_CHOICES:
        raise ApiError(400, "customInstanceSpecs.memory is not an allowed size")


def validate_health_check(body: Any) -> None:
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object")
    if not _field(body, "healthCheckUrl", "a string"):
        raise ApiError(400, "Field healthCheckUrl must not be empty")
    port = _field(body, "healthCheckPort", "an integer")
    if not 1 <= port <= 65535:
        raise ApiError(400, "healthCheckPort must be in 1..65535")
