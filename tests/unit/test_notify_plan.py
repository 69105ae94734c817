"""Planning a batch against the delivery log's states (pure): what to send, to whom, and what to dead-letter."""

from __future__ import annotations

import json
from types import SimpleNamespace

from streams.notify.ledger import delivery_key
from streams.notify.notifier import plan
from streams.notify.routing import parse_config
from tests.unit.test_notify_routing import reminder

CONFIG = parse_config({
    "smtp": {"host": "127.0.0.1"},
    "recipients": {"commerce": {"dingtalk": {"webhook": "http://x/robot/send?access_token=a", "secret": "S"}},
                   "zhang": {"wecom": {"webhook": "http://x/cgi-bin/webhook/send?key=k"}, "email": {"to": "z@x.cn"}}},
    "rules": [{"department": "区商务局", "recipients": ["commerce"]}, {"leader": "张三", "recipients": ["zhang"]}]})


def record(offset: int, value) -> SimpleNamespace:
    raw = value if isinstance(value, bytes) else json.dumps(value, ensure_ascii=False).encode()
    return SimpleNamespace(topic="rem", partition=0, offset=offset, value=raw)


def test_a_batch_is_routed_per_recipient_and_channel():
    r1, r2 = reminder(project="P1"), reminder(project="P2", leader="张三")
    done = plan([record(0, r1), record(1, r2), record(2, r1)], CONFIG, lambda key: None)
    assert {k: [d.reminder_id for d in v] for k, v in done.sends.items()} == {
        ("commerce", "dingtalk"): [r1["reminder_id"], r2["reminder_id"]],
        ("zhang", "wecom"): [r2["reminder_id"]], ("zhang", "email"): [r2["reminder_id"]]}
    assert done.dead == [] and done.skipped == 1  # r1 written twice is one reminder
    assert done.sends[("commerce", "dingtalk")][0].origin == "rem:0:0"


def test_the_log_decides_what_is_done_and_what_was_cut_off():
    r = reminder(project="P2", leader="张三")
    states = {delivery_key(r["reminder_id"], "commerce", "dingtalk"): "delivered",
              delivery_key(r["reminder_id"], "zhang", "wecom"): "sending",
              delivery_key(r["reminder_id"], "zhang", "email"): "dead_lettered"}
    done = plan([record(5, r)], CONFIG, states.get)
    assert dict(done.sends) == {} and done.skipped == 2
    [(due, name, channel, reason, _, raw, origin)] = done.dead
    assert (due.reminder_id, name, channel, reason, origin) == (r["reminder_id"], "zhang", "wecom",
                                                                 "outcome_unknown", "rem:0:5")


def test_unroutable_and_malformed_records_are_dead_lettered_once():
    lost = reminder(project="P3", department="区农业局")
    done = plan([record(0, lost), record(1, b"\xff{"), record(2, {"reminder_id": "x", "kind": "k"})], CONFIG,
                lambda key: None)
    assert [(d[1], d[2], d[3], d[6]) for d in done.dead] == [("", "", "no_recipient", "rem:0:0"),
                                                              ("", "", "malformed", "rem:0:1"),
                                                              ("", "", "malformed", "rem:0:2")]
    assert "区农业局" in done.dead[0][4]
    finished = {delivery_key(lost["reminder_id"], "", ""): "dead_lettered",
                delivery_key("rem:0:1", "", "malformed"): "dead_lettered"}
    again = plan([record(0, lost), record(1, b"\xff{")], CONFIG, finished.get)
    assert again.dead == [] and dict(again.sends) == {}


def dead_letter(key: str, reason: str, recipient: str = "", channel: str = "", value: bytes = b"{}"):
    headers = [("reason", reason.encode()), ("recipient", recipient.encode()), ("channel", channel.encode())]
    return SimpleNamespace(key=key.encode(), value=value, headers=headers)


def test_a_resend_picks_what_is_still_dead_lettered():
    from streams.notify.resend import chosen

    letters = [dead_letter("r1", "outcome_unknown", "zhang", "wecom", b"r1"),
               dead_letter("r1", "outcome_unknown", "zhang", "email", b"r1"),
               dead_letter("r2", "outcome_unknown", "commerce", "dingtalk"),  # resent before, delivered since
               dead_letter("r3", "robot_refused", "commerce", "dingtalk", b"r3"),
               dead_letter("rem:0:7", "malformed", "", "malformed"),
               dead_letter("r4", "no_recipient", value=b"r4")]
    states = {"r1|zhang|wecom": "dead_lettered", "r1|zhang|email": "dead_lettered", "r2|commerce|dingtalk":
              "delivered", "r3|commerce|dingtalk": "dead_lettered", "rem:0:7||malformed": "dead_lettered",
              "r4||": "dead_lettered"}
    assert chosen(letters, (), {"outcome_unknown", "malformed"}, states.get) == {
        "r1": (b"r1", ["r1|zhang|wecom", "r1|zhang|email"])}
    assert chosen(letters, {"r3", "r4"}, (), states.get) == {"r3": (b"r3", ["r3|commerce|dingtalk"]),
                                                            "r4": (b"r4", ["r4||"])}
