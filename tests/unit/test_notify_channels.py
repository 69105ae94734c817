"""Sending digests to local fake robots: DingTalk's signature, the markdown bodies, rate limits, retries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import time

import pytest

from streams.notify.channels import (DeliveryError, RateLimiter, Sender, backoff_delays, dingtalk_sign,
                                     dingtalk_url, send_robot)
from streams.notify.digest import Digest
from streams.notify.fakes import DINGTALK_TOO_FAST, FakeRobots
from streams.notify.routing import NotifyConfig, Recipient, Robot, Rule

DIGEST = Digest("督办提醒 1 条", "#### 督办提醒 · 商务局\n- 项目P1转为红灯", ("colour_worsened:P1:2026-03-02:",))


@pytest.fixture
def robots():
    with FakeRobots({"t1": "SECsecret+/="}, {"k1"}) as fake:
        yield fake


def test_the_signature_is_dingtalks_documented_one():
    expected = base64.b64encode(hmac.new(b"SECx", b"1700000000000\nSECx", hashlib.sha256).digest()).decode()
    assert dingtalk_sign("SECx", 1700000000000) == expected
    url = dingtalk_url(Robot("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=a", "SECx"),
                       1700000000000)
    assert url.startswith("https://oapi.dingtalk.com/robot/send?access_token=a&timestamp=1700000000000&sign=")
    assert "+" not in url.split("sign=")[1] and "/" not in url.split("sign=")[1]  # URL-encoded


def test_dingtalk_accepts_a_signed_markdown_message(robots):
    send_robot(Robot("dingtalk", robots.dingtalk_webhook("t1"), "SECsecret+/="), DIGEST)
    assert robots.bodies("dingtalk:t1") == [{"msgtype": "markdown", "markdown": {"title": DIGEST.title,
                                                                                  "text": DIGEST.text}}]


def test_a_wrong_secret_or_stale_timestamp_is_refused_for_good(robots):
    with pytest.raises(DeliveryError) as caught:
        send_robot(Robot("dingtalk", robots.dingtalk_webhook("t1"), "SECwrong"), DIGEST)
    assert caught.value.reason == "robot_refused" and not caught.value.retryable and "310000" in caught.value.detail
    with pytest.raises(DeliveryError, match="invalid timestamp"):
        send_robot(Robot("dingtalk", robots.dingtalk_webhook("t1"), "SECsecret+/="), DIGEST,
                   now_ms=lambda: 1_000_000)
    assert robots.bodies() == []


def test_wecom_markdown_and_its_rate_limit_code(robots):
    robot = Robot("wecom", robots.wecom_webhook("k1"))
    robots.messages = 2
    send_robot(robot, DIGEST)
    send_robot(robot, DIGEST)
    with pytest.raises(DeliveryError) as caught:
        send_robot(robot, DIGEST)
    assert caught.value.reason == "rate_limited" and caught.value.retryable and "45009" in caught.value.detail
    assert robots.bodies("wecom:k1") == [{"msgtype": "markdown", "markdown": {"content": DIGEST.text}}] * 2


def test_rate_limiter_allows_n_per_sliding_window():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    limiter = RateLimiter(20, 60.0, clock=lambda: now[0], sleep=sleep)
    times = []
    for _ in range(45):
        limiter.acquire()
        times.append(now[0])
        now[0] += 0.5
    assert all(sum(1 for t in times if start <= t < start + 60) <= 20 for start in times)
    assert times[20] >= 60 and times[40] >= 120 and times[19] < 10


def test_backoff_grows_with_jitter_and_a_cap():
    delays = backoff_delays(6, 1.0, 10.0, random.Random(7))
    assert [round(d, 3) > 0 for d in delays] == [True] * 6
    assert all(min(10, 2 ** n) * 0.5 <= d <= min(10, 2 ** n) for n, d in enumerate(delays))


def sender(robots, retries=3, messages=20, window_s=60.0):
    slept = []
    recipient = Recipient("商务局", dingtalk=Robot("dingtalk", robots.dingtalk_webhook("t1"), "SECsecret+/=",
                                                  messages, window_s))
    config = NotifyConfig({"商务局": recipient}, (Rule(("商务局",)),), retries=retries, backoff_s=0.01)
    return Sender(config, sleep=lambda s: slept.append(s)), recipient, slept


def test_rate_limited_and_5xx_answers_are_retried(robots):
    send, recipient, slept = sender(robots)
    robots.fail("dingtalk:t1", DINGTALK_TOO_FAST, 502)
    assert send.deliver(recipient, "dingtalk", DIGEST) == 3
    assert len(slept) == 2 and len(robots.bodies()) == 1
    assert slept[0] >= 60.0 and slept[1] < 1  # after "too fast" it waits the robot's window out


def test_retries_exhausted_raise_the_last_error(robots):
    send, recipient, slept = sender(robots, retries=2)
    robots.fail("dingtalk:t1", 503, 503, 503, 503)
    with pytest.raises(DeliveryError) as caught:
        send.deliver(recipient, "dingtalk", DIGEST)
    assert caught.value.attempts == 3 and caught.value.reason == "http_error" and robots.bodies() == []


def test_a_permanent_refusal_is_not_retried(robots):
    send, recipient, slept = sender(robots)
    robots.fail("dingtalk:t1", {"errcode": 300001, "errmsg": "token is not exist"})
    with pytest.raises(DeliveryError) as caught:
        send.deliver(recipient, "dingtalk", DIGEST)
    assert caught.value.attempts == 1 and slept == []


def test_an_unreachable_robot_is_a_retryable_network_error():
    recipient = Recipient("x", wecom=Robot("wecom", "http://127.0.0.1:9/cgi-bin/webhook/send?key=k"))
    config = NotifyConfig({"x": recipient}, (Rule(("x",)),), retries=1, backoff_s=0.01)
    with pytest.raises(DeliveryError) as caught:
        Sender(config, sleep=lambda s: None).deliver(recipient, "wecom", DIGEST)
    assert caught.value.reason == "network_error" and caught.value.attempts == 2


def test_the_sender_keeps_a_robot_under_its_limit(robots):
    robots.messages, robots.window_s = 3, 1.0
    send, recipient, _ = sender(robots, retries=0, messages=3, window_s=1.0)
    send.sleep = time.sleep
    for _ in range(7):
        send.deliver(recipient, "dingtalk", DIGEST)
    assert len(robots.bodies()) == 7 and robots.refused == []
