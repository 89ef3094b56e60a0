"""Field rules that pydantic enforces *and* writes into the model's JSON Schema.

The members' web app validates a spec in the browser with ajv against the JSON Schema exported from
:class:`services.spec.model.InstanceSpec`. Rules that pydantic checks in Python code (an
``AfterValidator``) are invisible to that schema, so each rule is data instead: a regular
expression or a set of choices plus the message to show. :class:`TextRules` and
:class:`NumberChoice` check a value here with that data and put the same data in the schema:

- every rule becomes one entry of the node's ``allOf``, in order: ``{"pattern": ...}`` for a value
  that must match, ``{"not": {"pattern": ...}}`` for one that must not, ``{"enum": [...]}`` for
  choices; each entry carries its message as ``"x-error"``;
- the first rule a value breaks is the one reported, on both sides.

Patterns use only syntax that Python's ``re`` and ECMAScript (ajv compiles with the ``u`` flag) read
the same way: no ``.`` (it differs on line terminators; use ``[\\d\\D]`` for "anything"), no
``\\s``/``\\w``, no inline flags, no named groups, no ``$`` (``fullmatch`` here, ``^(?:...)$``
there). In a message, ``{value}`` stands for the offending value (quoted if a string) and ``{1}``,
``{2}``… for the pattern's groups (quoted).

A model's rules on itself as a whole (:class:`ObjectRules`) are data too, entries of the object's
``allOf`` with ``"x-when"``: ``"before"`` rules are checked on the raw object first, and when one is
broken it is the only problem reported for the object and everything in it; ``"after"`` rules are
checked only once every field of the object is valid, and the first broken one is reported at the
object's path. In their messages ``{keys}`` stands for the offending keys, joined by ``, ``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from services.common.formatting import format_number

RULE_ERROR = "spec_rule"
"""Pydantic error type of a broken rule; the message travels in the context."""

ERROR_KEYWORD = "x-error"
"""JSON Schema keyword carrying a rule's message (an annotation ajv is told to accept)."""

WHEN_KEYWORD = "x-when"
"""JSON Schema keyword saying when an object rule is checked: ``"before"`` or ``"after"`` the
object's fields (an annotation, like ``x-error``)."""

_PLACEHOLDER_RE = re.compile(r"\{(value|[1-9])\}")


def rule_error(message: str) -> PydanticCustomError:
    # The message travels in the context so braces in it (``${secret:NAME}``) are not a template.
    return PydanticCustomError(RULE_ERROR, "{message}", {"message": message})


def quote(text: str, limit: int = 60) -> str:
    """A string as it appears in a message: JSON-quoted, cut after ``limit`` characters."""
    if len(text) > limit:
        text = text[:limit] + "…"
    return json.dumps(text, ensure_ascii=False)


def fill(message: str, value: str, groups: Sequence[str | None] = ()) -> str:
    """``message`` with ``{value}`` and ``{1}``, ``{2}``… replaced by quoted texts."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "value":
            return value
        index = int(name) - 1
        group = groups[index] if index < len(groups) else None
        return quote(group or "")

    return _PLACEHOLDER_RE.sub(replace, message)


@dataclass(frozen=True)
class Pattern:
    """The value must match ``regex`` entirely (or, with ``refuse``, must not)."""

    regex: str
    message: str
    refuse: bool = False

    def broken_by(self, value: str) -> re.Match[str] | bool:
        """False when ``value`` keeps the rule; else the match (refuse) or True."""
        match = re.fullmatch(self.regex, value)
        if self.refuse:
            return match if match is not None else False
        return match is None

    def json_schema(self) -> dict[str, Any]:
        anchored = {"pattern": f"^(?:{self.regex})$"}
        rule: dict[str, Any] = {"not": anchored} if self.refuse else dict(anchored)
        rule[ERROR_KEYWORD] = self.message
        return rule


class _SchemaRule:
    """An ``Annotated`` marker: ``check`` runs after pydantic's own validation of the field, and
    ``json_rules`` are appended to the field's ``allOf`` in the JSON Schema."""

    def check(self, value: Any) -> Any:
        raise NotImplementedError

    def json_rules(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("allOf", []).extend(self.json_rules())
        return json_schema


class TextRules(_SchemaRule):
    """``Annotated[str, ..., TextRules(Pattern(...), ...)]``: check the patterns in order."""

    def __init__(self, *patterns: Pattern) -> None:
        self.patterns = patterns

    def check(self, value: str) -> str:
        for pattern in self.patterns:
            broken = pattern.broken_by(value)
            if broken is not False:
                groups = broken.groups() if isinstance(broken, re.Match) else ()
                raise rule_error(fill(pattern.message, quote(value), groups))
        return value

    def json_rules(self) -> list[dict[str, Any]]:
        return [pattern.json_schema() for pattern in self.patterns]


class NumberChoice(_SchemaRule):
    """``Annotated[float, NumberChoice((0.5, 1, 2), "{value} is not one of ...")]``."""

    def __init__(self, choices: Sequence[float], message: str) -> None:
        self.choices = tuple(choices)
        self.message = message

    def check(self, value: float) -> float:
        if value not in self.choices:
            raise rule_error(fill(self.message, format_number(value)))
        return value

    def json_rules(self) -> list[dict[str, Any]]:
        return [{"enum": list(self.choices), ERROR_KEYWORD: self.message}]


# ---------------------------------------------------------------------------------------------
# Rules on an object as a whole
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeysRefused:
    """Checked before the fields: none of ``names`` may be given (``{keys}``: those given, in the
    order of ``names``)."""

    names: tuple[str, ...]
    message: str
    when = "before"

    def broken_by(self, data: dict[str, Any]) -> str | None:
        given = [name for name in self.names if name in data]
        return self.message.replace("{keys}", ", ".join(given)) if given else None

    def json_schema(self) -> dict[str, Any]:
        return {"not": {"anyOf": [{"required": [name]} for name in self.names]}}


@dataclass(frozen=True)
class NullsRefused:
    """Checked before the fields: none of ``names`` is given as ``null`` (``{keys}``: those that
    are, in the order of ``names``)."""

    names: tuple[str, ...]
    message: str
    when = "before"

    def broken_by(self, data: dict[str, Any]) -> str | None:
        given = [name for name in self.names if name in data and data[name] is None]
        return self.message.replace("{keys}", ", ".join(given)) if given else None

    def json_schema(self) -> dict[str, Any]:
        null = {"type": "null"}
        return {
            "not": {
                "anyOf": [{"required": [name], "properties": {name: null}} for name in self.names]
            }
        }


@dataclass(frozen=True)
class SomethingGiven:
    """Checked after the fields: at least one field is given (``null`` counts: it is given)."""

    message: str
    when = "after"

    def broken_by(self, given: set[str], values: dict[str, Any]) -> str | None:
        return None if given else self.message

    def json_schema(self) -> dict[str, Any]:
        return {"minProperties": 1}


@dataclass(frozen=True)
class NotBoth:
    """Checked after the fields: ``first`` and ``second`` are not both given with a value."""

    first: str
    second: str
    message: str
    when = "after"

    def broken_by(self, given: set[str], values: dict[str, Any]) -> str | None:
        both = values.get(self.first) is not None and values.get(self.second) is not None
        return self.message if both else None

    def json_schema(self) -> dict[str, Any]:
        not_null = {"not": {"type": "null"}}
        names = [self.first, self.second]
        return {"not": {"required": names, "properties": dict.fromkeys(names, not_null)}}


BeforeRule = KeysRefused | NullsRefused
ObjectRule = BeforeRule | SomethingGiven | NotBoth


class ObjectRules:
    """A model's rules on itself, in order. Its validators call :meth:`check_before` (mode
    "before") and :meth:`check_after` (mode "after"); ``model_config``'s ``json_schema_extra``
    set to :meth:`write_schema` puts the same rules in its JSON Schema."""

    def __init__(self, *rules: ObjectRule) -> None:
        self.rules = rules

    def check_before(self, data: Any) -> None:
        if isinstance(data, dict):
            for rule in self.rules:
                if isinstance(rule, BeforeRule) and (message := rule.broken_by(data)):
                    raise rule_error(message)

    def check_after(self, given: set[str], values: dict[str, Any]) -> None:
        for rule in self.rules:
            if not isinstance(rule, BeforeRule) and (message := rule.broken_by(given, values)):
                raise rule_error(message)

    def write_schema(self, schema: dict[str, Any], model: Any = None) -> None:
        entries = schema.setdefault("allOf", [])
        for rule in self.rules:
            entries.append(
                rule.json_schema() | {ERROR_KEYWORD: rule.message, WHEN_KEYWORD: rule.when}
            )
