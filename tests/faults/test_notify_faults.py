"""`funnel notify` when delivery fails: a robot failing for a while is retried; one failing for good, a wrong
signature, a mail server that is down, a malformed record: each dead-lettered with its reason, never lost."""

from __future__ import annotations

import json

from streams.kafkaio.consumer import read_topic
from streams.kafkaio.records import header_value
from streams.notify.fakes import DINGTALK_TOO_FAST, WECOM_TOO_FAST
from tests.integration.test_notify import (SECRET, publish, reminder, reminders, robot_tokens, robots,  # noqa: F401
                                           run_notify, smtp, start_notify, write_config)


def dead(bootstrap: str, topic: str) -> dict[tuple[str, str], tuple[str, str, str]]:
    """Dead letters by (key, channel): (reason, detail, recipient); every one must be distinct."""
    letters = [((r.key.decode(), header_value(r, "channel")),
                (header_value(r, "reason"), header_value(r, "detail"), header_value(r, "recipient")))
               for r in read_topic(bootstrap, f"{topic}.dlq")]
    assert len(dict(letters)) == len(letters), "a delivery was dead-lettered twice"
    return dict(letters)


def test_failing_for_a_while_is_retried_then_delivered(bootstrap, reminders, robots, smtp, tmp_path):
    mailbox, port = smtp
    robots.window_s = 0.5
    config = write_config(tmp_path / "notify.toml", robots, port, retries=4, window_s=0.5)
    robots.fail("dingtalk:commerce", 502, DINGTALK_TOO_FAST, {"errcode": -1, "errmsg": "系统繁忙"})
    robots.fail("wecom:zhang", WECOM_TOO_FAST)
    publish(bootstrap, reminders, [reminder(1), reminder(2, leader="张三", department="区住建局")])
    run_notify(bootstrap, reminders, config, tmp_path / "notify.log")
    assert robot_tokens(robots, "dingtalk:commerce") == ["R0001"] and robot_tokens(robots, "wecom:zhang") == ["R0002"]
    refusals = sorted((r["robot"], r["status"], r["answer"]["errcode"]) for r in robots.refused)
    assert refusals == [("dingtalk:commerce", 200, -1), ("dingtalk:commerce", 200, 130101),
                        ("dingtalk:commerce", 502, -1), ("wecom:zhang", 200, 45009)]
    assert dead(bootstrap, reminders) == {}
    assert "retry 3 of 4" in (tmp_path / "notify.log").read_text()


def test_undeliverable_reminders_are_dead_lettered_with_the_reason(bootstrap, reminders, robots, smtp, tmp_path):
    mailbox, port = smtp
    config = write_config(tmp_path / "notify.toml", robots, port, retries=2)
    text = config.read_text().replace(f'secret = "{SECRET}"', 'secret = "SECwrong"', 1)  # commerce signs wrongly
    config.write_text(text.replace(f"port = {port}", "port = 9"), encoding="utf-8")  # and no mail server
    robots.fail("wecom:zhang", 500, 500, 500)  # down for longer than the retries last
    ok = reminder(3, "red_persisting", leader="王五", department="区住建局")  # email only, and mail is down
    publish(bootstrap, reminders, [reminder(1), reminder(2, leader="张三", department="区住建局"), ok])
    from streams.kafkaio.producer import event_producer

    producer = event_producer(bootstrap)
    producer.send(reminders, key=b"junk", value=b"{not json")
    producer.send(reminders, key=b"partial", value=json.dumps({"reminder_id": "x"}).encode())
    producer.flush()
    producer.close()
    run_notify(bootstrap, reminders, config, tmp_path / "notify.log")

    letters = dead(bootstrap, reminders)
    refused = letters[(reminder(1)["reminder_id"], "dingtalk")]
    assert refused[0] == "robot_refused" and "310000" in refused[1] and refused[2] == "commerce"
    assert "after 1 attempts" in refused[1]  # a wrong signature is not retried
    down = letters[(reminder(2)["reminder_id"], "wecom")]
    assert down[0] == "http_error" and "after 3 attempts" in down[1] and down[2] == "zhang"
    for key, recipient in ((reminder(2)["reminder_id"], "zhang"), (ok["reminder_id"], "supervisor")):
        mail = letters[(key, "email")]
        assert mail[0] == "network_error" and mail[2] == recipient
    malformed = [v for (k, _), v in letters.items() if k.startswith(f"{reminders}:")]
    assert [v[0] for v in malformed] == ["malformed", "malformed"]
    assert len(letters) == 6 and robots.bodies() == [] and mailbox.messages == []

    # run again (the same group, then a new one reading all): nothing is dead-lettered twice, nothing sent
    run_notify(bootstrap, reminders, config, tmp_path / "notify.log")
    again = start_notify(bootstrap, reminders, config, tmp_path / "notify.log", "--idle-exit", "4", "--group", "g2")
    assert again.wait(timeout=180) == 0
    assert dead(bootstrap, reminders) == letters and robots.bodies() == []


def test_dead_letters_are_resent_once_after_the_fault_is_fixed(bootstrap, reminders, robots, smtp, tmp_path):
    from tests.integration.test_ingest import funnel

    mailbox, port = smtp
    config = write_config(tmp_path / "notify.toml", robots, port, retries=0)
    good = config.read_text()
    config.write_text(good.replace(f'secret = "{SECRET}"', 'secret = "SECwrong"', 1), encoding="utf-8")
    publish(bootstrap, reminders, [reminder(1), reminder(2), reminder(3, leader="张三", department="区住建局")])
    run_notify(bootstrap, reminders, config, tmp_path / "notify.log")
    assert {v[0] for v in dead(bootstrap, reminders).values()} == {"robot_refused"}
    assert robots.bodies("dingtalk:commerce") == [] and robot_tokens(robots, "wecom:zhang") == ["R0003"]

    config.write_text(good, encoding="utf-8")  # the secret fixed
    done = funnel("notify", "--topic", reminders, "--resend-reason", "robot_refused", bootstrap=bootstrap)
    assert done.stdout.strip() == f"2 dead-lettered deliveries written back to {reminders}"
    run_notify(bootstrap, reminders, config, tmp_path / "notify.log")
    assert sorted(robot_tokens(robots, "dingtalk:commerce")) == ["R0001", "R0002"]
    assert robot_tokens(robots, "wecom:zhang") == ["R0003"]  # delivered the first time, never again

    # resending again finds nothing still dead-lettered: nothing is sent twice
    done = funnel("notify", "--topic", reminders, "--resend-reason", "robot_refused", "--resend",
                  reminder(1)["reminder_id"], bootstrap=bootstrap)
    assert done.stdout.strip() == f"0 dead-lettered deliveries written back to {reminders}"
    run_notify(bootstrap, reminders, config, tmp_path / "notify.log")
    assert sorted(robot_tokens(robots, "dingtalk:commerce")) == ["R0001", "R0002"] and len(mailbox.messages) == 1
