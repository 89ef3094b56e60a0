"""Plumbing shared by the small HTTP servers of this package (the status server, the emulators).

`BackgroundHTTPServer` owns a stdlib `ThreadingHTTPServer` bound on ``host:port`` (port 0 picks a
free port) and serving from a daemon thread: `start()`, `stop()`, `url` and use as a context
manager. A subclass says how to answer by returning a handler class from `_handler_class()`;
`bind_handler` makes one that carries the objects its requests need as class attributes.

`JsonRequestHandler` is the handler base: `send_json` / `send_body` write a complete answer,
`read_body` reads a bounded request body, and request logging is off (request lines can carry
API keys).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, TypeVar

#: Default `Content-Type` of `JsonRequestHandler.send_json`.
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
#: Largest request body `JsonRequestHandler.read_body` accepts by default.
MAX_BODY_BYTES = 1_000_000

_Self = TypeVar("_Self", bound="BackgroundHTTPServer")
_Handler = TypeVar("_Handler", bound=BaseHTTPRequestHandler)


def bind_handler(handler: type[_Handler], **attributes: object) -> type[_Handler]:
    """A subclass of `handler` with `attributes` as class attributes.

    A handler is instantiated per request by the stdlib server, so this is how it reaches the
    object that started the server (and whatever else that object opened for it).
    """
    return type(handler.__name__, (handler,), dict(attributes))


class JsonRequestHandler(BaseHTTPRequestHandler):
    """A request handler with JSON answers, bounded body reads and no request logging."""

    #: `Content-Type` that `send_json` writes.
    json_content_type: ClassVar[str] = JSON_CONTENT_TYPE
    #: Headers written with every answer, after `Content-Type` and `Content-Length`.
    extra_headers: ClassVar[Mapping[str, str]] = {}

    def send_body(self, status: int, payload: bytes, content_type: str) -> None:
        """Write a complete answer: status line, headers and `payload`."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def send_json(self, status: int, body: object) -> None:
        """Write `body` as a JSON answer."""
        self.send_body(status, json.dumps(body).encode(), self.json_content_type)

    def read_body(self, max_bytes: int = MAX_BODY_BYTES) -> bytes | None:
        """The request body, or None if `Content-Length` is malformed or above `max_bytes`."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if length < 0 or length > max_bytes:
            return None
        return self.rfile.read(length) if length else b""

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines can carry API keys, and tests want a quiet stderr."""


class BackgroundHTTPServer:
    """A `ThreadingHTTPServer` on ``host:port`` serving from a daemon thread until `stop()`.

    Subclasses implement `_handler_class()`, may set the class attributes below, and may
    override `_release()` to free what `_handler_class()` acquired. `_stopping` is set while the
    server stops, so handlers that wait (e.g. injected delays) can wait on it and wake up.
    """

    #: Name of the serving thread.
    thread_name: ClassVar[str] = "http-server"
    #: How error messages name this server, e.g. "the emulator".
    service_name: ClassVar[str] = "the server"
    #: How often `serve_forever` checks for `shutdown()`; small, so `stop()` returns promptly.
    poll_interval_s: ClassVar[float] = 0.05
    #: False: `stop()` joins every handler thread, so a stopped server leaves no thread behind.
    #: True: handler threads are daemons and `stop()` does not wait for them.
    daemon_handler_threads: ClassVar[bool] = False

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        """The handler that answers this server's requests (called by each `start()`)."""
        raise NotImplementedError

    def _release(self) -> None:
        """Free what `_handler_class()` acquired; called after the server is closed."""

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self: _Self) -> _Self:
        """Bind and start serving; RuntimeError if already running."""
        if self._httpd is not None:
            raise RuntimeError(f"{self.service_name} is already running")
        self._stopping.clear()
        handler = self._handler_class()
        try:
            httpd = ThreadingHTTPServer(self._address, handler)
        except BaseException:
            self._release()
            raise
        httpd.daemon_threads = self.daemon_handler_threads
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": self.poll_interval_s},
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and join the serving thread; safe to call twice."""
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join()
        self._release()

    def __enter__(self: _Self) -> _Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (only while running)."""
        if self._httpd is None:
            raise RuntimeError(f"{self.service_name} is not running; call start() first")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"
