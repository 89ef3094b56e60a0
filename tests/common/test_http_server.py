"""The shared HTTP plumbing, through a tiny server built on it, over real HTTP on loopback."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from typing import ClassVar

import pytest
import requests

from services.common.http_server import BackgroundHTTPServer, JsonRequestHandler, bind_handler

BODY_LIMIT = 8


class _EchoHandler(JsonRequestHandler):
    echo: EchoServer
    extra_headers: ClassVar[Mapping[str, str]] = {"Cache-Control": "no-store"}

    def do_GET(self) -> None:
        self.send_json(200, {"greeting": self.echo.greeting})

    def do_POST(self) -> None:
        raw = self.read_body(BODY_LIMIT)
        if raw is None:
            self.send_json(400, {"error": "unreadable"})
        else:
            self.send_json(200, {"length": len(raw)})


class EchoServer(BackgroundHTTPServer):
    """Answers GET with its greeting and POST with the body's length; counts `_release()`."""

    thread_name = "echo-server"
    service_name = "the echo server"

    def __init__(self, port: int = 0) -> None:
        super().__init__("127.0.0.1", port)
        self.greeting = "hello"
        self.releases = 0

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return bind_handler(_EchoHandler, echo=self)

    def _release(self) -> None:
        self.releases += 1


def post_with_length(server: EchoServer, length: str, body: bytes) -> int:
    """POST `body` with a hand-written Content-Length header; returns the status."""
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.putrequest("POST", "/")
        connection.putheader("Content-Length", length)
        connection.endheaders(body)
        return connection.getresponse().status
    finally:
        connection.close()


def test_serves_json_with_the_extra_headers_until_stopped() -> None:
    server = EchoServer()
    with pytest.raises(RuntimeError, match="the echo server is not running"):
        _ = server.url

    with server:
        assert server.running
        answer = requests.get(server.url, timeout=5)
        assert answer.status_code == 200
        assert answer.json() == {"greeting": "hello"}
        assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["Content-Length"] == str(len(answer.content))

    assert not server.running
    assert server.releases == 1
    assert "echo-server" not in {thread.name for thread in threading.enumerate()}
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url
    server.stop()  # a second stop does nothing
    assert server.releases == 1


def test_a_running_server_refuses_a_second_start_and_restarts_after_stop() -> None:
    server = EchoServer()
    with server, pytest.raises(RuntimeError, match="the echo server is already running"):
        server.start()
    with server:
        assert requests.get(server.url, timeout=5).status_code == 200
    assert server.releases == 2


def test_a_failed_bind_releases_what_the_handler_acquired() -> None:
    with EchoServer() as taken:
        port = int(taken.url.rsplit(":", 1)[1])
        clash = EchoServer(port)
        with pytest.raises(OSError):
            clash.start()
        assert clash.releases == 1
        assert not clash.running


@pytest.mark.parametrize(
    ("length", "body", "status"),
    [
        ("0", b"", 200),
        (str(BODY_LIMIT), b"x" * BODY_LIMIT, 200),
        (str(BODY_LIMIT + 1), b"x" * (BODY_LIMIT + 1), 400),
        ("-1", b"", 400),
        ("eight", b"", 400),
    ],
)
def test_read_body_refuses_malformed_and_oversized_lengths(
    length: str, body: bytes, status: int
) -> None:
    with EchoServer() as server:
        assert post_with_length(server, length, body) == status
