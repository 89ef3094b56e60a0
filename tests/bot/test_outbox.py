"""Delivering the ledger's outbox to real webhook receivers on loopback: every event at least once,
in order per sink, a failing sink retried with back-off and holding back only its own queue, and
nothing lost across a restart."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from services.bot.ledger import Ledger
from services.bot.metrics import BotMetrics
from services.bot.notify import Sink
from services.bot.outbox import BACKOFF_S, OutboxDelivery
from services.common.redaction import Redactor
from testbed.waiting import wait_until
from testbed.webhook_receiver import WebhookReceiver
from tests.bot.test_ledger import SENT, make_event

DAO = "0x" + "ab" * 20
SOURCE = {"chain_id": 1337, "dao_address": DAO}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def receiver():
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def sinks(receiver) -> list[Sink]:
    return [Sink("json", receiver.url_for("ops")), Sink("slack", receiver.url_for("chat"))]


def open_ledger(tmp_path, sinks) -> Ledger:
    return Ledger(
        tmp_path / "ledger.sqlite3",
        chain_id=1337,
        dao_address=DAO,
        notify_sinks=[sink.id for sink in sinks],
    )


def deploy(ledger: Ledger, pid: int) -> None:
    """Proposal `pid` executed and deployed: two events."""
    ledger.record_batch([make_event(pid)], 100 + pid)
    ledger.mark_creating(pid, f"dao-{pid}", in_flight_until=SENT)
    ledger.mark_created(pid, f"inst-{pid}", f"order-{pid}", at=SENT)
    ledger.mark_deployed(pid, "Deployed", ["https://app.example"])


def test_every_event_reaches_every_sink_once_in_order(tmp_path, receiver, sinks):
    metrics = BotMetrics()
    with open_ledger(tmp_path, sinks) as ledger, requests.Session() as session:
        deploy(ledger, 1)
        ledger.record_batch([make_event(2, spec="not json")], 102)
        ledger.mark_rejected(2, "invalid spec: not JSON")
        delivery = OutboxDelivery(ledger, sinks, metrics, SOURCE, stop=threading.Event())
        assert delivery.deliver_round(session) == 8
        assert delivery.deliver_round(session) == 0
        assert ledger.pending_notifications(sinks[0].id, limit=10) == []
    ops = receiver.received("ops")
    assert [(body["event"], body["proposal_id"]) for body in ops] == [
        ("executed", 1),
        ("deployed", 1),
        ("executed", 2),
        ("rejected", 2),
    ]
    assert ops[1]["instance_id"] == "inst-1" and ops[1]["chain_id"] == 1337
    assert len({body["event_id"] for body in ops}) == 4
    assert ops[3]["reason"] == "invalid spec: not JSON"
    chat = [body["text"] for body in receiver.received("chat")]
    assert chat[1].endswith("proposal 1 deployed as instance inst-1 https://app.example")
    sample = metrics.registry.get_sample_value
    assert sample("notifications_total", {"sink": sinks[0].id, "outcome": "delivered"}) == 4


def test_a_failing_sink_backs_off_and_holds_back_only_its_own_queue(tmp_path, receiver, sinks):
    clock, metrics = Clock(), BotMetrics()
    receiver.fail_with("chat", 503)
    with open_ledger(tmp_path, sinks) as ledger, requests.Session() as session:
        deploy(ledger, 1)
        delivery = OutboxDelivery(
            ledger, sinks, metrics, SOURCE, stop=threading.Event(), clock=clock
        )
        assert delivery.deliver_round(session) == 2  # the JSON sink got both
        assert receiver.attempts("chat") == 1  # one try, then back-off, not a retry storm
        deploy(ledger, 2)
        assert delivery.deliver_round(session) == 2
        assert receiver.attempts("chat") == 1
        assert metrics.registry.get_sample_value("notification_sink_up", {"sink": sinks[1].id}) == 0
        assert "503" in metrics.failing_sinks()[sinks[1].id]

        clock.now += BACKOFF_S
        assert delivery.deliver_round(session) == 0  # still failing: the back-off doubles
        assert receiver.attempts("chat") == 2
        clock.now += BACKOFF_S
        assert delivery.deliver_round(session) == 0
        assert receiver.attempts("chat") == 2

        receiver.heal("chat")
        clock.now += 2 * BACKOFF_S
        assert delivery.deliver_round(session) == 4
    texts = [body["text"] for body in receiver.received("chat")]
    assert [text.split(": ", 1)[1] for text in texts] == [
        "proposal 1 executed: deploy",
        "proposal 1 deployed as instance inst-1 https://app.example",
        "proposal 2 executed: deploy",
        "proposal 2 deployed as instance inst-2 https://app.example",
    ]
    assert metrics.failing_sinks() == {}


def test_a_sinks_retry_after_is_honoured(tmp_path, receiver, sinks):
    clock = Clock()
    receiver.fail_with("ops", 429, times=1, retry_after_s=30)
    with open_ledger(tmp_path, sinks) as ledger, requests.Session() as session:
        deploy(ledger, 1)
        delivery = OutboxDelivery(
            ledger, sinks[:1], BotMetrics(), SOURCE, stop=threading.Event(), clock=clock
        )
        delivery.deliver_round(session)
        clock.now += 29
        assert delivery.deliver_round(session) == 0 and receiver.attempts("ops") == 1
        clock.now += 1
        assert delivery.deliver_round(session) == 2


def test_pending_events_survive_a_restart_and_are_sent_by_the_next_run(tmp_path, receiver, sinks):
    receiver.fail_with("ops", 500)
    with open_ledger(tmp_path, sinks) as ledger, requests.Session() as session:
        deploy(ledger, 1)
        OutboxDelivery(
            ledger, sinks[:1], BotMetrics(), SOURCE, stop=threading.Event()
        ).deliver_round(session)
    assert receiver.received("ops") == []
    receiver.heal("ops")
    with open_ledger(tmp_path, sinks) as ledger, requests.Session() as session:
        delivery = OutboxDelivery(ledger, sinks[:1], BotMetrics(), SOURCE, stop=threading.Event())
        assert delivery.deliver_round(session) == 2
    assert [body["event"] for body in receiver.received("ops")] == ["executed", "deployed"]


def test_a_sink_that_hangs_is_given_up_on_and_stop_ends_delivery_promptly(tmp_path, sinks):
    """A webhook that accepts the connection and never answers: the post times out, the event
    stays pending, and setting stop ends the delivery thread within its join."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    hanging = Sink("json", f"http://127.0.0.1:{listener.getsockname()[1]}/hook")
    stop = threading.Event()
    metrics = BotMetrics()
    try:
        with open_ledger(tmp_path, [hanging]) as ledger:
            deploy(ledger, 1)
            delivery = OutboxDelivery(
                ledger, [hanging], metrics, SOURCE, stop=stop, timeout_s=0.3
            ).start()
            wait_until(lambda: hanging.id in metrics.failing_sinks(), timeout_s=5, what="a timeout")
            assert len(ledger.pending_notifications(hanging.id, limit=10)) == 2
            stop.set()
            started = time.monotonic()
            delivery.join()
            assert time.monotonic() - started < 1.5
    finally:
        listener.close()


def test_no_secret_reaches_a_sink_even_inside_a_servers_answer(tmp_path, receiver, sinks):
    """A reason quoting what a server said can hold anything; every string is redacted with the
    rules of the bot's logs before it is posted."""
    secret = "db-pass-9Xq2LmT"
    with open_ledger(tmp_path, sinks) as ledger, requests.Session() as session:
        ledger.record_batch([make_event(1)], 101)
        ledger.mark_creating(1, "dao-1", in_flight_until=SENT)
        ledger.mark_failed(1, f"Spheron refused: env POSTGRES_PASSWORD={secret} is invalid")
        delivery = OutboxDelivery(
            ledger,
            sinks,
            BotMetrics(),
            SOURCE,
            stop=threading.Event(),
            redact=Redactor([secret]),
        )
        assert delivery.deliver_round(session) == 4
    posted = json.dumps([receiver.received("ops"), receiver.received("chat")])
    assert secret not in posted
    assert "POSTGRES_PASSWORD=***" in receiver.received("ops")[1]["reason"]


def test_a_replica_that_does_not_lead_delivers_nothing_until_it_leads(tmp_path, receiver, sinks):
    """Of several replicas only the leader delivers, so a sink gets one message, not one per
    replica; a replica that becomes leader delivers what is pending."""
    leading = threading.Event()
    stop = threading.Event()
    with open_ledger(tmp_path, sinks[:1]) as ledger:
        deploy(ledger, 1)
        delivery = OutboxDelivery(
            ledger, sinks[:1], BotMetrics(), SOURCE, stop=stop, active=leading.is_set
        ).start()
        try:
            time.sleep(1.5)  # more than a round
            assert receiver.received("ops") == []
            leading.set()
            wait_until(lambda: len(receiver.received("ops")) == 2, timeout_s=10, what="delivery")
        finally:
            stop.set()
            delivery.join()
    assert [body["event"] for body in receiver.received("ops")] == ["executed", "deployed"]
