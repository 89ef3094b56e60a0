"""What a proposal asks for: a deployment, an update of an instance a proposal deployed, or its
closing.

A deployment is a bare instance spec, as every proposal has always been, so old proposals keep
their meaning. The two other kinds are envelopes, validated, canonicalised and hash-bound like a
spec::

    {"action": "update", "target": 1, "changes": {"tag": "1.28", "replicas": 3}}
    {"action": "close",  "target": 1}

``target`` is the id of the proposal that deployed the instance, on the same DAO. ``changes`` may
set only what Spheron changes in place (see :class:`Changes`); the image, region, ports and storage
cannot change in place, so changing them is refused with "redeploy instead". Whether an update is
acceptable as a whole is known only against the deployed spec: :func:`apply_changes` builds the
resulting spec, which must pass the spec rules (and, in the bot, the operator's policy).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationError, model_validator

from services.common.formatting import format_number
from services.spec.model import (
    MAX_ARGS,
    MAX_COMMANDS,
    MAX_ENV_VARS,
    MAX_REPLICAS,
    MAX_SECRET_ENV_VARS,
    MAX_SPEC_BYTES,
    CustomSpecs,
    EnvVar,
    HealthCheckConfig,
    ImageTag,
    InstanceSpec,
    MachineImageId,
    SecretEnvVar,
    SpecError,
    Text,
    _Strict,
    canonical_json,
    check_canonical_size,
    format_errors,
    load_document,
    spec_summary,
)
from services.spec.schema_rules import (
    KeysRefused,
    NotBoth,
    NullsRefused,
    ObjectRules,
    SomethingGiven,
)

ACTIONS = ("update", "close")
#: What an update may not change: the instance would have to be created again.
FIXED_FIELDS = ("image", "region", "ports", "storage", "persistentStorage", "clusterName", "type")
#: What an update may change (the fields of :class:`Changes`).
CHANGEABLE_FIELDS = (
    "tag",
    "environmentVariables",
    "secretEnvironmentVariables",
    "commands",
    "args",
    "customSpecs",
    "machineImageId",
    "replicas",
    "healthCheckConfig",
)
_MAX_UINT256 = 2**256 - 1

ProposalId = Annotated[int, Field(ge=1, le=_MAX_UINT256)]

CHANGES_RULES = ObjectRules(
    KeysRefused(
        FIXED_FIELDS,
        "{keys} cannot change in place on Spheron; redeploy instead (propose a new deployment, "
        "then close this one)",
    ),
    NullsRefused(
        CHANGEABLE_FIELDS,
        "{keys}: null is not a change; leave a field out to keep it as it is",
    ),
    SomethingGiven("an update must change something"),
    NotBoth(
        "customSpecs",
        "machineImageId",
        "machineImageId and customSpecs cannot be used together; give one",
    ),
)
"""What :class:`Changes` checks on itself as a whole; its JSON Schema carries the same rules."""


class Changes(_Strict):
    """What an update sets. Lists replace the deployed list whole (``[]`` empties it)."""

    tag: ImageTag | None = None
    environmentVariables: Annotated[list[EnvVar], Field(max_length=MAX_ENV_VARS)] | None = None
    secretEnvironmentVariables: (
        Annotated[list[SecretEnvVar], Field(max_length=MAX_SECRET_ENV_VARS)] | None
    ) = None
    commands: Annotated[list[Text], Field(max_length=MAX_COMMANDS)] | None = None
    args: Annotated[list[Text], Field(max_length=MAX_ARGS)] | None = None
    customSpecs: CustomSpecs | None = None
    machineImageId: MachineImageId | None = None
    replicas: Annotated[int, Field(ge=1, le=MAX_REPLICAS)] | None = None
    healthCheckConfig: HealthCheckConfig | None = None

    model_config = ConfigDict(json_schema_extra=CHANGES_RULES.write_schema)

    @model_validator(mode="before")
    @classmethod
    def _fixed_fields_need_a_redeploy(cls, data: Any) -> Any:
        CHANGES_RULES.check_before(data)
        return data

    @model_validator(mode="after")
    def _something_and_one_size(self) -> Changes:
        CHANGES_RULES.check_after(self.model_fields_set, dict(self))
        return self


class UpdateProposal(_Strict):
    """Change the instance that proposal ``target`` deployed."""

    action: Literal["update"]
    target: ProposalId
    changes: Changes


class CloseProposal(_Strict):
    """Close the instance that proposal ``target`` deployed."""

    action: Literal["close"]
    target: ProposalId


Proposal = InstanceSpec | UpdateProposal | CloseProposal


def kind_of(proposal: Proposal) -> str:
    """``deploy``, ``update`` or ``close``."""
    return proposal.action if isinstance(proposal, UpdateProposal | CloseProposal) else "deploy"


def peek_kind(text: str) -> tuple[str, int | None]:
    """`(kind, target)` of a proposal's JSON without validating it, for filing an event: an
    envelope with a known action and an integer target is a change of that target; anything
    else is filed as a deployment, whose validation then says what is wrong with it."""
    try:
        data = json.loads(text)
    except ValueError:
        return "deploy", None
    if isinstance(data, dict) and data.get("action") in ACTIONS:
        target = data.get("target")
        if isinstance(target, int) and not isinstance(target, bool) and 1 <= target <= _MAX_UINT256:
            return str(data["action"]), target
    return "deploy", None


def parse_proposal(text: str | bytes, *, max_bytes: int = MAX_SPEC_BYTES) -> Proposal:
    """Validate a proposal's JSON (any kind); raise :class:`SpecError` listing every problem."""
    data = load_document(text, max_bytes=max_bytes)
    model: type[InstanceSpec | UpdateProposal | CloseProposal] = InstanceSpec
    if "action" in data:
        action = data["action"]
        if action not in ACTIONS:
            raise SpecError(
                [
                    f'action: {json.dumps(action)[:60]} is not an action; use "update" or '
                    '"close" (a deployment is a bare instance spec, without action)'
                ]
            )
        model = UpdateProposal if action == "update" else CloseProposal
    try:
        proposal = model.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise SpecError(format_errors(exc)) from None
    check_canonical_size(canonical_proposal_json(proposal), max_bytes)
    return proposal


def canonical_proposal_json(proposal: Proposal) -> str:
    """The one text of a proposal (see :func:`services.spec.model.canonical_json`). In an
    update's changes, an empty list is kept: it says "empty this list"."""
    if isinstance(proposal, InstanceSpec):
        return canonical_json(proposal)
    data = proposal.model_dump(mode="json", by_alias=True, exclude_none=True)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def apply_changes(spec: InstanceSpec, changes: Changes) -> InstanceSpec:
    """The spec an update leads to: the deployed spec with ``changes`` applied, validated again.

    Setting ``customSpecs`` drops a ``machineImageId`` and the other way round. A result that
    breaks the spec rules (e.g. a health check on a port the spec does not expose) is a
    :class:`SpecError` whose paths are those of the resulting spec.
    """
    data = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    configuration = data["configuration"]
    dumped_changes = changes.model_dump(mode="json", by_alias=True)
    for name in changes.model_fields_set:
        dumped = dumped_changes[name]
        if name == "healthCheckConfig":
            data[name] = dumped
        else:
            configuration[name] = dumped
    if "customSpecs" in changes.model_fields_set:
        configuration.pop("machineImageId", None)
    if "machineImageId" in changes.model_fields_set:
        configuration.pop("customSpecs", None)
    try:
        return InstanceSpec.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        # Sorted, so that the first problem (all `status` shows) is the web app's first too.
        raise SpecError(sorted(f"updated spec: {line}" for line in format_errors(exc))) from None


def size_of(spec: InstanceSpec) -> str:
    """``2 CPU / 4 GiB`` or ``machine <id>``: a spec's size per replica, in one phrase."""
    custom = spec.configuration.customSpecs
    if custom is not None:
        return f"{format_number(custom.cpu)} CPU / {format_number(custom.memory)} GiB"
    return f"machine {spec.configuration.machineImageId}"


def _names(variables: list[Any]) -> dict[str, str]:
    return {variable.key: variable.value for variable in variables}


def _list_change(label: str, before: dict[str, str], after: dict[str, str]) -> str | None:
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    parts = [f"+{k}" for k in added] + [f"-{k}" for k in removed] + [f"~{k}" for k in changed]
    return f"{label} {' '.join(parts)}" if parts else None


def describe_changes(before: InstanceSpec, after: InstanceSpec) -> list[str]:
    """What differs between two specs, in words: ``tag 1.27 → 1.28``, ``replicas 2 → 3``, ...

    Environment variables are named, never valued (``environment +NEW ~CHANGED -GONE``)."""
    old, new = before.configuration, after.configuration
    lines = []
    if old.tag != new.tag:
        lines.append(f"tag {old.tag} → {new.tag}")
    if old.replicas != new.replicas:
        lines.append(f"replicas {old.replicas} → {new.replicas}")
    if size_of(before) != size_of(after):
        lines.append(f"size {size_of(before)} → {size_of(after)}")
    env = _list_change(
        "environment", _names(old.environmentVariables), _names(new.environmentVariables)
    )
    secrets = _list_change(
        "secrets", _names(old.secretEnvironmentVariables), _names(new.secretEnvironmentVariables)
    )
    lines += [line for line in (env, secrets) if line]
    if old.commands != new.commands:
        lines.append(f"commands {json.dumps(old.commands)} → {json.dumps(new.commands)}")
    if old.args != new.args:
        lines.append(f"args {json.dumps(old.args)} → {json.dumps(new.args)}")
    if before.healthCheckConfig != after.healthCheckConfig:
        lines.append(
            f"health check {_health(before.healthCheckConfig)} → {_health(after.healthCheckConfig)}"
        )
    return lines


def _health(check: HealthCheckConfig | None) -> str:
    return "none" if check is None else f"{check.path} on port {check.port}"


def describe_proposal(proposal: Proposal, deployed: InstanceSpec | None = None) -> str:
    """What a vote on ``proposal`` means, in one line. For an update, ``deployed`` (the voted state
    of its target) turns the changes into a diff; without it the fields set are listed."""
    if isinstance(proposal, InstanceSpec):
        return f"deploy {spec_summary(proposal)}"
    if isinstance(proposal, CloseProposal):
        return f"close the instance of proposal {proposal.target}"
    subject = f"update the instance of proposal {proposal.target}"
    if deployed is not None:
        changes = describe_changes(deployed, apply_changes(deployed, proposal.changes))
        return f"{subject}: " + (", ".join(changes) if changes else "no change")
    return f"{subject}: set " + ", ".join(sorted(proposal.changes.model_fields_set))
