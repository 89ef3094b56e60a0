"""``python -m services.webapp.build_data OUT_DIR``: the data the web app's build takes from Python.

- ``spec-rules.json``: the JSON Schema of :class:`services.spec.InstanceSpec` (its rules, with the
  message of each, see :mod:`services.spec.schema_rules`) and the limits applied outside the schema.
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

from services.cli.error_catalogue import catalogue
from services.spec.model import MAX_JSON_DEPTH, MAX_SPEC_BYTES, SECRET_ENV_PREFIX, InstanceSpec

SPEC_RULES_FILE = "spec-rules.json"
REVERT_MESSAGES_FILE = "revert-messages.json"


def spec_rules() -> dict[str, Any]:
    """The spec's JSON Schema plus the limits checked on the text before the schema applies."""
    return {
        "schema": InstanceSpec.model_json_schema(by_alias=True, mode="validation"),
        "limits": {
            "maxSpecBytes": MAX_SPEC_BYTES,
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
