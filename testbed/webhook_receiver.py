"""A local webhook receiver: what the bot's notifications reach in tests and in `make demo`.

It accepts `POST` with a JSON body on any path, keeps every body it accepted (per path, in
order), and can refuse on purpose (`fail_with`), as a dead or rate-limiting sink would:

    with WebhookReceiver() as receiver:
        url = receiver.url_for("slack")       # http://127.0.0.1:PORT/slack
        ...
        receiver.received("slack")            # the bodies, oldest first

`python -m testbed.webhook_receiver --port 8099` prints each notification as it arrives.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler
from typing import Any

from services.common.http_server import BackgroundHTTPServer, JsonRequestHandler, bind_handler


class WebhookReceiver(BackgroundHTTPServer):
    """Loopback webhook sink that records what it accepts."""

    thread_name = "webhook-receiver"
    service_name = "the webhook receiver"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, echo: bool = False) -> None:
        super().__init__(host, port)
        self.echo = echo
        self._lock = threading.Lock()
        self._bodies: dict[str, list[Any]] = {}
        self._attempts: dict[str, int] = {}
        self._failing: dict[str, tuple[int, int | None, float | None]] = {}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return bind_handler(_Handler, receiver=self)

    def url_for(self, name: str) -> str:
        return f"{self.url}/{name}"

    def fail_with(
        self,
        name: str,
        status: int,
        *,
        times: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        """Answer `status` to the next `times` posts to `name` (None: until told otherwise)."""
        with self._lock:
            self._failing[name] = (status, times, retry_after_s)

    def heal(self, name: str) -> None:
        with self._lock:
            self._failing.pop(name, None)

    def received(self, name: str) -> list[Any]:
        with self._lock:
            return list(self._bodies.get(name, []))

    def attempts(self, name: str) -> int:
        """Every post to `name`, accepted or refused."""
        with self._lock:
            return self._attempts.get(name, 0)

    def _accept(self, name: str, body: Any) -> tuple[int, float | None]:
        with self._lock:
            self._attempts[name] = self._attempts.get(name, 0) + 1
            failing = self._failing.get(name)
            if failing is not None:
                status, times, retry_after = failing
                if times is not None:
                    if times <= 1:
                        del self._failing[name]
                    else:
                        self._failing[name] = (status, times - 1, retry_after)
                return status, retry_after
            self._bodies.setdefault(name, []).append(body)
        if self.echo:
            text = body.get("text") or body.get("content") or body.get("summary") or body
            print(f"webhook /{name}: {text}", flush=True)
        return 200, None


class _Handler(JsonRequestHandler):
    receiver: WebhookReceiver

    def do_POST(self) -> None:
        raw = self.read_body()
        name = self.path.strip("/").split("?")[0]
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            self.send_json(400, {"error": "not JSON"})
            return
        status, retry_after = self.receiver._accept(name, body)
        self.send_response(status)
        if retry_after is not None:
            self.send_header("Retry-After", f"{retry_after:g}")
        self.send_header("Content-Length", "0")
        self.end_headers()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m testbed.webhook_receiver", description="Print webhook notifications."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with WebhookReceiver(args.host, args.port, echo=True) as receiver:
        print(f"webhook receiver at {receiver.url}/<name>", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
