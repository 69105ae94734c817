"""The routing config, routing a reminder to its recipients, and the digests (pure; no broker, no network)."""

from __future__ import annotations

import pytest

from streams.notify.digest import ROBOT_LIMIT_BYTES, build_digests, describe
from streams.notify.routing import ConfigError, load_config, parse_config, route

CONFIG = """
link_base = "http://board.local"

[recipients.commerce]
dingtalk = { webhook = "http://127.0.0.1:1/robot/send?access_token=t1", secret = "SECabc" }

[recipients.zhang]
wecom = { webhook = "http://127.0.0.1:1/cgi-bin/webhook/send?key=k1" }
email = { to = ["zhang@bureau.example"] }

[recipients.supervisor]
email = { to = "duban@bureau.example" }

[smtp]
host = "127.0.0.1"
port = 2525

[[rules]]
department = "区商务局"
recipients = ["commerce"]

[[rules]]
leader = "张三"
recipients = ["zhang", "commerce"]

[[rules]]
kinds = ["red_persisting"]
recipients = ["supervisor"]
"""


def reminder(kind="colour_worsened", project="P1", about="2026-03-02", department="区商务局", leader="李四",
             text=None, **more) -> dict:
    """A reminder record as the topic project-reminders carries it."""
    target = more.get("milestone") or more.get("issue_id") or ""
    return {"reminder_id": f"{kind}:{project}:{about}:{target}", "kind": kind, "project_id": project,
            "project_name": f"项目{project}", "about": about, "milestone": more.get("milestone"),
            "issue_id": more.get("issue_id"), "computed_for": about, "leader": leader, "department": department,
            "colour": more.get("colour", "red"), "due": more.get("due"), "text": text}


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "notify.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return load_config(path)


def test_routes_by_department_leader_and_kind(config):
    assert route(reminder(), config) == ("commerce",)
    assert route(reminder(leader="张三"), config) == ("commerce", "zhang")
    assert route(reminder(department="区住建局", leader="张三", kind="red_persisting"), config) == (
        "zhang", "commerce", "supervisor")
    assert route(reminder(department="区住建局"), config) == ()


def test_recipient_channels_and_smtp(config):
    assert config.recipients["commerce"].channels() == ("dingtalk",)
    assert config.recipients["commerce"].dingtalk.secret == "SECabc"
    assert config.recipients["zhang"].channels() == ("wecom", "email")
    assert config.recipients["supervisor"].email == ("duban@bureau.example",)
    assert (config.smtp.host, config.smtp.port, config.link_base) == ("127.0.0.1", 2525, "http://board.local")


@pytest.mark.parametrize("text, message", [
    (CONFIG.replace('recipients = ["supervisor"]', 'recipients = ["nobody"]'),
     "rules[3].recipients: no recipient 'nobody'"),
    (CONFIG.replace('kinds = ["red_persisting"]', 'kinds = ["red"]'), "rules[3].kinds"),
    (CONFIG.replace('secret = "SECabc"', 'secrt = "SECabc"'), "recipients.commerce.dingtalk: unknown key 'secrt'"),
    (CONFIG.replace('webhook = "http://127.0.0.1:1/cgi', 'webhook = "ftp://127.0.0.1:1/cgi'),
     "recipients.zhang.wecom.webhook"),
    (CONFIG.replace("[smtp]\nhost", "[smtp]\nhots"), "smtp: unknown key 'hots'"),
    (CONFIG.replace('port = 2525', 'port = "x"'), "smtp.port"),
    (CONFIG.replace('department = "区商务局"\n', 'department = "区商务局\n'), "at line 19"),
])
def test_a_bad_config_names_the_key_or_line(tmp_path, text, message):
    path = tmp_path / "notify.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert message in str(caught.value) and str(path) in str(caught.value)


def test_email_needs_a_mail_server():
    with pytest.raises(ConfigError, match="no \\[smtp\\]"):
        parse_config({"recipients": {"a": {"email": {"to": "a@b.example"}}}, "rules": [{"recipients": ["a"]}]})


def test_one_digest_groups_what_is_due_by_kind():
    due = [reminder("issue_overdue", "P2", issue_id="I-7", text="问题I-7已超期"),
           reminder("colour_worsened", "P1", text="项目P1转为红灯"),
           reminder("milestone_due", "P3", milestone="开工", due="2026-03-05")]
    [digest] = build_digests("商务局", due, link_base="http://board.local")
    assert digest.reminder_ids == ("colour_worsened:P1:2026-03-02:", "milestone_due:P3:2026-03-02:开工",
                                   "issue_overdue:P2:2026-03-02:I-7")
    text = digest.text
    assert text.index("**颜色变差**") < text.index("项目P1转为红灯") < text.index("**节点临期**") < text.index(
        "开工") < text.index("**问题超期**") < text.index("问题I-7已超期")
    assert "共 3 条" in text and "(http://board.local/projects/P2)" in text
    assert "到期日 2026-03-05" in describe(due[2])


def test_digests_split_under_the_robots_limit_and_keep_every_reminder():
    due = [reminder("colour_worsened", f"P{i:04d}", text="项目" + "很长的名称" * 20 + f"{i}转为红灯")
           for i in range(200)]
    digests = build_digests("商务局", due)
    assert len(digests) > 1
    assert all(len(d.text.encode()) <= ROBOT_LIMIT_BYTES for d in digests)
    carried = [r for d in digests for r in d.reminder_ids]
    assert sorted(carried) == sorted(r["reminder_id"] for r in due) and len(set(carried)) == 200
    assert f"（1/{len(digests)}）" in digests[0].title and f"（{len(digests)}/{len(digests)}）" in digests[-1].text


def test_an_overlong_reminder_is_cut_not_dropped():
    [digest] = build_digests("商务局", [reminder(text="长" * 5000)])
    assert len(digest.text.encode()) <= ROBOT_LIMIT_BYTES and digest.text.endswith("…")


def test_the_example_config_loads_and_routes(monkeypatch):
    from pathlib import Path

    monkeypatch.setenv("FUNNEL_SMTP_PASSWORD", "x")
    example = load_config(Path(__file__).resolve().parents[2] / "examples" / "notify.toml")
    assert example.smtp.starttls and example.smtp.password == "x" and example.retries == 5
    assert route(reminder(kind="red_persisting", leader="王伟"), example) == (
        "commerce_group", "leader_wang", "supervision")
    monkeypatch.delenv("FUNNEL_SMTP_PASSWORD")
    with pytest.raises(ConfigError, match="FUNNEL_SMTP_PASSWORD"):
        load_config(Path(__file__).resolve().parents[2] / "examples" / "notify.toml")
