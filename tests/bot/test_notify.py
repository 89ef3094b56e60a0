"""Notification sinks: the setting, the payload shapes of each format (hostile text stays inert),
and posting to a real webhook receiver on loopback."""

from __future__ import annotations

import json

import pytest
import requests

from services.bot.notify import (
    DISCORD_MAX_CHARS,
    DeliveryError,
    Event,
    NotifySettingError,
    Sink,
    parse_sinks,
    payload,
    post,
)
from services.common.redaction import Redactor
from testbed.webhook_receiver import WebhookReceiver

SLACK_URL = "https://hooks.slack.com/services/T0AAAA/B0BBBB/xyzSECRETxyz"
DISCORD_URL = "https://discord.com/api/webhooks/1234567890/tokSECRETtok"
SOURCE = {"chain_id": 11155111, "dao_address": "0x" + "ab" * 20}
HOSTILE = "<!channel> <https://evil.example|click> & @everyone <script>x</script>"


def event(kind: str = "failed", **fields) -> Event:
    return Event(id=1, kind=kind, proposal_id=7, fields=fields)


def test_sinks_come_from_one_setting():
    sinks = parse_sinks(f" slack:{SLACK_URL}, discord:{DISCORD_URL} ,json:https://ops.example/h ,")
    assert [sink.format for sink in sinks] == ["slack", "discord", "json"]
    assert sinks[0].url == SLACK_URL
    assert len({sink.id for sink in sinks}) == 3
    assert SLACK_URL not in repr(sinks[0]) and "SECRET" not in sinks[0].id


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"teams:{SLACK_URL}", "entry 1: start with one of json, slack, discord"),
        (f"json:https://a.example,{SLACK_URL}", "entry 2: start with one of"),
        ("slack:ftp://hooks.slack.com/x", "entry 1: the webhook must be an http(s) URL"),
    ],
)
def test_a_malformed_setting_names_the_entry_never_the_url(text, message):
    with pytest.raises(NotifySettingError) as caught:
        parse_sinks(text)
    assert message in str(caught.value)
    assert "SECRET" not in str(caught.value) and "T0AAAA" not in str(caught.value)


def test_generic_json_carries_the_event_and_its_source():
    body = payload(Sink("json", "https://x.example"), event("deployed", instance_id="i-1"), SOURCE)
    assert body == {
        "event_id": 1,
        "event": "deployed",
        "proposal_id": 7,
        "summary": "proposal 7 deployed as instance i-1",
        "instance_id": "i-1",
        **SOURCE,
    }


def test_slack_text_escapes_its_control_characters():
    body = payload(Sink("slack", SLACK_URL), event(reason=HOSTILE), SOURCE)
    assert set(body) == {"text"}
    text = body["text"]
    assert "<" not in text and ">" not in text
    assert "&lt;!channel&gt;" in text and "&amp;" in text
    assert text.startswith("spheron-dao-deploy (chain 11155111 DAO 0xabab")


def test_discord_content_mentions_no_one_and_fits():
    body = payload(Sink("discord", DISCORD_URL), event(reason=HOSTILE * 100), SOURCE)
    assert body["allowed_mentions"] == {"parse": []}
    assert len(body["content"]) == DISCORD_MAX_CHARS


@pytest.mark.parametrize(
    ("kind", "fields", "summary"),
    [
        ("executed", {"action": "close", "target": 1}, "proposal 7 executed: "
         "close the instance of proposal 1"),
        ("executed", {"action": "deploy", "target": None}, "proposal 7 executed: deploy"),
        ("updated", {"target": 1}, "proposal 7 updated the instance of proposal 1"),
        ("closed", {"target": 1}, "proposal 7 closed the instance of proposal 1"),
        ("rejected", {"reason": "refused by policy"}, "proposal 7 rejected: refused by policy"),
        (
            "drift",
            {"drift_kind": "changed", "differences": ["tag: voted 1.27, running latest"]},
            "drift on the instance of proposal 7 (changed): tag: voted 1.27, running latest",
        ),
    ],
)  # fmt: skip
def test_every_event_reads_as_one_line(kind, fields, summary):
    assert event(kind, **fields).summary() == summary


def test_posts_reach_a_real_receiver_and_refusals_are_errors_without_the_url():
    with WebhookReceiver() as receiver, requests.Session() as session:
        sink = Sink("json", receiver.url_for("ops"))
        post(sink, {"a": 1}, session=session, timeout_s=5)
        assert receiver.received("ops") == [{"a": 1}]
        receiver.fail_with("ops", 429, times=1, retry_after_s=7)
        with pytest.raises(DeliveryError) as caught:
            post(sink, {"a": 2}, session=session, timeout_s=5)
        assert caught.value.retry_after_s == 7 and "HTTP 429" in str(caught.value)
        assert receiver.url not in str(caught.value)
        receiver.stop()
        with pytest.raises(DeliveryError, match="ConnectionError") as caught:
            post(sink, {"a": 3}, session=session, timeout_s=5)
        assert "127.0.0.1" not in str(caught.value)


def test_webhook_urls_are_masked_in_any_text():
    text = json.dumps({"sinks": [SLACK_URL, DISCORD_URL]})
    masked = Redactor([])(text)
    assert "SECRET" not in masked
    assert "hooks.slack.com/services/***" in masked and "discord.com/api/webhooks/***" in masked
