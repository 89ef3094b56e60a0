"""``python -m services.webapp.build_data OUT_DIR``: the data the web app's build takes from Python.

- ``spec-rules.json``: the JSON Schemas of what a proposal carries, a deployment
  (:class:`services.spec.InstanceSpec`) and the update and close envelopes of
  :mod:`services.spec.proposal` (their rules, with the message of each, see
  :mod:`services.spec.schema_rules`), as ``$defs`` of one schema with a ``$ref`` to each under
  ``models``, and the limits applied outside the schemas.
- ``revert-messages.json``: :func:`services.cli.error_catalogue.catalogue`, the words of every
  revert.

``webapp/build.mjs`` turns the schema into a standalone ajv validator and bundles both into the app,
so the browser refuses the same specs with the same words as the scripts and the bot.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from services.cli.error_catalogue import catalogue
from services.spec.model import (
    MAX_DAO_SPEC_BYTES,
    MAX_JSON_DEPTH,
    MAX_SPEC_BYTES,
    SECRET_ENV_PREFIX,
    InstanceSpec,
)
from services.spec.proposal import CloseProposal, UpdateProposal

SPEC_RULES_FILE = "spec-rules.json"
REVERT_MESSAGES_FILE = "revert-messages.json"
EXACT_BOUND_KEYWORDS = {"maximum": "x-exact-maximum", "minimum": "x-exact-minimum"}
"""JavaScript reads every JSON number as a double: a bound it cannot hold exactly (a proposal id
goes up to 2**256 - 1) also travels as text under these keywords, for an exact comparison."""
_LARGEST_EXACT_DOUBLE_INTEGER = 2**53


def _add_exact_bounds(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _add_exact_bounds(item)
    elif isinstance(node, dict):
        for keyword, exact in EXACT_BOUND_KEYWORDS.items():
            bound = node.get(keyword)
            if isinstance(bound, int) and abs(bound) > _LARGEST_EXACT_DOUBLE_INTEGER:
                node[exact] = str(bound)
        for value in list(node.values()):
            _add_exact_bounds(value)


PROPOSAL_MODELS: dict[str, type[Any]] = {
    "spec": InstanceSpec,
    "update": UpdateProposal,
    "close": CloseProposal,
}
"""What a proposal may carry, by the name the web app's validator module exports for each."""


def spec_rules() -> dict[str, Any]:
    """The JSON Schemas of a deployment (a bare spec) and of the update and close envelopes, as
    one schema whose ``$defs`` they share (so the build compiles each shared part once), plus the
    limits checked on the text before a schema applies."""
    refs, schema = models_json_schema(
        [(model, "validation") for model in PROPOSAL_MODELS.values()], by_alias=True
    )
    _add_exact_bounds(schema)
    return {
        "schema": schema,
        "models": {
            name: refs[(model, "validation")]["$ref"] for name, model in PROPOSAL_MODELS.items()
        },
        "limits": {
            "maxSpecBytes": MAX_SPEC_BYTES,
            "maxDaoSpecBytes": MAX_DAO_SPEC_BYTES,
            "maxJsonDepth": MAX_JSON_DEPTH,
            "secretEnvPrefix": SECRET_ENV_PREFIX,
        },
    }


def write_build_data(out_dir: Path) -> list[Path]:
    """Write both files into ``out_dir`` (created if needed); only files whose content changed
    are rewritten, so ``make`` does not rebuild the app for nothing."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in ((SPEC_RULES_FILE, spec_rules()), (REVERT_MESSAGES_FILE, catalogue())):
        path = out_dir / name
        text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.webapp.build_data")
    parser.add_argument("out_dir", type=Path, help="folder for the generated JSON files")
    args = parser.parse_args(argv)
    for path in write_build_data(args.out_dir):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
