"""The emulator's command line: `python -m testbed.emulators.spheron --port 8080 --token T`."""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence
from dataclasses import fields
from types import FrameType

from testbed.emulators.spheron.constants import BANNER
from testbed.emulators.spheron.emulator import SpheronEmulator
from testbed.emulators.spheron.faults import FaultPlan


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m testbed.emulators.spheron",
        description="Local emulator of the Spheron Compute API (not Spheron).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", required=True, help="the bearer token clients must present")
    parser.add_argument("--queued-s", type=float, default=0.2)
    parser.add_argument("--pending-s", type=float, default=0.3)
    parser.add_argument("--org-name", default="Emulated Organisation")
    parser.add_argument(
        "--fail-image",
        action="append",
        default=[],
        help="an image (name or name:tag) whose deployments end Failed; repeatable",
    )
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    faults = parser.add_argument_group("fault injection (API requests only)")
    for spec in fields(FaultPlan):
        kind: type = float
        if spec.name.endswith(("_next", "_status")) or spec.name == "seed":
            kind = int
        elif spec.name in ("path", "paging"):
            kind = str
        faults.add_argument(
            f"--{spec.name.replace('_', '-')}", type=kind, default=spec.default, dest=spec.name
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        plan = FaultPlan(**{spec.name: getattr(args, spec.name) for spec in fields(FaultPlan)})
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    emulator = SpheronEmulator(
        args.host,
        args.port,
        args.token,
        queued_s=args.queued_s,
        pending_s=args.pending_s,
        org_name=args.org_name,
        fail_images=args.fail_image,
        faults=plan,
        verbose=args.verbose,
    )
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    with emulator:
        print(BANNER.format(url=emulator.url), flush=True)
        stop.wait()
    return 0
