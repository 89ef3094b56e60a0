"""What the bot operator allows: limits checked before deploying a spec the DAO approved.

A passed vote says the members want a spec; the policy says what this operator's Spheron account
will pay for. Limits on cpu and memory are per replica, like Spheron's ``customSpecs``; the total
is bounded by ``max_replicas`` times the per-replica limit, so no separate total is kept.
A machine plan (``machineImageId``) has a size the spec does not state: restrict plans with
``allowed_machine_images`` to bound them.
"""

import os
from collections.abc import Hashable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.common.formatting import format_number
from services.spec.model import InstanceSpec, format_errors


class PolicyError(ValueError):
    """A policy file could not be read or is invalid; ``errors`` lists each problem."""

    def __init__(self, path: str, errors: list[str]) -> None:
        self.path = path
        self.errors = list(errors)
        super().__init__(f"policy file {path}: " + "; ".join(self.errors))


Name = Annotated[str, Field(min_length=1, max_length=255)]


class DeployPolicy(BaseModel):
    """Limits a spec must meet to be deployed. The defaults suit a small web service."""

    model_config = ConfigDict(
        strict=True, frozen=True, extra="forbid", use_attribute_docstrings=True
    )

    allowed_images: list[Name] = []
    """fnmatch patterns matched against ``image:tag`` (``nginx:*``, ``ghcr.io/acme/*``); empty =
    any. Matching is literal and case-sensitive: ``nginx:*`` does not match
    ``docker.io/library/nginx:1.27``, and ``*`` also matches ``/``."""

    allowed_regions: list[Name] = []
    """Exact region codes; empty = any. ``any`` in a spec is allowed only when listed here."""

    max_replicas: int = Field(3, ge=1)
    """Most replicas one instance may run."""

    max_cpu: float = Field(4.0, gt=0, allow_inf_nan=False)
    """Most cores per replica (``customSpecs.cpu``)."""

    max_memory_gb: float = Field(8.0, gt=0, allow_inf_nan=False)
    """Most GiB of memory per replica (``customSpecs.memory``)."""

    max_storage_gb: int = Field(100, ge=1)
    """Most GB of ephemeral storage (``configuration.storage``)."""

    max_persistent_storage_gb: int = Field(100, ge=1)
    """Most GB of persistent storage (``persistentStorage.size``)."""

    allowed_machine_images: list[Name] = []
    """Exact machine plan ids allowed in ``machineImageId``; empty = any."""

    allow_types: Annotated[list[Literal["spot", "demand"]], Field(min_length=1)] = [
        "spot",
        "demand",
    ]
    """Instance types allowed (``spot`` and/or ``demand``)."""

    def violations(self, spec: InstanceSpec) -> list[str]:
        """Every way ``spec`` breaks this policy, each naming the field and the limit; [] = ok."""
        config = spec.configuration
        found: list[str] = []
        if spec.type not in self.allow_types:
            found.append(
                f'type: "{spec.type}" is not an allowed instance type '
                f"({', '.join(self.allow_types)})"
            )
        reference = f"{config.image}:{config.tag}"
        if self.allowed_images and not any(
            fnmatchcase(reference, pattern) for pattern in self.allowed_images
        ):
            found.append(
                f'configuration.image: "{reference}" matches no allowed image pattern '
                f"({', '.join(self.allowed_images)})"
            )
        if self.allowed_regions and config.region not in self.allowed_regions:
            found.append(
                f'configuration.region: "{config.region}" is not an allowed region '
                f"({', '.join(self.allowed_regions)})"
            )
        if (
            config.machineImageId is not None
            and self.allowed_machine_images
            and config.machineImageId not in self.allowed_machine_images
        ):
            found.append(
                f'configuration.machineImageId: "{config.machineImageId}" is not an allowed '
                f"machine image ({', '.join(self.allowed_machine_images)})"
            )
        found += _over("configuration.replicas", config.replicas, self.max_replicas, "")
        if config.customSpecs is not None:
            found += _over(
                "configuration.customSpecs.cpu", config.customSpecs.cpu, self.max_cpu, ""
            )
            found += _over(
                "configuration.customSpecs.memory",
                config.customSpecs.memory,
                self.max_memory_gb,
                " GiB",
            )
        found += _over("configuration.storage", config.storage, self.max_storage_gb, " GB")
        if config.persistentStorage is not None:
            found += _over(
                "configuration.persistentStorage.size",
                config.persistentStorage.size,
                self.max_persistent_storage_gb,
                " GB",
            )
        return found


def _over(path: str, value: float, limit: float, unit: str) -> list[str]:
    if value <= limit:
        return []
    return [
        f"{path}: {format_number(value)}{unit} exceeds the policy maximum of "
        f"{format_number(limit)}{unit}"
    ]


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice (the last one would silently win)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable):
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep)


def load_policy(path: str | os.PathLike[str] | None) -> DeployPolicy:
    """Read a policy from a YAML or JSON file; ``None`` gives the defaults, so does an empty file.

    Raises :class:`PolicyError` naming the file and each problem (unknown keys included).
    """
    if path is None:
        return DeployPolicy()
    name = os.fspath(path)
    try:
        text = Path(name).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(name, [f"not valid UTF-8 (byte {exc.start})"]) from None
    except OSError as exc:
        raise PolicyError(name, [f"cannot read the file: {exc.strerror or exc}"]) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: safe
    except yaml.YAMLError as exc:
        raise PolicyError(name, [f"invalid YAML/JSON: {' '.join(str(exc).split())}"]) from None
    if data is None:
        return DeployPolicy()
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        raise PolicyError(name, [f"must be a mapping of settings (got {kind})"])
    try:
        return DeployPolicy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(name, format_errors(exc)) from None
