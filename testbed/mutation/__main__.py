"""`python -m testbed.mutation run|report` (what `make mutation` runs).

    run [--max-children N] [MUTANT ...]   mutmut run, with statement deletion added (after
                                          checking that test ids are stable: preflight.py)
    report [--stubs]                      per-module figures; --stubs: equivalents.toml entries
                                          for the survivors, to be judged

Run from the project folder (mutmut reads `[tool.mutmut]` in `pyproject.toml` and works in
`mutants/`). After a run, `.venv/bin/mutmut show MUTANT` shows one mutant and
`.venv/bin/mutmut browse` all of them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from testbed.mutation.deletion import add_statement_deletion
from testbed.mutation.preflight import collect_twice, unstable_test_ids
from testbed.mutation.report import build_report, load_judgements, render, stubs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testbed.mutation")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run mutmut over the bot core")
    run.add_argument("--max-children", type=int, default=2, help="mutants tested at once")
    run.add_argument("mutants", nargs="*", help="mutant names or patterns (default: all)")
    report = commands.add_parser("report", help="per-module figures of the last run")
    report.add_argument("--stubs", action="store_true", help="print entries for the survivors")
    commands.add_parser("collect-twice", help="(for run) test ids of two collections, as JSON")
    args = parser.parse_args(argv)

    if args.command == "collect-twice":
        print(json.dumps(collect_twice()))
        return 0
    if args.command == "run":
        from mutmut.__main__ import cli

        unstable = unstable_test_ids()
        if unstable:
            print("test ids that change between collections (see testbed/mutation/preflight.py):")
            print("\n".join(f"  {test}" for test in unstable))
            return 1
        add_statement_deletion()
        options = ["run", "--max-children", str(args.max_children), *args.mutants]
        started = time.monotonic()
        cli.main(options, prog_name="mutmut", standalone_mode=False)
        print(f"mutation run: {(time.monotonic() - started) / 60:.1f} min")
        return 0
    result = build_report(load_judgements())
    if args.stubs:
        print(stubs(item for module in result.modules for item in module.survivors))
    else:
        print(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
