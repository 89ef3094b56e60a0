"""Notifications: what the bot tells operators, and the webhooks it tells them through.

`DEPLOYBOT_NOTIFY` lists the sinks, comma-separated, each `FORMAT:URL` with FORMAT one of `json`
(the event as a JSON object), `slack` (a Slack incoming webhook) or `discord` (a Discord webhook):

    DEPLOYBOT_NOTIFY=slack:https://hooks.slack.com/services/T0/B0/xyz,json:https://ops.example/hook

Events are written to the ledger's outbox in the same transaction as the change they report, and
`OutboxDelivery` (a thread beside the bot) posts each one to every sink at least once, retrying with
back-off; a dead sink never blocks or slows deployments. Webhook URLs are bearer credentials: they
are secrets for the logs (redacted everywhere) and never appear in a message or an error.

Everything in an event that comes from a proposal (image names, reasons) is attacker-controlled: the
Slack text escapes `&`, `<` and `>` (so it cannot ping `<!channel>` or forge a link), and Discord
messages allow no mentions.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

logger = logging.getLogger(__name__)

FORMATS = ("json", "slack", "discord")
#: Events, by what happened to a ledger row (see `services.bot.ledger`).
EVENTS = ("executed", "deployed", "updated", "closed", "failed", "rejected", "drift")
#: Discord refuses longer messages.
DISCORD_MAX_CHARS = 2000


class NotifySettingError(ValueError):
    """`DEPLOYBOT_NOTIFY` is malformed; the message never contains a URL."""


@dataclass(frozen=True)
class Sink:
    """One webhook. `id` (a hash of the URL) names it in the ledger, logs and metrics."""

    format: str
    url: str

    @property
    def id(self) -> str:
        return f"{self.format}-{hashlib.sha256(self.url.encode()).hexdigest()[:10]}"

    def __repr__(self) -> str:
        return f"Sink({self.id})"


def parse_sinks(text: str) -> list[Sink]:
    """`FORMAT:URL[,FORMAT:URL...]` → sinks; errors name the entry by position, not by URL."""
    sinks = []
    for position, entry in enumerate((part.strip() for part in text.split(",")), start=1):
        if not entry:
            continue
        fmt, colon, url = entry.partition(":")
        if not colon or fmt not in FORMATS:
            raise NotifySettingError(
                f"DEPLOYBOT_NOTIFY entry {position}: start with one of {', '.join(FORMATS)} and "
                "a colon, e.g. slack:https://hooks.slack.com/services/..."
            )
        if not url.startswith(("https://", "http://")):
            raise NotifySettingError(
                f"DEPLOYBOT_NOTIFY entry {position}: the webhook must be an http(s) URL"
            )
        sinks.append(Sink(fmt, url))
    return sinks


@dataclass(frozen=True)
class Event:
    """One notification: `kind` is one of `EVENTS`; `fields` carry the details."""

    id: int
    kind: str
    proposal_id: int
    fields: Mapping[str, Any]

    def summary(self) -> str:
        """One line for people: what happened to which proposal."""
        f = self.fields
        subject = f"proposal {self.proposal_id}"
        if self.kind == "executed":
            action = f.get("action", "deploy")
            if f.get("target") is not None:
                return f"{subject} executed: {action} the instance of proposal {f['target']}"
            return f"{subject} executed: {action}"
        if self.kind == "deployed":
            urls = " ".join(f.get("urls") or [])
            return f"{subject} deployed as instance {f.get('instance_id')} {urls}".rstrip()
        if self.kind == "updated":
            changes = ", ".join(f.get("changes") or [])
            text = f"{subject} updated the instance of proposal {f.get('target')}"
            return f"{text}: {changes}" if changes else text
        if self.kind == "closed":
            return f"{subject} closed the instance of proposal {f.get('target')}"
        if self.kind == "drift":
            return f"drift on the instance of {subject} ({f.get('drift_kind')}): " + "; ".join(
                f.get("differences") or []
            )
        return f"{subject} {self.kind}: {f.get('reason', '')}".rstrip(": ")


def payload(sink: Sink, event: Event, source: Mapping[str, Any]) -> dict[str, Any]:
    """The body posted to `sink` for `event`. `source` names the DAO (chain id, address).

    Delivery is at least once (a post whose answer was lost is sent again), so the JSON body
    carries `event_id`, unique per ledger, for a receiver to drop repeats."""
    if sink.format == "json":
        return {
            "event_id": event.id,
            "event": event.kind,
            "proposal_id": event.proposal_id,
            "summary": event.summary(),
            **dict(event.fields),
            **dict(source),
        }
    where = f"chain {source.get('chain_id')} DAO {source.get('dao_address')}"
    text = f"spheron-dao-deploy ({where}): {event.summary()}"
    if sink.format == "slack":
        return {"text": _slack_escape(text)}
    return {
        "content": text[:DISCORD_MAX_CHARS],
        "allowed_mentions": {"parse": []},
    }


def _slack_escape(text: str) -> str:
    """Slack's three control characters, escaped as its documentation asks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class DeliveryError(Exception):
    """A post failed; the message never contains the URL. `retry_after_s` is the sink's ask."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def post(
    sink: Sink, body: Mapping[str, Any], *, session: requests.Session, timeout_s: float
) -> None:
    """POST `body` to the sink; `DeliveryError` unless it answered 2xx."""
    try:
        response = session.post(
            sink.url,
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
            timeout=timeout_s,
        )
    except requests.RequestException as error:
        raise DeliveryError(f"{sink.id}: {type(error).__name__}") from None
    if 200 <= response.status_code < 300:
        return
    retry_after = response.headers.get("Retry-After")
    try:
        wait = float(retry_after) if retry_after else None
    except ValueError:
        wait = None
    raise DeliveryError(f"{sink.id}: HTTP {response.status_code}", retry_after_s=wait)


def sink_ids(sinks: Sequence[Sink]) -> list[str]:
    return [sink.id for sink in sinks]
