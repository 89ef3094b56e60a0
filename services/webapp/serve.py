"""Serve until Ctrl-C or SIGTERM, then stop cleanly (``ape run app``, ``make demo KEEP=1``)."""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable

from services.common.http_server import BackgroundHTTPServer


def free_local_port() -> int:
    """A port on 127.0.0.1 that is free now (for servers whose URL must be known in advance)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_until_stopped(
    server: BackgroundHTTPServer, *, alive: Callable[[], bool] = lambda: True
) -> None:
    """Block until SIGINT or SIGTERM (or until ``alive()`` turns false), then stop ``server``.

    The previous signal handlers are restored afterwards.
    """
    stop = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda _signum, _frame: stop.set())
    try:
        while alive() and not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()
