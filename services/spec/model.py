"""The instance spec a proposal carries: Spheron's ``InstanceCreationConfig`` as a strict model.

A proposal stores this JSON on-chain and the DAO votes on it; the bot deploys exactly what was
voted on. So the model is strict (no coercion of ``"2"`` to ``2``, booleans are not numbers,
unknown fields are refused), every value is bounded, and :func:`canonical_json` gives one text
per spec so that :func:`spec_hash` binds the payload the same way the contract does.

Python attribute names are the camelCase JSON names (``PersistentStorage.class_`` is the one
exception, aliased to ``class``), so code elsewhere can read ``spec.configuration.customSpecs.cpu``.

Rules beyond the Spheron SDK's own, and why:

- ``clusterName`` is a DNS label (1-63 of ``a-z 0-9 -``, starting and ending with a letter or
  digit): it becomes part of names and URLs on the provider side.
- At least one port: a Spheron instance is reached and health-checked through an exposed port.
  A ``containerPort`` or ``exposedPort`` may not appear twice (two mappings would collide).
- Exactly one of ``machineImageId`` / ``customSpecs``: both is refused like the SDK does; neither
  is refused too, because the provider needs a size.
- Secrets never go on-chain: a ``secretEnvironmentVariables`` value must be the reference
  ``${secret:NAME}``; the bot reads the value from its environment variable ``DAO_SECRET_<NAME>``
  at deploy time (:func:`resolve_secrets`). A plain variable whose key clearly names a secret
  (see :data:`SECRET_KEY_SUFFIXES`) is refused and pointed at ``secretEnvironmentVariables``.
- Sizes of lists and strings and the JSON nesting depth are capped (constants below);
  :func:`parse_spec` caps the input bytes and the canonical JSON at :data:`MAX_SPEC_BYTES`.
  JSON with a key given twice in one object is refused (which value would the voters have read?).
"""

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from eth_utils import keccak
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    model_validator,
)
from pydantic_core import InitErrorDetails

from services.common.formatting import format_number, plural
from services.common.redaction import SECRET_ENV_PREFIX
from services.spec.schema_rules import (
    RULE_ERROR,
    NumberChoice,
    Pattern,
    TextRules,
    quote,
    rule_error,
)

# ---------------------------------------------------------------------------------------------
# Limits
# ---------------------------------------------------------------------------------------------

MAX_SPEC_BYTES = 8192
"""Default cap on a spec's size in bytes (input text and canonical form) where no DAO says
otherwise; a DAO's own cap is its ``maxSpecBytes()``."""

MAX_DAO_SPEC_BYTES = 65_536
"""The largest ``maxSpecBytes`` a DAO can be deployed with (the contract refuses more). The bot
parses every executed spec with this cap: the DAO already enforced its own, smaller or not."""

SIZE_CHOICES: tuple[float, ...] = (0.5, 1, 2, 4, 8, 16, 32)
"""Allowed ``customSpecs.cpu`` (cores) and ``customSpecs.memory`` (GiB) values (Spheron SDK)."""

MIN_STORAGE_GB, MAX_STORAGE_GB = 1, 1024
MAX_REPLICAS = 20
MAX_PORTS = 32
MAX_ENV_VARS = 64
MAX_SECRET_ENV_VARS = 32
MAX_COMMANDS = 32
MAX_ARGS = 64
MAX_JSON_DEPTH = 16
"""Cap on nested arrays/objects in a spec document (a valid spec needs 4)."""
MAX_TEXT_CHARS = 1024
"""Cap on each command, argument and plain environment value."""


SECRET_KEY_SUFFIXES: tuple[str, ...] = (
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "SECRET_KEY",
    "SECRET_ACCESS_KEY",
    "PRIVATE_KEY",
    "API_KEY",
    "ACCESS_TOKEN",
    "AUTH_TOKEN",
    "MNEMONIC",
)
"""A plain variable is refused when its key (any case) is one of these or ends with ``_`` + one.

Kept conservative: whole ``_``-separated words only (``DB_PASSWORD`` is refused, ``DBPASSWORD``
and ``PASSWORD_FILE`` are not), and the well-known yes/no switches of database images are exempt
(see :data:`NOT_SECRET_KEY_SUFFIXES`). A false positive can always go to
``secretEnvironmentVariables``.
"""

NOT_SECRET_KEY_SUFFIXES: tuple[str, ...] = ("ALLOW_EMPTY_PASSWORD", "RANDOM_ROOT_PASSWORD")
"""Flags such as ``MYSQL_ALLOW_EMPTY_PASSWORD=yes`` name a password but hold none."""

# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


class SpecError(ValueError):
    """A spec was refused. ``errors`` lists one ``"<dotted.path>: <rule>"`` string per problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


class MissingSecretError(ValueError):
    """Secret references whose ``DAO_SECRET_<NAME>`` variable is unset or empty (names only)."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = list(missing)
        super().__init__(
            "missing secret environment variable(s) for the bot: "
            + ", ".join(self.missing)
            + " (set each to the secret's value; the spec only holds ${secret:NAME} references)"
        )


def format_errors(exc: ValidationError) -> list[str]:
    """Turn pydantic's errors into ``"<dotted.path>: <rule>"`` lines (``ports[0].exposedPort``)."""
    return [f"{_path(err['loc'])}: {_message(err)}" for err in exc.errors(include_url=False)]


def _path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "spec"


def _message(err: Any) -> str:
    kind: str = err["type"]
    ctx: dict[str, Any] = err.get("ctx", {})
    value = err.get("input")
    loc = err["loc"]
    # Never echo anything given where secret references belong: it may be the secret itself.
    hide = "secretEnvironmentVariables" in loc
    got = "" if hide else f" (got {_describe(value)})"
    if kind == RULE_ERROR:
        return str(ctx["message"])
    simple = {
        "extra_forbidden": "unknown field",
        "missing": "required field is missing",
        "finite_number": "must be a finite number",
    }
    if kind in simple:
        return simple[kind]
    typed = {
        "int_type": "must be an integer",
        "float_type": "must be a number",
        "string_type": "must be a string",
        "list_type": "must be an array",
        "model_type": "must be an object",
        "model_attributes_type": "must be an object",
        "dict_type": "must be an object",
    }
    if kind in typed:
        return typed[kind] + got
    if kind == "literal_error":
        return f"must be {ctx['expected']}{got}"
    if kind == "greater_than_equal":
        return f"must be at least {format_number(ctx['ge'])}{got}"
    if kind == "greater_than":
        return f"must be greater than {format_number(ctx['gt'])}{got}"
    if kind == "less_than_equal":
        return f"must be at most {format_number(ctx['le'])}{got}"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters (got {len(value)})"
    if kind == "string_too_short":
        return f"must be at least {plural(ctx['min_length'], 'character')} (got {len(value)})"
    if kind == "too_long":
        return f"must have at most {plural(ctx['max_length'], 'item')} (got {ctx['actual_length']})"
    if kind == "too_short":
        return (
            f"must have at least {plural(ctx['min_length'], 'item')} (got {ctx['actual_length']})"
        )
    text = str(err["msg"])
    return text[:1].lower() + text[1:]


def _describe(value: object) -> str:
    """A short JSON-ish rendering of an offending input for a message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if abs(value) < 10**30 else "a very large integer"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _raise_all(title: str, problems: list[tuple[tuple[int | str, ...], str, object]]) -> None:
    """Report several cross-field problems at once, each at its own location."""
    if problems:
        raise ValidationError.from_exception_data(
            title,
            [
                InitErrorDetails(type=rule_error(message), loc=loc, input=value)
                for loc, message, value in problems
            ],
        )


# ---------------------------------------------------------------------------------------------
# Field rules (data: checked here and exported in the JSON Schema, see services.spec.schema_rules)
# ---------------------------------------------------------------------------------------------

_DOMAIN_PART = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?/)?{_PATH_PART}(?:/{_PATH_PART})*"
_SECRET_NAME = r"[A-Z][A-Z0-9_]{0,63}"
_SECRET_REF_RE = re.compile(rf"\$\{{secret:({_SECRET_NAME})\}}")
_ANYTHING = r"[\d\D]*"

CLUSTER_NAME_RULE = Pattern(
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?",
    "{value} is not a DNS label: 1-63 lower-case letters, digits and '-', starting and ending "
    "with a letter or digit",
)
IMAGE_RULES = (
    Pattern(
        rf"{_ANYTHING}@{_ANYTHING}",
        "{value} includes a digest; give the image name and put a tag in tag",
        refuse=True,
    ),
    Pattern(
        rf"({_IMAGE}):([^:/]*)",
        "{value} includes a tag; give {1} here and {2} in tag",
        refuse=True,
    ),
    Pattern(
        _IMAGE,
        "{value} is not a valid image name: lower-case path components separated by '/', "
        "optionally after a registry host (e.g. nginx, ghcr.io/acme/app)",
    ),
)
TAG_RULE = Pattern(
    r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
    "{value} is not a valid tag: 1-128 letters, digits, '_', '.' and '-', not starting with '.' "
    "or '-'",
)
ENV_KEY_RULE = Pattern(
    r"[A-Za-z_][A-Za-z0-9_]*",
    "{value} is not a valid variable name: letters, digits and '_', not starting with a digit",
)
SECRET_REF_RULE = Pattern(
    _SECRET_REF_RE.pattern,
    "must be a reference of the form ${secret:NAME} (NAME: an upper-case letter, then upper-case "
    "letters, digits or '_'), not a literal value: a proposal is public on-chain forever; the bot "
    f"reads the value from its environment variable {SECRET_ENV_PREFIX}NAME at deploy time",
)
REGION_RULE = Pattern(
    r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}",
    "{value} is not a region: 'any' or a region code of 1-64 letters, digits, '_', '.' and '-'",
)
MACHINE_ID_RULE = Pattern(
    r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}",
    "{value} is not a machine image id: 1-128 letters, digits, '_', '.' and '-'",
)
URL_PATH_RULE = Pattern(
    r"/[\x21-\x7e]{0,255}",
    "{value} is not a URL path: start with '/', printable ASCII without spaces, at most 256 "
    "characters",
)
MOUNT_POINT_RULES = (
    Pattern(rf"/{_ANYTHING}", "{value} is not an absolute path (start with '/')"),
    Pattern("/", "must not be the root directory '/'", refuse=True),
    Pattern(
        r"(?:/(?!\.\.?(?:/|(?![\d\D])))[A-Za-z0-9._-]+)+",
        "{value} is not a plain absolute path: letters, digits, '.', '_' and '-' between single "
        "'/', no '.' or '..' segments, no trailing '/'",
    ),
)
NO_NUL_RULE = Pattern(r"[^\x00]*", "must not contain NUL characters")


def _any_case(word: str) -> str:
    """A pattern matching ``word`` in any letter case (JSON Schema patterns have no flags)."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)


def _secret_name_pattern() -> str:
    """``names_a_secret`` as a pattern: a whole word of SECRET_KEY_SUFFIXES at the end, after
    nothing or ``_``, unless the name ends with one of NOT_SECRET_KEY_SUFFIXES."""
    words = "|".join(_any_case(word) for word in SECRET_KEY_SUFFIXES)
    exempt = "|".join(_any_case(word) for word in NOT_SECRET_KEY_SUFFIXES)
    return rf"(?!{_ANYTHING}(?:{exempt})(?![\d\D]))(?:{_ANYTHING}_)?(?:{words})"


NOT_SECRET_NAME_RULE = Pattern(
    _secret_name_pattern(),
    "{value} names a secret, and plain values are public on-chain forever; move it to "
    'secretEnvironmentVariables as {"key": {value}, "value": "${secret:NAME}"} and give the bot '
    f"{SECRET_ENV_PREFIX}NAME",
    refuse=True,
)

SIZE_CHOICE = NumberChoice(
    SIZE_CHOICES,
    "{value} is not one of " + ", ".join(format_number(choice) for choice in SIZE_CHOICES),
)


def names_a_secret(key: str) -> bool:
    """Whether an environment variable name clearly names a secret (see SECRET_KEY_SUFFIXES;
    letters compare in any case)."""
    return NOT_SECRET_NAME_RULE.broken_by(key) is not False


def _check_unicode(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise rule_error("must be valid Unicode (contains a lone surrogate)") from None
    return value


ClusterName = Annotated[str, Field(max_length=63), TextRules(CLUSTER_NAME_RULE)]
ImageName = Annotated[str, Field(max_length=255), TextRules(*IMAGE_RULES)]
ImageTag = Annotated[str, Field(max_length=128), TextRules(TAG_RULE)]
PortNumber = Annotated[int, Field(ge=1, le=65535)]
StorageGb = Annotated[int, Field(ge=MIN_STORAGE_GB, le=MAX_STORAGE_GB)]
SizeChoice = Annotated[float, SIZE_CHOICE]
EnvKey = Annotated[str, Field(max_length=128), TextRules(ENV_KEY_RULE)]
Text = Annotated[
    str,
    Field(max_length=MAX_TEXT_CHARS),
    TextRules(NO_NUL_RULE),
    AfterValidator(_check_unicode),
]
SecretRef = Annotated[str, TextRules(SECRET_REF_RULE)]
Region = Annotated[str, Field(max_length=64), TextRules(REGION_RULE)]
MachineImageId = Annotated[str, Field(max_length=128), TextRules(MACHINE_ID_RULE)]
UrlPath = Annotated[str, Field(max_length=256), TextRules(URL_PATH_RULE)]
MountPoint = Annotated[str, Field(max_length=256), TextRules(*MOUNT_POINT_RULES)]


class _Strict(BaseModel):
    model_config = ConfigDict(
        strict=True,
        frozen=True,
        extra="forbid",
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
    )


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


class HealthCheckConfig(_Strict):
    """The URL path and container port the provider polls for health."""

    path: UrlPath
    port: PortNumber
    """Must be one of the spec's ``containerPort`` values."""


class Port(_Strict):
    """A container port and the port it is exposed on."""

    containerPort: PortNumber
    exposedPort: PortNumber


class EnvVar(_Strict):
    """A plain environment variable: public, like everything in a proposal."""

    key: Annotated[EnvKey, TextRules(NOT_SECRET_NAME_RULE)]
    value: Text


class SecretEnvVar(_Strict):
    """An environment variable whose value the bot fills in from its own environment."""

    key: EnvKey
    value: SecretRef
    """Always a ``${secret:NAME}`` reference, never the secret itself."""


class PersistentStorage(_Strict):
    """A volume that outlives restarts; ``class`` is the JSON name of ``class_``."""

    size: StorageGb
    class_: Literal["HDD", "SSD", "NVMe"] = Field(alias="class")
    mountPoint: MountPoint


class CustomSpecs(_Strict):
    """Size per replica, when no named machine plan is used."""

    cpu: SizeChoice
    """Cores per replica."""
    memory: SizeChoice
    """GiB per replica."""

    @field_serializer("cpu", "memory")
    def _integral_as_int(self, value: float) -> float | int:
        # 2 and 2.0 must serialise (and hash) the same.
        return int(value) if float(value).is_integer() else value


class Configuration(_Strict):
    """What runs and on how much: image, ports, environment, size, storage, replicas."""

    image: ImageName
    """Image name without tag, e.g. ``nginx`` or ``ghcr.io/acme/app``."""
    tag: ImageTag
    ports: Annotated[list[Port], Field(min_length=1, max_length=MAX_PORTS)]
    environmentVariables: Annotated[list[EnvVar], Field(max_length=MAX_ENV_VARS)] = []
    secretEnvironmentVariables: Annotated[
        list[SecretEnvVar], Field(max_length=MAX_SECRET_ENV_VARS)
    ] = []
    commands: Annotated[list[Text], Field(max_length=MAX_COMMANDS)] = []
    args: Annotated[list[Text], Field(max_length=MAX_ARGS)] = []
    region: Region
    """``"any"`` lets the provider pick a region with capacity."""
    machineImageId: MachineImageId | None = None
    """A named machine plan; exclusive with ``customSpecs``."""
    storage: StorageGb
    """Ephemeral storage in GB."""
    persistentStorage: PersistentStorage | None = None
    customSpecs: CustomSpecs | None = None
    replicas: Annotated[int, Field(ge=1, le=MAX_REPLICAS)]

    @model_validator(mode="after")
    def _cross_field_rules(self) -> "Configuration":
        problems: list[tuple[tuple[int | str, ...], str, object]] = []
        if self.machineImageId is not None and self.customSpecs is not None:
            problems.append(
                ((), "machineImageId and customSpecs cannot be used together; give one", None)
            )
        elif self.machineImageId is None and self.customSpecs is None:
            problems.append(
                (
                    (),
                    "give machineImageId (a named machine plan) or customSpecs (cpu and memory): "
                    "the provider needs a size",
                    None,
                )
            )
        for field in ("containerPort", "exposedPort"):
            first: dict[int, int] = {}
            for index, port in enumerate(self.ports):
                number = getattr(port, field)
                if number in first:
                    problems.append(
                        (
                            ("ports", index, field),
                            f"{number} is listed twice (also at configuration.ports"
                            f"[{first[number]}].{field})",
                            number,
                        )
                    )
                else:
                    first[number] = index
        seen: dict[str, str] = {}
        variables = [("environmentVariables", v) for v in self.environmentVariables]
        variables += [("secretEnvironmentVariables", v) for v in self.secretEnvironmentVariables]
        counters: dict[str, int] = {}
        for list_name, variable in variables:
            index = counters.get(list_name, 0)
            counters[list_name] = index + 1
            here = f"configuration.{list_name}[{index}]"
            if variable.key in seen:
                problems.append(
                    (
                        (list_name, index, "key"),
                        f"duplicate key {quote(variable.key)} (also at {seen[variable.key]})",
                        variable.key,
                    )
                )
            else:
                seen[variable.key] = here
        _raise_all(type(self).__name__, problems)
        return self


class InstanceSpec(_Strict):
    """Spheron's ``InstanceCreationConfig``: the JSON a proposal carries."""

    clusterName: ClusterName
    type: Literal["spot", "demand"]
    healthCheckConfig: HealthCheckConfig | None = None
    configuration: Configuration

    @model_validator(mode="after")
    def _health_check_port_is_exposed(self) -> "InstanceSpec":
        check = self.healthCheckConfig
        if check is not None:
            ports = [port.containerPort for port in self.configuration.ports]
            if check.port not in ports:
                listed = ", ".join(str(port) for port in ports)
                _raise_all(
                    type(self).__name__,
                    [
                        (
                            ("healthCheckConfig", "port"),
                            f"{check.port} is not one of the containerPorts ({listed})",
                            check.port,
                        )
                    ],
                )
        return self


# ---------------------------------------------------------------------------------------------
# Parsing, canonical form, hashing
# ---------------------------------------------------------------------------------------------


class _BadJson(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _BadJson(f"duplicate key {quote(key)} (each key may appear once per object)")
        result[key] = value
    return result


def _finite_float(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise _BadJson(f"number {text[:40]} is out of range")
    return number


def _no_constant(name: str) -> Any:
    raise _BadJson(f"{name} is not valid JSON")


def _nesting_depth(text: str) -> int:
    """Deepest nesting of ``[`` / ``{`` outside strings, found before parsing recursively.

    Only an upper bound matters, so a text with few brackets in all is answered without the
    character loop (the common case, and the bot validates every event)."""
    brackets = text.count("[") + text.count("{")
    if brackets <= MAX_JSON_DEPTH:
        return brackets
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _load_json(text: str) -> Any:
    if _nesting_depth(text) > MAX_JSON_DEPTH:
        raise SpecError([f"spec: invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels"])
    try:
        data = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_float=_finite_float,
            parse_constant=_no_constant,
        )
    except json.JSONDecodeError as exc:
        raise SpecError(
            [f"spec: invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]
        ) from None
    except _BadJson as exc:
        raise SpecError([f"spec: invalid JSON: {exc}"]) from None
    except ValueError:  # the only other one: an integer beyond int's string-conversion limit
        raise SpecError(["spec: invalid JSON: a number has too many digits"]) from None
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise SpecError(
            ["spec: invalid JSON: a string holds a lone surrogate escape (e.g. \\ud800)"]
        ) from None
    return data


def load_document(text: str | bytes, *, max_bytes: int) -> dict[str, Any]:
    """The JSON object a proposal carries, with the checks every kind of proposal shares: size
    (before parsing), UTF-8, JSON syntax, unique keys, finite numbers and bounded nesting."""
    if isinstance(text, str):
        try:
            raw = text.encode("utf-8")
        except UnicodeEncodeError:
            raise SpecError(["spec: text is not valid Unicode (lone surrogate)"]) from None
    else:
        raw = bytes(text)
    if len(raw) > max_bytes:
        raise SpecError([f"spec: {len(raw)} bytes exceeds the limit of {max_bytes} bytes"])
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError([f"spec: not valid UTF-8 (byte {exc.start})"]) from None
    data = _load_json(decoded)
    if not isinstance(data, dict):
        raise SpecError([f"spec: must be a JSON object (got {_describe(data)})"])
    return data


def check_canonical_size(canonical: str, max_bytes: int) -> None:
    """The canonical text is what goes on-chain. It drops whitespace, defaults and escapes, so it
    is not longer than the input today; the bound is kept explicit rather than implied."""
    size = len(canonical.encode("utf-8"))
    if size > max_bytes:
        raise SpecError(
            [f"spec: canonical form is {size} bytes, over the limit of {max_bytes} bytes"]
        )


def parse_spec(text: str | bytes, *, max_bytes: int = MAX_SPEC_BYTES) -> InstanceSpec:
    """Validate a spec given as JSON text; raise :class:`SpecError` listing every problem found.

    The size cap applies to the input bytes (before parsing) and to the canonical form.
    """
    data = load_document(text, max_bytes=max_bytes)
    try:
        spec = InstanceSpec.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise SpecError(format_errors(exc)) from None
    check_canonical_size(canonical_json(spec), max_bytes)
    return spec


def canonical_json(spec: InstanceSpec) -> str:
    """The one text of a spec: sorted keys, no whitespace, UTF-8, defaults and nulls omitted.

    ``canonical_json(parse_spec(canonical_json(s))) == canonical_json(s)`` for every spec.
    """
    data = spec.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def spec_hash(canonical: str) -> bytes:
    """keccak256 of the UTF-8 bytes: equals the contract's ``keccak256(bytes(json))``."""
    return keccak(canonical.encode("utf-8"))


# ---------------------------------------------------------------------------------------------
# Secrets and summary
# ---------------------------------------------------------------------------------------------


def _reference_name(variable: SecretEnvVar) -> str:
    match = _SECRET_REF_RE.fullmatch(variable.value)
    if match is None:  # only reachable for a model built without validation
        raise ValueError(f"{variable.key}: value is not a ${{secret:NAME}} reference")
    return match.group(1)


def secret_names(spec: InstanceSpec) -> list[str]:
    """The NAMEs of the ``${secret:NAME}`` references, in order of first use, each once."""
    names: list[str] = []
    for variable in spec.configuration.secretEnvironmentVariables:
        name = _reference_name(variable)
        if name not in names:
            names.append(name)
    return names


def resolve_secrets(spec: InstanceSpec, environ: Mapping[str, str]) -> dict[str, str]:
    """Map each secret variable's KEY to the value of ``DAO_SECRET_<NAME>`` in ``environ``.

    An unset or empty variable is missing; :class:`MissingSecretError` names every missing
    variable (never a value).
    """
    values: dict[str, str] = {}
    missing: list[str] = []
    for variable in spec.configuration.secretEnvironmentVariables:
        env_name = SECRET_ENV_PREFIX + _reference_name(variable)
        value = environ.get(env_name, "")
        if value:
            values[variable.key] = value
        elif env_name not in missing:
            missing.append(env_name)
    if missing:
        raise MissingSecretError(missing)
    return values


def spec_summary(spec: InstanceSpec) -> str:
    """One line, e.g. ``web-cluster: nginx:1.27 \u00d72, 2 CPU / 4 GiB, 20 GB, region any``.

    A machine plan shows as ``machine <id>``; persistent storage as ``+ 100 GB NVMe at /data``.
    """
    config = spec.configuration
    if config.customSpecs is not None:
        size = (
            f"{format_number(config.customSpecs.cpu)} CPU / "
            f"{format_number(config.customSpecs.memory)} GiB"
        )
    else:
        size = f"machine {config.machineImageId}"
    storage = f"{config.storage} GB"
    if config.persistentStorage is not None:
        persistent = config.persistentStorage
        storage += f" + {persistent.size} GB {persistent.class_} at {persistent.mountPoint}"
    return (
        f"{spec.clusterName}: {config.image}:{config.tag} \u00d7{config.replicas}, {size}, "
        f"{storage}, region {config.region}"
    )
