"""`funnel notify` against a real broker, local fake DingTalk and WeCom robots and an aiosmtpd server: each
reminder delivered once per recipient and channel, grouped into digests, across a SIGKILL and with two notifiers."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from streams.kafkaio.consumer import read_topic
from streams.kafkaio.records import header_value
from streams.notify.fakes import FakeRobots
from streams.notify.notifier import reminder_topics

SECRET = "SEC0a1b2c3d4e5f+/="
TOKEN_RE = re.compile(r"R\d{4}")
PROJECT_RE = re.compile(r":P(\d{4}):")


class Mailbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:  # aiosmtpd checks its own port when it starts: it needs a real one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
def robots():
    with FakeRobots({"commerce": SECRET, "shared": SECRET}, {"zhang"}) as fake:
        yield fake


@pytest.fixture
def reminders(bootstrap) -> str:
    """A new reminders topic (with its dead-letter topic and delivery log) for one test."""
    from streams.kafkaio.topics import ensure_topics

    name = f"reminders-{uuid.uuid4().hex[:10]}"
    ensure_topics(bootstrap, reminder_topics(name))
    return name


def write_config(path: Path, robots: FakeRobots, smtp_port: int, *, messages: int = 20, window_s: float = 60.0,
                 departments: int = 0, retries: int = 3, shared: bool = True) -> Path:
    """A notify.toml routing 区商务局 to DingTalk, leader 张三 to WeCom and email, red_persisting to a supervisor's
    email, and ``departments`` more departments D01… (one recipient each) to one shared DingTalk robot, or to
    a robot each (d01…) unless ``shared``."""
    limit = f"messages = {messages}, window_s = {window_s}"
    text = f"""
link_base = "http://board.local"
[delivery]
retries = {retries}
backoff_s = 0.05
max_backoff_s = 0.5
[smtp]
host = "127.0.0.1"
port = {smtp_port}
sender = "funnel@bureau.example"
[recipients.commerce]
dingtalk = {{ webhook = "{robots.dingtalk_webhook('commerce')}", secret = "{SECRET}", {limit} }}
[recipients.zhang]
wecom = {{ webhook = "{robots.wecom_webhook('zhang')}", {limit} }}
email = {{ to = ["zhang@bureau.example"] }}
[recipients.supervisor]
email = {{ to = "duban@bureau.example" }}
[[rules]]
department = "区商务局"
recipients = ["commerce"]
[[rules]]
leader = "张三"
recipients = ["zhang"]
[[rules]]
kinds = ["red_persisting"]
recipients = ["supervisor"]
"""
    for i in range(1, departments + 1):
        webhook = robots.dingtalk_webhook("shared" if shared else f"d{i:02d}")
        text += f"""
[recipients.d{i:02d}]
dingtalk = {{ webhook = "{webhook}", secret = "{SECRET}", {limit} }}
[[rules]]
department = "D{i:02d}"
recipients = ["d{i:02d}"]
"""
    path.write_text(text, encoding="utf-8")
    return path


def reminder(n: int, kind: str = "colour_worsened", department: str = "区商务局", leader: str = "李四") -> dict:
    """Reminder number ``n``, its text carrying the token R<n> so a delivered message can be traced to it."""
    about = f"2026-03-{n % 28 + 1:02d}"
    return {"reminder_id": f"{kind}:P{n:04d}:{about}:", "kind": kind, "project_id": f"P{n:04d}",
            "project_name": f"项目{n}", "about": about, "milestone": None, "issue_id": None,
            "computed_for": about, "leader": leader, "department": department, "colour": "red", "due": None,
            "text": f"R{n:04d} 项目{n}转为红灯"}


def publish(bootstrap: str, topic: str, records: list[dict]) -> None:
    from streams.kafkaio.producer import event_producer

    producer = event_producer(bootstrap)
    for r in records:
        producer.send(topic, key=r["reminder_id"].encode(), value=json.dumps(r, ensure_ascii=False).encode())
    producer.flush()
    producer.close()


def start_notify(bootstrap: str, topic: str, config: Path, log: Path, *more: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "streams.cli", "--loglevel", "info", "notify", "--config",
                             str(config), "--topic", topic, "--bootstrap-servers", bootstrap, *more],
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def run_notify(bootstrap: str, topic: str, config: Path, log: Path, idle: float = 4.0) -> None:
    """`funnel notify` until nothing new came for ``idle`` seconds; it must exit 0."""
    proc = start_notify(bootstrap, topic, config, log, "--idle-exit", str(idle))
    assert proc.wait(timeout=180) == 0, log.read_text()


def tokens(texts) -> list[str]:
    return [t for text in texts for t in TOKEN_RE.findall(text)]


def robot_tokens(robots: FakeRobots, robot: str) -> list[str]:
    return tokens(b["markdown"].get("text") or b["markdown"].get("content") for b in robots.bodies(robot))


def mail_tokens(mailbox: Mailbox, to: str) -> list[str]:
    return tokens(m.get_content() for m in mailbox.messages if m["To"] == to)


def dead_letters(bootstrap: str, topic: str) -> list[tuple[str, str, str, str]]:
    """The dead letters: (key, reason, recipient, channel)."""
    return [(r.key.decode(), header_value(r, "reason"), header_value(r, "recipient"), header_value(r, "channel"))
            for r in read_topic(bootstrap, f"{topic}.dlq")]


def test_reminders_are_routed_digested_and_delivered_once(bootstrap, reminders, robots, smtp, tmp_path):
    mailbox, port = smtp
    config = write_config(tmp_path / "notify.toml", robots, port)
    due = ([reminder(n) for n in range(1, 26)]  # 区商务局 → DingTalk
           + [reminder(n, leader="张三", department="区住建局") for n in range(26, 31)]  # 张三 → WeCom + email
           + [reminder(31, "red_persisting", leader="张三")]  # → commerce, zhang and the supervisor
           + [reminder(32, department="区农业局")])  # no rule
    publish(bootstrap, reminders, due + due[:5])  # five computed again: the same reminders
    run_notify(bootstrap, reminders, config, tmp_path / "notify.log")

    commerce = [f"R{n:04d}" for n in [*range(1, 26), 31]]
    zhang = [f"R{n:04d}" for n in range(26, 32)]
    assert sorted(robot_tokens(robots, "dingtalk:commerce")) == commerce
    assert len(robots.bodies("dingtalk:commerce")) == 1  # one digest for what was due, not 26 messages
    assert sorted(robot_tokens(robots, "wecom:zhang")) == zhang
    assert sorted(mail_tokens(mailbox, "zhang@bureau.example")) == zhang
    assert mail_tokens(mailbox, "duban@bureau.example") == ["R0031"]
    assert robots.refused == []
    assert dead_letters(bootstrap, reminders) == [(due[-1]["reminder_id"], "no_recipient", "", "")]

    # a restart (a new process of the same group) and the same reminders written again: nothing twice
    publish(bootstrap, reminders, due)
    run_notify(bootstrap, reminders, config, tmp_path / "notify.log")
    assert sorted(robot_tokens(robots, "dingtalk:commerce")) == commerce and len(mailbox.messages) == 2
    assert len(dead_letters(bootstrap, reminders)) == 1

    # a new notifier group, reading the whole topic again: the delivery log still holds it back
    proc = start_notify(bootstrap, reminders, config, tmp_path / "notify.log", "--idle-exit", "4", "--group", "other")
    assert proc.wait(timeout=180) == 0
    assert sorted(robot_tokens(robots, "wecom:zhang")) == zhang and len(dead_letters(bootstrap, reminders)) == 1


def delivered_once_or_unknown(robots: FakeRobots, bootstrap: str, topic: str, expected: list[str]) -> None:
    """Each reminder arrived once; only a send cut off by a kill may be dead-lettered as outcome_unknown (and
    then arrived at most once)."""
    received = robot_tokens(robots, "dingtalk:shared")
    unknown = [key for key, reason, _, _ in dead_letters(bootstrap, topic) if reason == "outcome_unknown"]
    unknown_tokens = {"R" + PROJECT_RE.search(key).group(1) for key in unknown}
    assert len(received) == len(set(received)), "a reminder was delivered twice"
    assert set(received) | unknown_tokens == set(expected)
    assert all(reason == "outcome_unknown" for _, reason, _, _ in dead_letters(bootstrap, topic))
    # at most the one digest in flight at the kill: one department's reminders
    assert len({int(PROJECT_RE.search(key).group(1)) % 12 for key in unknown}) <= 1


def test_each_reminder_once_across_a_sigkill(bootstrap, reminders, robots, smtp, tmp_path):
    mailbox, port = smtp
    # 12 departments share one group robot held to 2 messages a second: 12 digests take ~6 s to send
    robots.messages, robots.window_s = 2, 1.0
    config = write_config(tmp_path / "notify.toml", robots, port, messages=2, window_s=1.0, departments=12)
    due = [reminder(n, department=f"D{n % 12 + 1:02d}") for n in range(1, 61)]
    publish(bootstrap, reminders, due)
    log = tmp_path / "notify.log"
    proc = start_notify(bootstrap, reminders, config, log)
    deadline = time.monotonic() + 120
    while len(robots.bodies("dingtalk:shared")) < 4:
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    killed_at = len(robots.bodies("dingtalk:shared"))
    assert killed_at < 12, "the kill came after the notifier had sent everything: not a mid-run kill"
    run_notify(bootstrap, reminders, config, log)
    delivered_once_or_unknown(robots, bootstrap, reminders, [f"R{n:04d}" for n in range(1, 61)])
    assert robots.refused == []  # the limiter kept within the robot's limit, across the restart too


def test_two_notifiers_share_the_topic_and_deliver_each_once(bootstrap, reminders, robots, smtp, tmp_path):
    mailbox, port = smtp
    robots.dingtalk.update({f"d{i:02d}": SECRET for i in range(1, 13)})
    config = write_config(tmp_path / "notify.toml", robots, port, departments=12, shared=False)
    log = tmp_path / "notify.log"
    first = start_notify(bootstrap, reminders, config, log, "--idle-exit", "12")
    second = start_notify(bootstrap, reminders, config, log, "--idle-exit", "12")
    time.sleep(4)  # both join the group
    for wave in range(4):  # reminders arriving while both run (and while the group may still rebalance)
        publish(bootstrap, reminders, [reminder(n, department=f"D{n % 12 + 1:02d}")
                                       for n in range(wave * 30 + 1, wave * 30 + 31)])
        time.sleep(1)
    assert first.wait(timeout=180) == 0 and second.wait(timeout=180) == 0, log.read_text()
    received = [t for i in range(1, 13) for t in robot_tokens(robots, f"dingtalk:d{i:02d}")]
    assert sorted(received) == [f"R{n:04d}" for n in range(1, 121)]
    assert dead_letters(bootstrap, reminders) == []
    delivered_by = {json.loads(r.value)["by"] for r in read_topic(bootstrap, f"{reminders}.delivered")
                    if json.loads(r.value)["state"] == "delivered"}
    assert len(delivered_by) == 2, "both notifiers delivered a share of the partitions"


def test_from_a_history_exactly_the_reminders_of_section_10_each_once(bootstrap, robots, smtp, tmp_path):
    """End to end: `funnel remind` on test_remind's hand-worked history, then `funnel notify`: each leader gets
    exactly the reminders §10 defines for it (test_remind.EXPECTED), once, also when remind runs again."""
    from tests.integration.test_ingest import funnel
    from tests.integration.test_remind import D, EXPECTED, history, write_feed

    mailbox, port = smtp
    feed = write_feed(tmp_path / "history.jsonl", history())
    topic = f"reminders-{uuid.uuid4().hex[:10]}"
    config = tmp_path / "notify.toml"
    config.write_text(f"""
link_base = "http://board.local"
[smtp]
host = "127.0.0.1"
port = {port}
[recipients.commerce]
dingtalk = {{ webhook = "{robots.dingtalk_webhook('commerce')}", secret = "{SECRET}" }}
[recipients.zhang]
wecom = {{ webhook = "{robots.wecom_webhook('zhang')}" }}
[recipients.zhangmin]
email = {{ to = "zhangmin@bureau.example" }}
[[rules]]
leader = "王伟"
recipients = ["commerce"]
[[rules]]
leader = "赵磊"
recipients = ["commerce"]
[[rules]]
leader = "李强"
recipients = ["zhang"]
[[rules]]
leader = "张敏"
recipients = ["zhangmin"]
""", encoding="utf-8")
    for _ in range(2):  # the day's reminders computed twice: the same records, delivered once
        funnel("remind", "--day", D.isoformat(), "--from-file", str(feed), "--reminder-topic", topic,
               bootstrap=bootstrap)
        run_notify(bootstrap, topic, config, tmp_path / "notify.log")

    delivered = {r.key.decode() for r in read_topic(bootstrap, f"{topic}.delivered")
                 if json.loads(r.value)["state"] == "delivered"}
    assert delivered == {
        "red_persisting:A:2024-05-31:|commerce|dingtalk", "milestone_due:D:2024-05-29:started|commerce|dingtalk",
        "colour_worsened:D:2024-05-30:|commerce|dingtalk", "milestone_due:B:2024-06-03:signed|zhang|wecom",
        "issue_overdue:C:2024-05-27:I1|zhangmin|email"}
    assert {key.split("|")[0] for key in delivered} == EXPECTED
    links = re.compile(r"/projects/(\w+)\)")
    [ding] = robots.bodies("dingtalk:commerce")  # one digest of A's and D's three reminders
    assert sorted(links.findall(ding["markdown"]["text"])) == ["A", "D", "D"]
    [wecom] = robots.bodies("wecom:zhang")
    assert links.findall(wecom["markdown"]["content"]) == ["B"]
    [mail] = mailbox.messages
    assert mail["To"] == "zhangmin@bureau.example" and links.findall(mail.get_content()) == ["C"]
    assert "连续三个月末为红色" in ding["markdown"]["text"] and robots.refused == []
