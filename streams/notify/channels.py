"""Sending a digest: DingTalk custom robots (markdown, ``timestamp``+HMAC-SHA256 signature), WeCom group robots
(markdown) and email (SMTP); each robot held to its rate limit, failures retried with exponential backoff and jitter."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import smtplib
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from email.message import EmailMessage
from typing import Callable

from streams.notify.digest import Digest
from streams.notify.routing import NotifyConfig, Recipient, Robot, Smtp

log = logging.getLogger(__name__)

#: DingTalk: 130101 "send too fast" (over 20 a minute), -1 system busy; WeCom: 45009 over the frequency limit
RETRYABLE_CODES = {"dingtalk": {130101, -1}, "wecom": {45009, -1}}
HTTP_TIMEOUT_S = 15.0


class DeliveryError(Exception):
    """A delivery that failed: ``reason`` for the dead letter, and whether trying again may help."""

    def __init__(self, reason: str, detail: str, retryable: bool):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail, self.retryable = reason, detail, retryable


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")), before URL-encoding."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def dingtalk_url(robot: Robot, timestamp_ms: int) -> str:
    """A DingTalk webhook with ``timestamp`` and ``sign`` added when the robot has a signing secret."""
    if not robot.secret:
        return robot.webhook
    query = urllib.parse.urlencode({"timestamp": timestamp_ms, "sign": dingtalk_sign(robot.secret, timestamp_ms)})
    return f"{robot.webhook}{'&' if '?' in robot.webhook else '?'}{query}"


def robot_body(kind: str, digest: Digest) -> dict:
    """The JSON of a markdown message: DingTalk's {title, text}, WeCom's {content}."""
    if kind == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": digest.title, "text": digest.text}}
    return {"msgtype": "markdown", "markdown": {"content": digest.text}}


def post_json(url: str, body: dict, timeout_s: float = HTTP_TIMEOUT_S) -> dict:
    """POST a JSON body and return the JSON answer; network errors and 5xx/429 are retryable, other 4xx not."""
    request = urllib.request.Request(url, data=json.dumps(body, ensure_ascii=False).encode(), method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            raw = response.read()
    except urllib.error.HTTPError as e:
        raise DeliveryError("http_error", f"HTTP {e.code}", e.code >= 500 or e.code == 429) from e
    except (urllib.error.URLError, OSError) as e:
        raise DeliveryError("network_error", str(getattr(e, "reason", e)), True) from e
    try:
        answer = json.loads(raw)
    except ValueError as e:
        raise DeliveryError("bad_answer", raw[:200].decode("utf-8", "replace"), True) from e
    return answer if isinstance(answer, dict) else {"errcode": None, "errmsg": str(answer)}


def check_answer(kind: str, answer: dict) -> None:
    """Raise unless the robot answered errcode 0; rate limiting and busy codes are retryable."""
    code = answer.get("errcode")
    if code == 0:
        return
    retryable = code in RETRYABLE_CODES[kind]
    reason = "rate_limited" if code in (130101, 45009) else "robot_refused"
    raise DeliveryError(reason, f"{kind} errcode {code}: {answer.get('errmsg', '')}", retryable)


def send_robot(robot: Robot, digest: Digest, now_ms: Callable[[], int] | None = None) -> None:
    """Post a digest to a DingTalk or WeCom robot; raise DeliveryError unless it was accepted."""
    url = dingtalk_url(robot, (now_ms or _now_ms)()) if robot.kind == "dingtalk" else robot.webhook
    check_answer(robot.kind, post_json(url, robot_body(robot.kind, digest)))


def send_email(smtp: Smtp, to: tuple[str, ...], digest: Digest) -> None:
    """Mail a digest (its markdown as plain UTF-8 text); SMTP 4xx and connection errors are retryable."""
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = digest.title, smtp.sender, ", ".join(to)
    message.set_content(digest.text)
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s) as client:
            if smtp.starttls:
                client.starttls()
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            client.send_message(message)
    except smtplib.SMTPResponseException as e:
        raise DeliveryError("smtp_refused", f"{e.smtp_code} {e.smtp_error!r}", 400 <= e.smtp_code < 500) from e
    except smtplib.SMTPRecipientsRefused as e:
        raise DeliveryError("smtp_refused", f"recipients refused: {sorted(e.recipients)}", False) from e
    except (smtplib.SMTPException, OSError) as e:
        raise DeliveryError("network_error", f"{type(e).__name__}: {e}", True) from e


def _now_ms() -> int:
    return int(time.time() * 1000)


class RateLimiter:
    """At most ``messages`` sends in any ``window_s`` seconds (a sliding window, as the robots count)."""

    def __init__(self, messages: int, window_s: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.messages, self.window_s, self.clock, self.sleep = messages, window_s, clock, sleep
        self.sent: deque[float] = deque()

    def acquire(self) -> float:
        """Wait until one more send is allowed, count it, and return how long it waited."""
        waited = 0.0
        while True:
            now = self.clock()
            while self.sent and self.sent[0] <= now - self.window_s:
                self.sent.popleft()
            if len(self.sent) < self.messages:
                self.sent.append(now)
                return waited
            pause = self.sent[0] + self.window_s - now
            self.sleep(pause)
            waited += pause

    def settle(self) -> None:
        """Count the last send from when it ended: the robot counted it on arrival, after ``acquire``."""
        if self.sent:
            self.sent[-1] = max(self.sent[-1], self.clock())


def backoff_delays(retries: int, base_s: float, cap_s: float, rng: random.Random) -> list[float]:
    """The pauses before each retry: exponential from ``base_s``, capped at ``cap_s``, with jitter (50-100 %)."""
    return [min(cap_s, base_s * 2 ** n) * rng.uniform(0.5, 1.0) for n in range(retries)]


class Sender:
    """Delivers digests to a recipient's channels under the config's rate limits and retry policy."""

    def __init__(self, config: NotifyConfig, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None):
        self.config, self.sleep, self.rng = config, sleep, rng or random.Random()
        self.limiters: dict[str, RateLimiter] = {}

    def limiter(self, robot: Robot) -> RateLimiter:
        """The one rate limiter of a robot (by webhook: two recipients may share a group's robot)."""
        if robot.webhook not in self.limiters:
            self.limiters[robot.webhook] = RateLimiter(robot.messages, robot.window_s, sleep=self.sleep)
        return self.limiters[robot.webhook]

    def attempt(self, recipient: Recipient, channel: str, digest: Digest) -> None:
        """One try on one channel (a robot's turn waited for first)."""
        if channel == "email":
            send_email(self.config.smtp, recipient.email, digest)
            return
        robot = getattr(recipient, channel)
        limiter = self.limiter(robot)
        limiter.acquire()
        try:
            send_robot(robot, digest)
        finally:
            limiter.settle()

    def deliver(self, recipient: Recipient, channel: str, digest: Digest) -> int:
        """Send with retries; return the attempts it took, or raise the last DeliveryError (``exhausted`` set)."""
        delays = backoff_delays(self.config.retries, self.config.backoff_s, self.config.max_backoff_s, self.rng)
        for attempt in range(len(delays) + 1):
            try:
                self.attempt(recipient, channel, digest)
                return attempt + 1
            except DeliveryError as e:
                if not e.retryable or attempt == len(delays):
                    e.attempts = attempt + 1
                    raise
                pause = delays[attempt]
                if e.reason == "rate_limited":  # the robot counts a window: wait for it to pass
                    pause = max(pause, getattr(recipient, channel).window_s)
                log.warning("%s to %s failed (%s), retry %d of %d in %.1f s", channel, recipient.name, e,
                            attempt + 1, len(delays), pause)
                self.sleep(pause)
        raise AssertionError("unreachable")
