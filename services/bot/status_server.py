"""The deploy bot's status HTTP server: ``/healthz``, ``/metrics``, ``/deployments``, ``/policy``.

It runs in a daemon thread beside the bot and reads the ledger through its own read-only
connection, so it can never change what the bot wrote. Nothing it serves holds a secret: the
ledger stores only public spec JSON and secret references (see ``services.bot.ledger``).

``/policy`` publishes the operator's policy and, given ``?spec=JSON``, the ways that spec breaks it,
so the members' web app shows the bot's own verdict before anyone votes. Browsers on the origins
given in ``allowed_origins`` may read every answer (CORS, see ``services.common.cors``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from services.bot.ledger import DeploymentState, Ledger, LedgerError, LedgerLocation
from services.bot.metrics import METRICS_CONTENT_TYPE, BotMetrics
from services.common.cors import cors_headers
from services.common.http_server import BackgroundHTTPServer, JsonRequestHandler, bind_handler
from services.spec.model import MAX_DAO_SPEC_BYTES, SpecError, parse_spec
from services.spec.policy import DeployPolicy

logger = logging.getLogger(__name__)

_ENDPOINTS = ("/healthz", "/metrics", "/deployments", "/policy")


class _BadRequest(Exception):
    """A query parameter the server cannot use; becomes a 400 response."""


class StatusServer(BackgroundHTTPServer):
    """Serve health, metrics and ledger rows on ``host:port`` (port 0 picks a free port).

    ``clock`` returns the current Unix time; it exists so the health rule can be exercised
    without waiting. ``stop()`` also closes the ledger connection.
    """

    thread_name = "status-server"
    service_name = "status server"
    daemon_handler_threads = True

    def __init__(
        self,
        ledger_location: str | Path | LedgerLocation,
        metrics: BotMetrics,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_poll_age_s: float,
        clock: Callable[[], float] = time.time,
        allowed_origins: Sequence[str] = (),
        policy: DeployPolicy | None = None,
        replica: str | None = None,
        lease_s: float | None = None,
    ) -> None:
        if max_poll_age_s <= 0:
            raise ValueError(f"max_poll_age_s must be > 0, got {max_poll_age_s}")
        self.ledger_location = LedgerLocation.parse(ledger_location)
        self.metrics = metrics
        self.max_poll_age_s = max_poll_age_s
        self._clock = clock
        self.allowed_origins = tuple(allowed_origins)
        self.policy = policy or DeployPolicy()
        self.replica = replica
        self.lease_s = lease_s
        self._ledger: Ledger | None = None
        super().__init__(host, port)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        """Open the read-only ledger connection the handler threads share until `stop()`."""
        self._ledger = Ledger.open_readonly(self.ledger_location)
        return bind_handler(_Handler, status=self, ledger=self._ledger)

    def _release(self) -> None:
        ledger, self._ledger = self._ledger, None
        if ledger is not None:
            ledger.close()

    def start(self) -> StatusServer:
        super().start()
        logger.info("status server listening on %s", self.url)
        return self

    # -- responses (called from handler threads) ---------------------------------------------

    def health(self, ledger: Ledger) -> tuple[HTTPStatus, dict[str, Any]]:
        """200 ``ok`` or ``degraded`` (an outside service fails, not for long yet), or 503
        ``unhealthy`` with the reason (see `services.bot.metrics` for the rule). Answers while
        the ledger's database is unreachable too (the replica is then ``paused``)."""
        now = self._clock()
        reason = self.metrics.unhealthy_reason(now, self.max_poll_age_s)
        last = self.metrics.last_successful_poll
        outages = self.metrics.outages(now)
        status = "unhealthy" if reason is not None else "degraded" if outages else "ok"
        body: dict[str, Any] = {
            "status": status,
            **self._ledger_facts(ledger),
            "head_block": self.metrics.head,
            "confirmed_block": self.metrics.confirmed,
            "last_successful_poll": last,
            "last_successful_poll_age_s": None if last is None else round(now - last, 3),
            "max_poll_age_s": self.max_poll_age_s,
            "outages": outages,
            "notification_sinks_failing": self.metrics.failing_sinks(),
            "deployments_blocked": self.metrics.deployments_blocked(now, self.max_poll_age_s),
        }
        if reason is None:
            return HTTPStatus.OK, body
        body["reason"] = reason
        return HTTPStatus.SERVICE_UNAVAILABLE, body

    def _ledger_facts(self, ledger: Ledger) -> dict[str, Any]:
        """What the ledger says: binding, checkpoint, and this replica's role and claims."""
        replica: dict[str, Any] = {
            "id": self.replica,
            **self.metrics.role(),
            "lease_s": self.lease_s,
            "claims_held": None,
        }
        facts: dict[str, Any] = {
            "chain_id": None,
            "dao_address": None,
            "checkpoint_block": None,
            "replica": replica,
        }
        try:
            facts.update(
                chain_id=ledger.chain_id,
                dao_address=ledger.dao_address,
                checkpoint_block=ledger.checkpoint(),
            )
            if self.replica is not None:
                replica["claims_held"] = ledger.claims_held(self.replica)
        except LedgerError as error:
            facts["ledger_error"] = str(error)
        return facts

    def metrics_text(self, ledger: Ledger) -> bytes:
        """Refresh the ledger-derived gauges, then render; the ledger is the source of truth
        (while its database is unreachable, the last values are served)."""
        try:
            self.metrics.set_deployment_counts(ledger.counts_by_state())
            checkpoint = ledger.checkpoint()
        except LedgerError:
            return self.metrics.render()
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

    def policy_verdict(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """The policy's limits; with ``spec``, its violations (or the spec's own errors)."""
        unknown = sorted(set(query) - {"spec"})
        if unknown:
            raise _BadRequest(f"unknown query parameter(s): {', '.join(unknown)}")
        body: dict[str, Any] = {"policy": self.policy.model_dump(mode="json")}
        spec_text = _single(query, "spec")
        if spec_text is not None:
            try:
                body["violations"] = self.policy.violations(
                    parse_spec(spec_text, max_bytes=MAX_DAO_SPEC_BYTES)
                )
            except SpecError as error:
                body["spec_errors"] = error.errors
        return body


def _single(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    if values is None:
        return None
    if len(values) != 1:
        raise _BadRequest(f"give {name} at most once")
    return values[0]


class _Handler(JsonRequestHandler):
    server_version = "spheron-dao-deploy-status"
    extra_headers: ClassVar[Mapping[str, str]] = {"Cache-Control": "no-store"}
    status: StatusServer
    ledger: Ledger

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        try:
            if parts.path == "/healthz":
                self.send_json(*self.status.health(self.ledger))
            elif parts.path == "/metrics":
                metrics = self.status.metrics_text(self.ledger)
                self.send_body(HTTPStatus.OK, metrics, METRICS_CONTENT_TYPE)
            elif parts.path == "/deployments":
                self.send_json(HTTPStatus.OK, self.status.deployments(self.ledger, query))
            elif parts.path == "/policy":
                self.send_json(HTTPStatus.OK, self.status.policy_verdict(query))
            else:
                self.send_json(
                    HTTPStatus.NOT_FOUND,
                    {"error": f"no such endpoint {parts.path!r}", "endpoints": list(_ENDPOINTS)},
                )
        except _BadRequest as exc:
            self.send_json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        except Exception:
            logger.exception("status server failed to answer %s", parts.path)
            self.send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"})

    def do_OPTIONS(self) -> None:
        """CORS preflight: the server answers GET only, with no credentials."""
        self.send_response(HTTPStatus.NO_CONTENT)
        self.send_header("Access-Control-Allow-Methods", "GET")
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def end_headers(self) -> None:
        for name, value in cors_headers(
            self.headers.get("Origin"), self.status.allowed_origins
        ).items():
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("status server: " + format, *args)
