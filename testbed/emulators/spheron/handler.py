"""The emulator's HTTP transport: parse a request, apply its fault, write or drop the answer."""

from __future__ import annotations

import contextlib
import socket
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from services.common.http_server import JsonRequestHandler

if TYPE_CHECKING:
    from testbed.emulators.spheron.emulator import SpheronEmulator


class Handler(JsonRequestHandler):
    """Answers for the `emulator` it is bound to (`services.common.http_server.bind_handler`)."""

    emulator: SpheronEmulator
    json_content_type = "application/json"
    timeout = 10  # an idle connection is dropped after this many seconds

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        if self.emulator.verbose:
            BaseHTTPRequestHandler.log_message(self, format, *args)

    def _handle(self, method: str) -> None:
        emulator = self.emulator
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        raw = self.read_body()
        if raw is None:
            self.send_json(400, {"message": "Request body too large or unreadable", "error": True})
            return
        if not url.path.startswith("/v1/"):
            self.send_json(*emulator._serve_plain(method, url.path, query, raw))
            return
        fault, entry = emulator._arrive(method, url.path, raw)
        if fault.delay_s:
            emulator._stopping.wait(fault.delay_s)
        if fault.drop:
            self._drop()
            return
        if fault.error_status:
            answer = (fault.error_status, {"message": "Injected fault (emulator)", "error": True})
        else:
            answer = emulator._serve_api(
                method, url.path, query, self.headers.get("Authorization", ""), raw
            )
        emulator._record_status(entry, answer[0])
        if fault.drop_response:
            self._drop()
            return
        self.send_json(*answer)

    def _drop(self) -> None:
        """Close the connection without writing an answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
