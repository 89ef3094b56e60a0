"""The instance spec: every rule's rejection message, strict typing, canonical form, secrets."""

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.spec.model import (
    MAX_SPEC_BYTES,
    Configuration,
    CustomSpecs,
    InstanceSpec,
    MissingSecretError,
    PersistentStorage,
    Port,
    SecretEnvVar,
    SpecError,
    canonical_json,
    check_canonical_size,
    format_errors,
    load_document,
    names_a_secret,
    parse_spec,
    resolve_secrets,
    secret_names,
    spec_hash,
    spec_summary,
)
from tests.helpers import DELETE, set_path


def base_spec() -> dict[str, Any]:
    """A valid spec using every section; each test changes one thing."""
    return {
        "clusterName": "web-cluster",
        "type": "spot",
        "healthCheckConfig": {"path": "/health", "port": 80},
        "configuration": {
            "image": "nginx",
            "tag": "1.27",
            "ports": [{"containerPort": 80, "exposedPort": 8080}],
            "environmentVariables": [{"key": "MODE", "value": "prod"}],
            "secretEnvironmentVariables": [{"key": "DB_PASS", "value": "${secret:DB_PASSWORD}"}],
            "commands": ["nginx"],
            "args": ["-g", "daemon off;"],
            "region": "any",
            "storage": 20,
            "persistentStorage": {"size": 10, "class": "SSD", "mountPoint": "/data"},
            "customSpecs": {"cpu": 2, "memory": 4},
            "replicas": 2,
        },
    }


def changed(path: str, value: object) -> dict[str, Any]:
    """base_spec() with the value at a dotted path (list indexes as numbers) set or deleted."""
    doc = base_spec()
    set_path(doc, path, value)
    return doc


def short_id(value: object) -> str:
    """Readable test ids for long parameter values, in ASCII without backslashes: pytest escapes
    an id again each time one process collects the tests (mutmut's does, then runs them by id)."""
    return ascii(value)[:40].replace("\\", "/")


def errors_of(doc: object) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(json.dumps(doc))
    return caught.value.errors


def test_base_spec_is_valid_and_reads_as_attributes() -> None:
    spec = parse_spec(json.dumps(base_spec()))
    assert spec.clusterName == "web-cluster"
    assert spec.configuration.customSpecs is not None
    assert spec.configuration.customSpecs.cpu == 2
    assert spec.configuration.persistentStorage is not None
    assert spec.configuration.persistentStorage.class_ == "SSD"
    assert spec.configuration.ports[0].exposedPort == 8080


DNS = (
    "is not a DNS label: 1-63 lower-case letters, digits and '-', starting and ending with a "
    "letter or digit"
)
TAG = "is not a valid tag: 1-128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
VAR = "is not a valid variable name: letters, digits and '_', not starting with a digit"
IMAGE = (
    "is not a valid image name: lower-case path components separated by '/', optionally after a "
    "registry host (e.g. nginx, ghcr.io/acme/app)"
)
MOUNT = (
    "is not a plain absolute path: letters, digits, '.', '_' and '-' between single '/', no '.' "
    "or '..' segments, no trailing '/'"
)
SECRET_REF = (
    "must be a reference of the form ${secret:NAME} (NAME: an upper-case letter, then upper-case "
    "letters, digits or '_'), not a literal value: a proposal is public on-chain forever; the bot "
    "reads the value from its environment variable DAO_SECRET_NAME at deploy time"
)
SIZES = "is not one of 0.5, 1, 2, 4, 8, 16, 32"


def named_secret(key: str) -> str:
    return (
        f'"{key}" names a secret, and plain values are public on-chain forever; move it to '
        f'secretEnvironmentVariables as {{"key": "{key}", "value": "${{secret:NAME}}"}} and give '
        "the bot DAO_SECRET_NAME"
    )


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        # clusterName
        ("clusterName", "Web_Cluster", f'clusterName: "Web_Cluster" {DNS}'),
        ("clusterName", "-web", f'clusterName: "-web" {DNS}'),
        ("clusterName", "web-", f'clusterName: "web-" {DNS}'),
        ("clusterName", "", f'clusterName: "" {DNS}'),
        ("clusterName", "a" * 64, "clusterName: must be at most 63 characters (got 64)"),
        ("clusterName", 5, "clusterName: must be a string (got 5)"),
        ("clusterName", DELETE, "clusterName: required field is missing"),
        # type
        ("type", "SPOT", """type: must be 'spot' or 'demand' (got "SPOT")"""),
        ("type", None, "type: must be 'spot' or 'demand' (got null)"),
        # healthCheckConfig
        (
            "healthCheckConfig.path",
            "health",
            "healthCheckConfig.path: \"health\" is not a URL path: start with '/', printable "
            "ASCII without spaces, at most 256 characters",
        ),
        (
            "healthCheckConfig.path",
            "/a b",
            "healthCheckConfig.path: \"/a b\" is not a URL path: start with '/', printable "
            "ASCII without spaces, at most 256 characters",
        ),
        ("healthCheckConfig.port", 0, "healthCheckConfig.port: must be at least 1 (got 0)"),
        (
            "healthCheckConfig.port",
            8080,
            "healthCheckConfig.port: 8080 is not one of the containerPorts (80)",
        ),
        ("healthCheckConfig", [], "healthCheckConfig: must be an object (got an array)"),
        # image and tag
        (
            "configuration.image",
            "nginx:1.27",
            'configuration.image: "nginx:1.27" includes a tag; give "nginx" here and "1.27" in tag',
        ),
        (
            "configuration.image",
            "localhost:5000/app:2",
            'configuration.image: "localhost:5000/app:2" includes a tag; give '
            '"localhost:5000/app" here and "2" in tag',
        ),
        (
            "configuration.image",
            "nginx@sha256:abcd",
            'configuration.image: "nginx@sha256:abcd" includes a digest; give the image name and '
            "put a tag in tag",
        ),
        ("configuration.image", "Nginx", f'configuration.image: "Nginx" {IMAGE}'),
        ("configuration.image", "acme//app", f'configuration.image: "acme//app" {IMAGE}'),
        ("configuration.image", "", f'configuration.image: "" {IMAGE}'),
        (
            "configuration.image",
            "a" * 256,
            "configuration.image: must be at most 255 characters (got 256)",
        ),
        ("configuration.tag", "", f'configuration.tag: "" {TAG}'),
        ("configuration.tag", ".hidden", f'configuration.tag: ".hidden" {TAG}'),
        ("configuration.tag", "1.27 ", f'configuration.tag: "1.27 " {TAG}'),
        ("configuration.tag", 1.27, "configuration.tag: must be a string (got 1.27)"),
        # ports
        ("configuration.ports", [], "configuration.ports: must have at least 1 item (got 0)"),
        (
            "configuration.ports",
            [{"containerPort": n, "exposedPort": n} for n in range(80, 113)],
            "configuration.ports: must have at most 32 items (got 33)",
        ),
        (
            "configuration.ports.0.containerPort",
            0,
            "configuration.ports[0].containerPort: must be at least 1 (got 0)",
        ),
        (
            "configuration.ports.0.exposedPort",
            65536,
            "configuration.ports[0].exposedPort: must be at most 65535 (got 65536)",
        ),
        (
            "configuration.ports.0.exposedPort",
            "8080",
            'configuration.ports[0].exposedPort: must be an integer (got "8080")',
        ),
        (
            "configuration.ports.0.exposedPort",
            8080.0,
            "configuration.ports[0].exposedPort: must be an integer (got 8080.0)",
        ),
        (
            "configuration.ports.0.exposedPort",
            True,
            "configuration.ports[0].exposedPort: must be an integer (got true)",
        ),
        (
            "configuration.ports",
            {"containerPort": 80, "exposedPort": 80},
            "configuration.ports: must be an array (got an object)",
        ),
        # environment variables
        (
            "configuration.environmentVariables.0.key",
            "1A",
            f'configuration.environmentVariables[0].key: "1A" {VAR}',
        ),
        (
            "configuration.environmentVariables.0.key",
            "A-B",
            f'configuration.environmentVariables[0].key: "A-B" {VAR}',
        ),
        (
            "configuration.environmentVariables.0.key",
            "DB_PASSWORD",
            f"configuration.environmentVariables[0].key: {named_secret('DB_PASSWORD')}",
        ),
        (
            "configuration.environmentVariables.0.key",
            "stripe_api_key",
            f"configuration.environmentVariables[0].key: {named_secret('stripe_api_key')}",
        ),
        (
            "configuration.environmentVariables.0.key",
            "PRIVATE_KEY",
            f"configuration.environmentVariables[0].key: {named_secret('PRIVATE_KEY')}",
        ),
        (
            "configuration.environmentVariables.0.value",
            "a\x00b",
            "configuration.environmentVariables[0].value: must not contain NUL characters",
        ),
        (
            "configuration.environmentVariables.0.value",
            "x" * 1025,
            "configuration.environmentVariables[0].value: must be at most 1024 characters "
            "(got 1025)",
        ),
        (
            "configuration.environmentVariables.0.value",
            3,
            "configuration.environmentVariables[0].value: must be a string (got 3)",
        ),
        (
            "configuration.environmentVariables",
            [{"key": f"K{i}", "value": ""} for i in range(65)],
            "configuration.environmentVariables: must have at most 64 items (got 65)",
        ),
        (
            "configuration.environmentVariables.0.key",
            "DB_PASS",
            'configuration.secretEnvironmentVariables[0].key: duplicate key "DB_PASS" '
            "(also at configuration.environmentVariables[0])",
        ),
        (
            "configuration.environmentVariables",
            [{"key": "A", "value": "1"}, {"key": "A", "value": "2"}],
            'configuration.environmentVariables[1].key: duplicate key "A" '
            "(also at configuration.environmentVariables[0])",
        ),
        # secret environment variables
        (
            "configuration.secretEnvironmentVariables.0.value",
            "hunter2",
            f"configuration.secretEnvironmentVariables[0].value: {SECRET_REF}",
        ),
        (
            "configuration.secretEnvironmentVariables.0.value",
            "${secret:db_password}",
            f"configuration.secretEnvironmentVariables[0].value: {SECRET_REF}",
        ),
        (
            "configuration.secretEnvironmentVariables.0.value",
            " ${secret:DB_PASSWORD}",
            f"configuration.secretEnvironmentVariables[0].value: {SECRET_REF}",
        ),
        (
            "configuration.secretEnvironmentVariables.0.value",
            123456,
            "configuration.secretEnvironmentVariables[0].value: must be a string",
        ),
        (
            "configuration.secretEnvironmentVariables.0.key",
            "",
            f'configuration.secretEnvironmentVariables[0].key: "" {VAR}',
        ),
        # commands and args
        (
            "configuration.commands",
            "nginx",
            'configuration.commands: must be an array (got "nginx")',
        ),
        ("configuration.commands.0", 1, "configuration.commands[0]: must be a string (got 1)"),
        (
            "configuration.args",
            ["x"] * 65,
            "configuration.args: must have at most 64 items (got 65)",
        ),
        # region and machine image
        (
            "configuration.region",
            "us east",
            "configuration.region: \"us east\" is not a region: 'any' or a region code of 1-64 "
            "letters, digits, '_', '.' and '-'",
        ),
        (
            "configuration.machineImageId",
            "abc",
            "configuration: machineImageId and customSpecs cannot be used together; give one",
        ),
        (
            "configuration.customSpecs",
            DELETE,
            "configuration: give machineImageId (a named machine plan) or customSpecs (cpu and "
            "memory): the provider needs a size",
        ),
        # storage
        ("configuration.storage", 0, "configuration.storage: must be at least 1 (got 0)"),
        ("configuration.storage", 1025, "configuration.storage: must be at most 1024 (got 1025)"),
        ("configuration.storage", 20.0, "configuration.storage: must be an integer (got 20.0)"),
        ("configuration.storage", 20.5, "configuration.storage: must be an integer (got 20.5)"),
        ("configuration.storage", "20", 'configuration.storage: must be an integer (got "20")'),
        ("configuration.storage", None, "configuration.storage: must be an integer (got null)"),
        (
            "configuration.persistentStorage.size",
            0,
            "configuration.persistentStorage.size: must be at least 1 (got 0)",
        ),
        (
            "configuration.persistentStorage.size",
            2048,
            "configuration.persistentStorage.size: must be at most 1024 (got 2048)",
        ),
        (
            "configuration.persistentStorage.class",
            "ssd",
            """configuration.persistentStorage.class: must be 'HDD', 'SSD' or 'NVMe' (got "ssd")""",
        ),
        (
            "configuration.persistentStorage.mountPoint",
            "data",
            'configuration.persistentStorage.mountPoint: "data" is not an absolute path '
            "(start with '/')",
        ),
        (
            "configuration.persistentStorage.mountPoint",
            "/",
            "configuration.persistentStorage.mountPoint: must not be the root directory '/'",
        ),
        (
            "configuration.persistentStorage.mountPoint",
            "/data/",
            f'configuration.persistentStorage.mountPoint: "/data/" {MOUNT}',
        ),
        (
            "configuration.persistentStorage.mountPoint",
            "/var/../etc",
            f'configuration.persistentStorage.mountPoint: "/var/../etc" {MOUNT}',
        ),
        (
            "configuration.persistentStorage.mountPoint",
            "/my data",
            f'configuration.persistentStorage.mountPoint: "/my data" {MOUNT}',
        ),
        # customSpecs
        ("configuration.customSpecs.cpu", 3, f"configuration.customSpecs.cpu: 3 {SIZES}"),
        ("configuration.customSpecs.cpu", 0.25, f"configuration.customSpecs.cpu: 0.25 {SIZES}"),
        ("configuration.customSpecs.memory", 64, f"configuration.customSpecs.memory: 64 {SIZES}"),
        (
            "configuration.customSpecs.cpu",
            "2",
            'configuration.customSpecs.cpu: must be a number (got "2")',
        ),
        (
            "configuration.customSpecs.memory",
            True,
            "configuration.customSpecs.memory: must be a number (got true)",
        ),
        # replicas
        ("configuration.replicas", 0, "configuration.replicas: must be at least 1 (got 0)"),
        ("configuration.replicas", 21, "configuration.replicas: must be at most 20 (got 21)"),
        ("configuration.replicas", 1.5, "configuration.replicas: must be an integer (got 1.5)"),
        ("configuration.replicas", 2.0, "configuration.replicas: must be an integer (got 2.0)"),
        ("configuration.replicas", False, "configuration.replicas: must be an integer (got false)"),
        ("configuration.replicas", DELETE, "configuration.replicas: required field is missing"),
        ("configuration", [], "configuration: must be an object (got an array)"),
    ],
    ids=short_id,
)
def test_each_rule_refuses_with_its_message(path: str, value: object, expected: str) -> None:
    assert errors_of(changed(path, value)) == [expected]


@pytest.mark.parametrize(
    "where",
    [
        "",
        "healthCheckConfig.",
        "configuration.",
        "configuration.ports.0.",
        "configuration.environmentVariables.0.",
        "configuration.secretEnvironmentVariables.0.",
        "configuration.persistentStorage.",
        "configuration.customSpecs.",
    ],
)
def test_unknown_fields_are_refused_at_every_level(where: str) -> None:
    shown = where.replace(".0.", "[0].")
    assert errors_of(changed(where + "bogus", 1)) == [f"{shown}bogus: unknown field"]


def test_class_must_be_spelled_class_in_json() -> None:
    doc = base_spec()
    storage = doc["configuration"]["persistentStorage"]
    storage["class_"] = storage.pop("class")
    assert errors_of(doc) == [
        "configuration.persistentStorage.class: required field is missing",
        "configuration.persistentStorage.class_: unknown field",
    ]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("configuration.image", "ghcr.io/acme/app"),
        ("configuration.image", "localhost:5000/team/app"),
        ("configuration.image", "library/nginx"),
        ("configuration.image", "my_org/my-app__x.y"),
        ("configuration.tag", "v1.14.12-alpine_3"),
        ("configuration.environmentVariables.0.key", "_lower_ok"),
        ("configuration.environmentVariables.0.key", "DBPASSWORD"),
        ("configuration.environmentVariables.0.key", "MYSQL_ALLOW_EMPTY_PASSWORD"),
        ("configuration.environmentVariables.0.key", "POSTGRES_PASSWORD_FILE"),
        ("configuration.environmentVariables.0.value", "a=b=c; é ✓"),
        ("configuration.customSpecs.cpu", 0.5),
        ("configuration.customSpecs.memory", 32.0),
        ("configuration.replicas", 20),
        ("configuration.storage", 1024),
        ("configuration.persistentStorage.class", "NVMe"),
        ("configuration.persistentStorage.mountPoint", "/var/lib/postgresql/data"),
        ("configuration.region", "us-east"),
        ("healthCheckConfig", None),
        ("healthCheckConfig", DELETE),
        ("configuration.persistentStorage", DELETE),
        ("configuration.environmentVariables", DELETE),
        ("configuration.secretEnvironmentVariables", []),
    ],
)
def test_edge_values_that_are_allowed(path: str, value: object) -> None:
    parse_spec(json.dumps(changed(path, value)))


def test_machine_image_instead_of_custom_specs_is_valid() -> None:
    doc = changed("configuration.customSpecs", DELETE)
    doc["configuration"]["machineImageId"] = "66a0c1f2e4b0a1b2c3d4e5f6"
    spec = parse_spec(json.dumps(doc))
    assert spec.configuration.machineImageId == "66a0c1f2e4b0a1b2c3d4e5f6"
    assert spec.configuration.customSpecs is None


def test_every_problem_is_reported_at_once_and_joined_with_semicolons() -> None:
    doc = changed("configuration.replicas", 0)
    doc["clusterName"] = "Bad"
    doc["configuration"]["customSpecs"]["cpu"] = 3
    with pytest.raises(SpecError) as caught:
        parse_spec(json.dumps(doc))
    assert caught.value.errors == [
        f'clusterName: "Bad" {DNS}',
        f"configuration.customSpecs.cpu: 3 {SIZES}",
        "configuration.replicas: must be at least 1 (got 0)",
    ]
    assert str(caught.value) == "; ".join(caught.value.errors)
    assert isinstance(caught.value, ValueError)


def test_duplicate_ports_are_refused() -> None:
    doc = base_spec()
    doc["configuration"]["ports"] = [
        {"containerPort": 80, "exposedPort": 8080},
        {"containerPort": 443, "exposedPort": 8080},
        {"containerPort": 80, "exposedPort": 9090},
    ]
    assert errors_of(doc) == [
        "configuration.ports[2].containerPort: 80 is listed twice "
        "(also at configuration.ports[0].containerPort)",
        "configuration.ports[1].exposedPort: 8080 is listed twice "
        "(also at configuration.ports[0].exposedPort)",
    ]


def test_a_literal_secret_never_appears_in_the_error() -> None:
    doc = changed("configuration.secretEnvironmentVariables.0.value", "hunter2-very-secret")
    doc["configuration"]["secretEnvironmentVariables"].append({"key": "TOKEN", "value": 987654})
    with pytest.raises(SpecError) as caught:
        parse_spec(json.dumps(doc))
    assert "hunter2" not in str(caught.value)
    assert "987654" not in str(caught.value)
    assert len(caught.value.errors) == 2


@pytest.mark.parametrize(
    ("secrets", "expected"),
    [
        (["DB_PASSWORD=hunter2"], "configuration.secretEnvironmentVariables[0]: must be an object"),
        ("DB_PASSWORD=hunter2", "configuration.secretEnvironmentVariables: must be an array"),
    ],
)
def test_misshapen_secret_lists_are_not_echoed(secrets: object, expected: str) -> None:
    assert errors_of(changed("configuration.secretEnvironmentVariables", secrets)) == [expected]


# ---- whole-document errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "spec: invalid JSON: Expecting value at line 1 column 1"),
        ('{"a" 1}', "spec: invalid JSON: Expecting ':' delimiter at line 1 column 6"),
        ("[1, 2]", "spec: must be a JSON object (got an array)"),
        ('"spec"', 'spec: must be a JSON object (got "spec")'),
        ("null", "spec: must be a JSON object (got null)"),
        ('{"a": NaN}', "spec: invalid JSON: NaN is not valid JSON"),
        ('{"a": -Infinity}', "spec: invalid JSON: -Infinity is not valid JSON"),
        ('{"a": 1e999}', "spec: invalid JSON: number 1e999 is out of range"),
        (
            '{"a": "\\ud800"}',
            "spec: invalid JSON: a string holds a lone surrogate escape (e.g. \\ud800)",
        ),
        ("[" * 4000 + "]" * 4000, "spec: invalid JSON: nested deeper than 16 levels"),
        ("1" * 5000, "spec: invalid JSON: a number has too many digits"),
        (
            b"\xef\xbb\xbf{}",
            "spec: invalid JSON: Unexpected UTF-8 BOM (decode using utf-8-sig) at line 1 column 1",
        ),
        (b'{"a": "\xff"}', "spec: not valid UTF-8 (byte 7)"),
        ('{"a": "\ud800"}', "spec: text is not valid Unicode (lone surrogate)"),
    ],
    ids=short_id,
)
def test_documents_that_are_not_a_json_object_are_refused(text: str | bytes, expected: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(text)
    assert caught.value.errors == [expected]


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    value = '[{"quoted\\"' + "[" * 40 + "{" * 40
    spec = parse_spec(json.dumps(changed("configuration.environmentVariables.0.value", value)))
    assert spec.configuration.environmentVariables[0].value == value


def test_duplicate_keys_are_refused_at_any_depth() -> None:
    text = json.dumps(base_spec())
    top = text.replace('"type": "spot"', '"type": "spot", "type": "demand"')
    deep = text.replace('"replicas": 2', '"replicas": 2, "replicas": 20')
    for doc in (top, deep):
        with pytest.raises(SpecError) as caught:
            parse_spec(doc)
        key = "type" if doc is top else "replicas"
        assert caught.value.errors == [
            f'spec: invalid JSON: duplicate key "{key}" (each key may appear once per object)'
        ]


def test_size_is_bounded_on_the_input_bytes() -> None:
    compact = json.dumps(base_spec(), separators=(",", ":"))
    padded = compact[:-1] + " " * (MAX_SPEC_BYTES - len(compact) + 1) + "}"
    assert len(padded.encode()) == MAX_SPEC_BYTES + 1
    with pytest.raises(SpecError) as caught:
        parse_spec(padded)
    assert caught.value.errors == ["spec: 8193 bytes exceeds the limit of 8192 bytes"]
    parse_spec(padded[:-2] + "}")  # exactly at the limit
    limit = len(compact.encode())
    parse_spec(compact, max_bytes=limit)
    with pytest.raises(SpecError, match=f"exceeds the limit of {limit - 1} bytes"):
        parse_spec(compact, max_bytes=limit - 1)


def test_size_counts_utf8_bytes_not_characters() -> None:
    doc = changed("configuration.environmentVariables.0.value", "é" * 1000)
    text = json.dumps(doc, ensure_ascii=False)
    size = len(text.encode("utf-8"))
    assert size == len(text) + 1000
    with pytest.raises(
        SpecError, match=f"spec: {size} bytes exceeds the limit of {len(text)} bytes"
    ):
        parse_spec(text, max_bytes=len(text))
    parse_spec(text, max_bytes=size)


def test_str_and_bytes_and_any_formatting_give_the_same_spec() -> None:
    doc = base_spec()
    forms = [
        json.dumps(doc),
        json.dumps(doc, indent=4).encode(),
        json.dumps(doc, separators=(",", ":"), sort_keys=True),
        json.dumps(doc, indent="\t", ensure_ascii=False).encode("utf-8"),
    ]
    canon = {canonical_json(parse_spec(form)) for form in forms}
    assert len(canon) == 1


# ---- canonical form and hash -------------------------------------------------------------


def test_canonical_json_is_compact_sorted_and_exact() -> None:
    assert canonical_json(parse_spec(json.dumps(base_spec()))) == (
        '{"clusterName":"web-cluster","configuration":{"args":["-g","daemon off;"],'
        '"commands":["nginx"],"customSpecs":{"cpu":2,"memory":4},'
        '"environmentVariables":[{"key":"MODE","value":"prod"}],"image":"nginx",'
        '"persistentStorage":{"class":"SSD","mountPoint":"/data","size":10},'
        '"ports":[{"containerPort":80,"exposedPort":8080}],"region":"any","replicas":2,'
        '"secretEnvironmentVariables":[{"key":"DB_PASS","value":"${secret:DB_PASSWORD}"}],'
        '"storage":20,"tag":"1.27"},"healthCheckConfig":{"path":"/health","port":80},'
        '"type":"spot"}'
    )


def test_integral_sizes_render_as_integers_and_halves_stay_halves() -> None:
    as_int = changed("configuration.customSpecs", {"cpu": 2, "memory": 0.5})
    as_float = changed("configuration.customSpecs", {"cpu": 2.0, "memory": 0.5})
    canon_int = canonical_json(parse_spec(json.dumps(as_int)))
    canon_float = canonical_json(parse_spec(json.dumps(as_float)))
    assert '"customSpecs":{"cpu":2,"memory":0.5}' in canon_int
    assert canon_int == canon_float
    assert spec_hash(canon_int) == spec_hash(canon_float)


def test_omitted_defaults_and_explicit_empties_hash_the_same() -> None:
    doc = base_spec()
    config = doc["configuration"]
    for key in ("environmentVariables", "secretEnvironmentVariables", "commands", "args"):
        config[key] = []
    config["persistentStorage"] = None
    doc["healthCheckConfig"] = None
    explicit = canonical_json(parse_spec(json.dumps(doc)))
    for key in ("environmentVariables", "secretEnvironmentVariables", "commands", "args"):
        del config[key]
    del config["persistentStorage"], doc["healthCheckConfig"]
    omitted = canonical_json(parse_spec(json.dumps(doc)))
    assert explicit == omitted
    assert "null" not in omitted
    assert "[]" not in omitted


def test_canonical_json_keeps_non_ascii_as_utf8() -> None:
    doc = changed("configuration.environmentVariables.0.value", "café ✓")
    canon = canonical_json(parse_spec(json.dumps(doc)))  # input has \u escapes
    assert '"value":"café ✓"' in canon
    assert spec_hash(canon) == spec_hash(canon.encode("utf-8").decode("utf-8"))


def test_spec_hash_is_keccak256_of_the_utf8_bytes() -> None:
    assert spec_hash("").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )
    assert spec_hash("hello").hex() == (
        "1c8aff950685c2ed4bc3174f3472287b56d9517b9c948127319a09a7a36deac8"
    )
    assert len(spec_hash(canonical_json(parse_spec(json.dumps(base_spec()))))) == 32


def test_a_changed_value_changes_the_hash() -> None:
    one = canonical_json(parse_spec(json.dumps(base_spec())))
    two = canonical_json(parse_spec(json.dumps(changed("configuration.replicas", 3))))
    assert spec_hash(one) != spec_hash(two)


# Hypothesis: random valid specs. Plain keys start with "E", secret keys with "S", so they never
# collide and never end in a secret word.
_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
_size = st.sampled_from([0.5, 1, 2, 4, 8, 16, 32, 1.0, 2.0, 16.0])


@st.composite
def valid_specs(draw: st.DrawFn) -> dict[str, Any]:
    container_ports = draw(st.lists(st.integers(1, 65535), min_size=1, max_size=4, unique=True))
    exposed_ports = draw(
        st.lists(
            st.integers(1, 65535),
            min_size=len(container_ports),
            max_size=len(container_ports),
            unique=True,
        )
    )
    plain_keys = draw(
        st.lists(st.from_regex(r"E[A-Z0-9_]{0,8}", fullmatch=True), unique=True, max_size=4)
    )
    secret_keys = draw(
        st.lists(st.from_regex(r"S[A-Z0-9_]{0,8}", fullmatch=True), unique=True, max_size=3)
    )
    config: dict[str, Any] = {
        "image": draw(
            st.from_regex(r"[a-z0-9]{1,6}(/[a-z0-9]{1,6}(-[a-z0-9]{1,3})?){0,2}", fullmatch=True)
        ),
        "tag": draw(st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}", fullmatch=True)),
        "ports": [
            {"containerPort": c, "exposedPort": e}
            for c, e in zip(container_ports, exposed_ports, strict=True)
        ],
        "region": draw(st.sampled_from(["any", "us-east", "eu-west-1"])),
        "storage": draw(st.integers(1, 1024)),
        "replicas": draw(st.integers(1, 20)),
    }
    if plain_keys or draw(st.booleans()):
        config["environmentVariables"] = [{"key": k, "value": draw(_text)} for k in plain_keys]
    if secret_keys or draw(st.booleans()):
        config["secretEnvironmentVariables"] = [
            {
                "key": k,
                "value": "${secret:"
                + draw(st.from_regex(r"[A-Z][A-Z0-9_]{0,6}", fullmatch=True))
                + "}",
            }
            for k in secret_keys
        ]
    for key in ("commands", "args"):
        if draw(st.booleans()):
            config[key] = draw(st.lists(_text, max_size=3))
    if draw(st.booleans()):
        config["machineImageId"] = draw(st.from_regex(r"[a-f0-9]{24}", fullmatch=True))
    else:
        config["customSpecs"] = {"cpu": draw(_size), "memory": draw(_size)}
    if draw(st.booleans()):
        config["persistentStorage"] = {
            "size": draw(st.integers(1, 1024)),
            "class": draw(st.sampled_from(["HDD", "SSD", "NVMe"])),
            "mountPoint": draw(st.from_regex(r"(/[a-z0-9_.-]{0,5}[a-z0-9]){1,3}", fullmatch=True)),
        }
    doc: dict[str, Any] = {
        "clusterName": draw(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)),
        "type": draw(st.sampled_from(["spot", "demand"])),
        "configuration": config,
    }
    if draw(st.booleans()):
        doc["healthCheckConfig"] = {
            "path": draw(st.from_regex(r"/[a-z0-9/_.-]{0,10}", fullmatch=True)),
            "port": draw(st.sampled_from(container_ports)),
        }
    return doc


def _reorder(value: Any) -> Any:
    """The same JSON value with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {key: _reorder(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reorder(item) for item in value]
    return value


@settings(max_examples=150, deadline=None)
@given(doc=valid_specs(), indent=st.sampled_from([None, 1, 4, "\t"]), ascii_only=st.booleans())
def test_canonical_form_is_a_fixed_point_whatever_the_input_layout(
    doc: dict[str, Any], indent: int | str | None, ascii_only: bool
) -> None:
    first = canonical_json(parse_spec(json.dumps(doc), max_bytes=1 << 20))
    again = canonical_json(parse_spec(first, max_bytes=1 << 20))
    assert again == first
    relaid = json.dumps(_reorder(doc), indent=indent, ensure_ascii=ascii_only)
    relaid_canon = canonical_json(parse_spec(relaid.encode("utf-8"), max_bytes=1 << 20))
    assert relaid_canon == first
    assert spec_hash(relaid_canon) == spec_hash(first)
    compact = json.dumps(
        json.loads(first), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert first == compact


# ---- Python construction -----------------------------------------------------------------


def test_models_are_frozen_and_take_class_by_its_python_name() -> None:
    storage = PersistentStorage(size=5, class_="HDD", mountPoint="/srv")
    assert storage.model_dump() == {"size": 5, "class": "HDD", "mountPoint": "/srv"}
    with pytest.raises(ValidationError):
        storage.size = 6  # type: ignore[misc]
    config = Configuration(
        image="nginx",
        tag="1",
        ports=[Port(containerPort=80, exposedPort=80)],
        region="any",
        storage=1,
        customSpecs=CustomSpecs(cpu=1, memory=1),
        replicas=1,
        persistentStorage=storage,
    )
    spec = InstanceSpec(clusterName="x", type="demand", configuration=config)
    assert parse_spec(canonical_json(spec)) == spec


def test_python_construction_enforces_the_same_rules() -> None:
    with pytest.raises(ValidationError):
        CustomSpecs(cpu=3, memory=1)
    with pytest.raises(ValidationError):
        Port(containerPort="80", exposedPort=80)  # type: ignore[arg-type]


# ---- secrets -----------------------------------------------------------------------------


def _with_secrets(*pairs: tuple[str, str]) -> InstanceSpec:
    doc = base_spec()
    doc["configuration"]["secretEnvironmentVariables"] = [
        {"key": key, "value": "${secret:" + name + "}"} for key, name in pairs
    ]
    return parse_spec(json.dumps(doc))


def test_secret_names_are_listed_once_in_order_of_first_use() -> None:
    spec = _with_secrets(("PGPASSWORD", "DB_PASSWORD"), ("API", "STRIPE"), ("DUP", "DB_PASSWORD"))
    assert secret_names(spec) == ["DB_PASSWORD", "STRIPE"]
    assert secret_names(_with_secrets()) == []


def test_resolve_secrets_reads_dao_secret_variables() -> None:
    spec = _with_secrets(("PGPASSWORD", "DB_PASSWORD"), ("DUP", "DB_PASSWORD"), ("API", "STRIPE"))
    environ = {"DAO_SECRET_DB_PASSWORD": "s3cr3t=x=y", "DAO_SECRET_STRIPE": "sk_live", "OTHER": "z"}
    assert resolve_secrets(spec, environ) == {
        "PGPASSWORD": "s3cr3t=x=y",
        "DUP": "s3cr3t=x=y",
        "API": "sk_live",
    }


def test_missing_secrets_are_all_named_and_no_value_is_shown() -> None:
    spec = _with_secrets(("A", "ONE"), ("B", "TWO"), ("C", "THREE"), ("D", "ONE"))
    environ = {"DAO_SECRET_TWO": "present-value", "DAO_SECRET_THREE": ""}
    with pytest.raises(MissingSecretError) as caught:
        resolve_secrets(spec, environ)
    assert caught.value.missing == ["DAO_SECRET_ONE", "DAO_SECRET_THREE"]
    message = str(caught.value)
    assert "DAO_SECRET_ONE, DAO_SECRET_THREE" in message
    assert "present-value" not in message
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("PASSWORD", True),
        ("db_password", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("JWT_SECRET", True),
        ("GITHUB_ACCESS_TOKEN", True),
        ("WALLET_MNEMONIC", True),
        ("PASSWORD_FILE", False),
        ("SECRETARY", False),
        ("DBPASSWORD", False),
        ("MARIADB_RANDOM_ROOT_PASSWORD", False),
        ("PUBLIC_KEY", False),
    ],
)
def test_secret_key_detection_is_conservative(key: str, secret: bool) -> None:
    assert names_a_secret(key) is secret


# ---- summary -----------------------------------------------------------------------------


def test_summary_of_custom_specs_machine_image_and_persistent_storage() -> None:
    doc = changed("configuration.persistentStorage", DELETE)
    assert spec_summary(parse_spec(json.dumps(doc))) == (
        "web-cluster: nginx:1.27 \u00d72, 2 CPU / 4 GiB, 20 GB, region any"
    )
    doc = changed("configuration.customSpecs", DELETE)
    doc["configuration"]["machineImageId"] = "m-large"
    doc["configuration"]["persistentStorage"]["class"] = "NVMe"
    assert spec_summary(parse_spec(json.dumps(doc))) == (
        "web-cluster: nginx:1.27 \u00d72, machine m-large, 20 GB + 10 GB NVMe at /data, region any"
    )
    half = changed("configuration.customSpecs", {"cpu": 0.5, "memory": 1.0})
    assert "0.5 CPU / 1 GiB" in spec_summary(parse_spec(json.dumps(half)))


def test_the_missing_secret_message_tells_the_operator_what_to_set() -> None:
    assert str(MissingSecretError(["DAO_SECRET_ONE", "DAO_SECRET_TWO"])) == (
        "missing secret environment variable(s) for the bot: DAO_SECRET_ONE, DAO_SECRET_TWO "
        "(set each to the secret's value; the spec only holds ${secret:NAME} references)"
    )


def test_a_spec_built_without_validation_cannot_smuggle_a_literal_secret() -> None:
    valid = _with_secrets(("PGPASSWORD", "DB_PASSWORD"))
    literal = SecretEnvVar.model_construct(key="PGPASSWORD", value="hunter2")
    configuration = valid.configuration.model_copy(update={"secretEnvironmentVariables": [literal]})
    spec = valid.model_copy(update={"configuration": configuration})
    with pytest.raises(
        ValueError, match=r"^PGPASSWORD: value is not a \$\{secret:NAME\} reference$"
    ):
        resolve_secrets(spec, {"DAO_SECRET_DB_PASSWORD": "x"})


def test_an_overflowing_number_is_quoted_up_to_40_characters() -> None:
    number = "1" + "0" * 400 + ".0"
    with pytest.raises(SpecError) as caught:
        parse_spec('{"a": ' + number + "}")
    assert caught.value.errors == [f"spec: invalid JSON: number {number[:40]} is out of range"]


def test_integers_are_quoted_below_10_to_the_30_and_named_from_there() -> None:
    assert errors_of(changed("configuration.storage", 10**30 - 1)) == [
        f"configuration.storage: must be at most 1024 (got {10**30 - 1})"
    ]
    assert errors_of(changed("configuration.storage", 10**30)) == [
        "configuration.storage: must be at most 1024 (got a very large integer)"
    ]


def test_an_error_of_the_whole_document_is_placed_at_spec() -> None:
    with pytest.raises(ValidationError) as caught:
        InstanceSpec.model_validate([base_spec()])
    assert format_errors(caught.value) == ["spec: must be an object (got an array)"]


def test_an_error_without_a_message_of_its_own_is_pydantics_in_lower_case() -> None:
    """A lone surrogate never comes from JSON (load_document refuses the escape), but a spec
    validated from Python data may hold one: pydantic refuses it in its own words."""
    doc = base_spec()
    doc["clusterName"] = "web\ud800"
    with pytest.raises(ValidationError) as caught:
        InstanceSpec.model_validate(doc, by_alias=True, by_name=False)
    assert format_errors(caught.value) == [
        "clusterName: input should be a valid string, unable to parse raw data as a unicode string"
    ]


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ('{"a": ' + '{"b": ' * 16 + "1" + "}" * 17, True),  # 17 levels of objects
        ('{"k": "v", "deep": ' + "[" * 16 + "]" * 16 + "}", True),  # after a string
        ('{"k": "x\\\\y", "deep": ' + "[" * 16 + "]" * 16 + "}", True),  # after an escape
        ('{"a": "\\"' + "[" * 20 + '"}', False),  # an escaped quote does not end the string
        ('{"a": ' + "[" * 15 + "]" * 15 + ', "b": [], "c": []}', False),  # 16 levels
        ('{"a": ' + "[" * 10 + "]" + "[" * 7 + "]" * 16 + "}", True),  # 17 after a close
    ],
    ids=["objects", "after-a-string", "after-an-escape", "escaped-quote", "sixteen", "reopened"],
)
def test_nesting_is_counted_outside_strings_up_to_16_levels(text: str, refused: bool) -> None:
    if refused:
        with pytest.raises(SpecError) as caught:
            load_document(text, max_bytes=MAX_SPEC_BYTES)
        assert caught.value.errors == ["spec: invalid JSON: nested deeper than 16 levels"]
    else:
        assert isinstance(load_document(text, max_bytes=MAX_SPEC_BYTES), dict)


def test_a_canonical_form_over_the_limit_is_refused_with_both_sizes() -> None:
    check_canonical_size("é" * 5, 10)
    with pytest.raises(SpecError) as caught:
        check_canonical_size("é" * 5 + "x", 10)
    assert caught.value.errors == ["spec: canonical form is 11 bytes, over the limit of 10 bytes"]
