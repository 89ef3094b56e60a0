"""The deploy bot's status HTTP server: ``/healthz``, ``/metrics`` and ``/deployments``.

It runs in a daemon thread beside the bot and reads the ledger through its own read-only
connection, so it can never change what the bot wrote. Nothing it serves holds a secret: the
ledger stores only public spec JSON and secret references (see ``services.ledger``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from services.ledger import DeploymentState, Ledger
from services.metrics import METRICS_CONTENT_TYPE, BotMetrics

logger = logging.getLogger(__name__)

_JSON_CONTENT_TYPE = "application/json; charset=utf-8"
_ENDPOINTS = ("/healthz", "/metrics", "/deployments")
# How often serve_forever checks for shutdown(); small so stop() returns promptly.
_SHUTDOWN_POLL_S = 0.05


class _BadRequest(Exception):
    """A query parameter the server cannot use; becomes a 400 response."""


class StatusServer:
    """Serve health, metrics and ledger rows on ``host:port`` (port 0 picks a free port).

    ``clock`` returns the current Unix time; it exists so the health rule can be exercised
    without waiting.
    """

    def __init__(
        self,
        ledger_path: str | Path,
        metrics: BotMetrics,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_poll_age_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_poll_age_s <= 0:
            raise ValueError(f"max_poll_age_s must be > 0, got {max_poll_age_s}")
        self.ledger_path = Path(ledger_path)
        self.metrics = metrics
        self.max_poll_age_s = max_poll_age_s
        self._clock = clock
        self._host = host
        self._port = port
        self._ledger: Ledger | None = None
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (only once started)."""
        if self._httpd is None:
            raise RuntimeError("status server is not running; call start() first")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StatusServer:
        if self._httpd is not None:
            raise RuntimeError("status server is already running")
        ledger = Ledger.open_readonly(self.ledger_path)
        try:
            httpd = ThreadingHTTPServer((self._host, self._port), _make_handler(self, ledger))
        except BaseException:
            ledger.close()
            raise
        httpd.daemon_threads = True
        self._ledger = ledger
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": _SHUTDOWN_POLL_S},
            name="status-server",
            daemon=True,
        )
        self._thread.start()
        logger.info("status server listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and close the ledger connection; safe to call twice."""
        httpd, thread, ledger = self._httpd, self._thread, self._ledger
        self._httpd = self._thread = self._ledger = None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if thread is not None:
            thread.join()
        if ledger is not None:
            ledger.close()

    def __enter__(self) -> StatusServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- responses (called from handler threads) ---------------------------------------------

    def health(self, ledger: Ledger) -> tuple[HTTPStatus, dict[str, Any]]:
        now = self._clock()
        reason = self.metrics.unhealthy_reason(now, self.max_poll_age_s)
        last = self.metrics.last_successful_poll
        body: dict[str, Any] = {
            "status": "ok" if reason is None else "unhealthy",
            "chain_id": ledger.chain_id,
            "dao_address": ledger.dao_address,
            "checkpoint_block": ledger.checkpoint(),
            "head_block": self.metrics.head,
            "last_successful_poll": last,
            "last_successful_poll_age_s": None if last is None else round(now - last, 3),
            "max_poll_age_s": self.max_poll_age_s,
        }
        if reason is None:
            return HTTPStatus.OK, body
        body["reason"] = reason
        return HTTPStatus.SERVICE_UNAVAILABLE, body

    def metrics_text(self, ledger: Ledger) -> bytes:
        """Refresh the ledger-derived gauges, then render; the ledger is the source of truth."""
        self.metrics.set_deployment_counts(ledger.counts_by_state())
        checkpoint = ledger.checkpoint()
        if checkpoint is not None:
            self.metrics.set_checkpoint(checkpoint)
        return self.metrics.render()

    @staticmethod
    def deployments(ledger: Ledger, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        unknown = sorted(set(query) - {"state", "limit"})
        if unknown:
            raise _BadRequest(f"unknown query parameter(s): {', '.join(unknown)}")
        state = _single(query, "state")
        limit = _single(query, "limit")
        try:
            state_filter = None if state is None else DeploymentState(state.upper())
        except ValueError:
            valid = ", ".join(s.value for s in DeploymentState)
            raise _BadRequest(f"unknown state {state!r}; expected one of {valid}") from None
        if limit is not None and not limit.isdigit():
            raise _BadRequest(f"limit must be a non-negative integer, got {limit!r}")
        rows = ledger.rows(None if limit is None else int(limit), state=state_filter)
        return [row.to_dict() for row in rows]


def _single(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    if values is None:
        return None
    if len(values) != 1:
        raise _BadRequest(f"give {name} at most once")
    return values[0]


def _make_handler(server: StatusServer, ledger: Ledger) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "spheron-dao-deploy-status"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query, keep_blank_values=True)
            try:
                if parts.path == "/healthz":
                    status, body = server.health(ledger)
                    self._send_json(status, body)
                elif parts.path == "/metrics":
                    self._send(HTTPStatus.OK, server.metrics_text(ledger), METRICS_CONTENT_TYPE)
                elif parts.path == "/deployments":
                    self._send_json(HTTPStatus.OK, server.deployments(ledger, query))
                else:
                    self._send_json(
                        HTTPStatus.NOT_FOUND,
                        {
                            "error": f"no such endpoint {parts.path!r}",
                            "endpoints": list(_ENDPOINTS),
                        },
                    )
            except _BadRequest as exc:
                self._send_json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            except Exception:
                logger.exception("status server failed to answer %s", parts.path)
                self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"})

        def _send_json(self, status: HTTPStatus, body: object) -> None:
            self._send(status, json.dumps(body).encode(), _JSON_CONTENT_TYPE)

        def _send(self, status: HTTPStatus, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("status server: " + format, *args)

    return Handler
