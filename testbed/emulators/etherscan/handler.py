"""The stand-in's HTTP transport: `/v2/api`, the `/standin/...` controls and the V1 path."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from services.common.http_server import JsonRequestHandler
from testbed.emulators.etherscan.answers import Answer, json_answer, notok
from testbed.emulators.etherscan.constants import API_PATH
from testbed.emulators.etherscan.messages import DEPRECATED_V1

if TYPE_CHECKING:
    from testbed.emulators.etherscan.standin import EtherscanStandIn


class Handler(JsonRequestHandler):
    """HTTP/1.0 handler: one request per connection, so stopping never waits on idle sockets.

    Answers for the `standin` it is bound to (see `services.common.http_server.bind_handler`); it
    logs nothing, since request lines carry the API key.
    """

    standin: EtherscanStandIn
    timeout = 10

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        params = {key: values[0] for key, values in parse_qs(url.query).items()}
        if url.path == API_PATH:
            answer = self.standin.answer_api(params)
            if answer is not None:
                self._send(answer)
        elif url.path == "/standin/stats":
            self._send(json_answer(self.standin.stats()))
        elif url.path == "/standin/faults":
            self._send(json_answer(asdict(self.standin.faults)))
        elif url.path.rstrip("/") == "/api":
            self._send(notok(DEPRECATED_V1))
        else:
            self._send(json_answer({"error": f"no such path: {url.path}"}, 404))

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/standin/faults":
            self._send(json_answer({"error": "POST only to /standin/faults"}, 404))
            return
        raw = self.read_body()
        if raw is None:
            self._send(json_answer({"error": "request body too large or unreadable"}, 400))
            return
        try:
            changes = json.loads(raw or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("the body must be a JSON object")
            seed = changes.pop("seed", None)
            faults = self.standin.set_faults(**changes)
            if seed is not None:
                self.standin.reseed(int(seed))
        except (ValueError, TypeError) as exc:
            self._send(json_answer({"error": str(exc)}, 400))
            return
        self._send(json_answer(asdict(faults)))

    def _send(self, answer: Answer) -> None:
        self.send_body(answer.status, answer.body, answer.content_type)
