"""Serves the built web app (``webapp/dist``) and its ``config.json`` on loopback.

Only the build's own files are served (a flat folder: no sub-paths, no traversal), each with its
content type and the security headers: the Content-Security-Policy of
:func:`services.webapp.config.content_security_policy`, ``nosniff``, no referrer, no framing.
``config`` may be replaced while serving (the demo learns the bot's URL after starting it).
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from services.common.http_server import BackgroundHTTPServer, bind_handler
from services.webapp.config import AppConfig, content_security_policy

DIST_DIR = Path(__file__).resolve().parents[2] / "webapp" / "dist"
"""Where ``make`` puts the build."""

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".map": "application/json; charset=utf-8",
    ".json": "application/json; charset=utf-8",
}
_FILE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class AppNotBuiltError(RuntimeError):
    """``webapp/dist`` has no build; ``make`` builds it."""


class WebAppServer(BackgroundHTTPServer):
    """``GET /`` (index.html), ``/config.json`` and the build's files, on ``host:port``."""

    thread_name = "webapp-server"
    service_name = "the web app server"
    daemon_handler_threads = True

    def __init__(
        self,
        config: AppConfig,
        *,
        dist_dir: Path = DIST_DIR,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if not (dist_dir / "index.html").is_file():
            raise AppNotBuiltError(
                f"the web app is not built ({dist_dir} has no index.html): run make"
            )
        self.config = config
        self.dist_dir = dist_dir
        super().__init__(host, port)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return bind_handler(_Handler, app=self)

    def answer(self, path: str) -> tuple[HTTPStatus, bytes, str]:
        """Status, body and content type for ``GET path``."""
        if path in ("/", "/index.html"):
            path = "/index.html"
        if path == "/config.json":
            body = json.dumps(self.config.to_json(), indent=1).encode()
            return HTTPStatus.OK, body, CONTENT_TYPES[".json"]
        name = path.removeprefix("/")
        file = self.dist_dir / name
        if not _FILE_NAME_RE.fullmatch(name) or name.startswith(".") or not file.is_file():
            return HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8"
        content_type = CONTENT_TYPES.get(file.suffix, "application/octet-stream")
        return HTTPStatus.OK, file.read_bytes(), content_type


class _Handler(BaseHTTPRequestHandler):
    server_version = "spheron-dao-webapp"
    app: WebAppServer

    def _respond(self, *, head: bool) -> None:
        status, body, content_type = self.app.answer(urlsplit(self.path).path)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", content_security_policy(self.app.config))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def do_GET(self) -> None:
        self._respond(head=False)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def _refuse(self) -> None:
        self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
        self.send_header("Allow", "GET, HEAD")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse

    def log_message(self, format: str, *args: Any) -> None:
        """Silent, like the other servers of the project."""
