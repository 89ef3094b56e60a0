"""`python -m bench.run` (`make bench`): gas, backfill, latency, web app and replica figures.

Writes `bench/results.json` (flat metric keys, plus `machine`, `date`, `targets` and, if a section
failed, `errors`) and prints a table with each target met or missed, then the gas beside
OpenZeppelin Governor. Targets are reported, never enforced: the exit code is non-zero only when a
benchmark could not run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.backfill import measure_backfill
from bench.gas import measure_gas
from bench.ha import measure_ha
from bench.latency import measure_latency
from bench.machine import machine_info, now_utc
from bench.report import evaluate, format_peer_table, format_table, target_summary
from bench.webapp import measure_webapp
from testbed.anvil import Anvil

DEFAULT_OUT = Path(__file__).resolve().parent / "results.json"


def _gas() -> dict[str, Any]:
    with Anvil() as node:
        return measure_gas(node.url)


def run(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, str]]:
    """Run every section; a failing section is recorded in the returned errors, the rest still
    run."""
    results: dict[str, Any] = {"date": now_utc(), "machine": machine_info()}
    errors: dict[str, str] = {}
    sections: tuple[tuple[str, Callable[[], dict[str, Any]]], ...] = (
        ("gas", _gas),
        ("backfill", lambda: measure_backfill(args.events, seed=args.seed)),
        (
            "latency",
            lambda: measure_latency(args.proposals, args.poll_interval, seed=args.seed),
        ),
        ("webapp", lambda: measure_webapp(args.render_proposals)),
        ("ha", lambda: measure_ha(trials=args.failover_trials)),
    )
    for name, section in sections:
        print(f"bench: {name} ...", flush=True)
        started = time.monotonic()
        try:
            results.update(section())
        except Exception as error:  # report it, keep the other figures
            errors[name] = f"{type(error).__name__}: {error}"
            print(f"bench: {name} failed: {errors[name]}", file=sys.stderr, flush=True)
        else:
            print(f"bench: {name} done in {time.monotonic() - started:.1f} s", flush=True)
    results["targets"] = target_summary(results)
    if errors:
        results["errors"] = errors
    return results, errors


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results file")
    parser.add_argument("--events", type=int, default=10_000, help="DeployEvents to backfill")
    parser.add_argument("--proposals", type=int, default=10, help="latency samples")
    parser.add_argument("--poll-interval", type=float, default=1.0, help="watcher poll (s)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--render-proposals", type=int, default=100, help="proposals the web app renders"
    )
    parser.add_argument("--failover-trials", type=int, default=5, help="leaders killed")
    args = parser.parse_args(argv)
    try:
        results, errors = run(args)
    except (KeyboardInterrupt, SystemExit):
        # Importing Ape turns SIGINT into SystemExit(130); either way the `with` blocks have
        # stopped every process and server the benchmarks started.
        print("bench: interrupted; the processes it started are stopped", file=sys.stderr)
        return 130
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print()
    print(format_table(evaluate(results)))
    print()
    print(format_peer_table(results))
    print(f"\nmachine: {results['machine']}  date: {results['date']}")
    print(f"written to {args.out}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
