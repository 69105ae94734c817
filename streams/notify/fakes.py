"""Local fakes of the DingTalk custom robot and the WeCom group robot, for tests and demos on a machine with no
Internet: they check what the real ones check (DingTalk's signature and timestamp, the 20-a-minute limit) and
answer with the real error codes; every accepted message is kept."""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
import urllib.parse
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from streams.notify.channels import dingtalk_sign

log = logging.getLogger(__name__)

DINGTALK_PATH, WECOM_PATH = "/robot/send", "/cgi-bin/webhook/send"
#: the real robots' answers
OK = {"errcode": 0, "errmsg": "ok"}
DINGTALK_TOO_FAST = {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
DINGTALK_BAD_SIGN = {"errcode": 310000, "errmsg": "sign not match"}
WECOM_TOO_FAST = {"errcode": 45009, "errmsg": "api freq out of limit"}
WECOM_BAD_KEY = {"errcode": 93000, "errmsg": "invalid webhook url"}


class FakeRobots:
    """A DingTalk robot (access token → secret) and a WeCom robot (keys) on one local HTTP server."""

    def __init__(self, dingtalk: dict[str, str] | None = None, wecom: set[str] | None = None,
                 messages: int = 20, window_s: float = 60.0):
        self.dingtalk, self.wecom = dict(dingtalk or {}), set(wecom or ())
        self.messages, self.window_s = messages, window_s
        self.received: list[dict] = []  #: accepted: {"robot": "dingtalk:<token>"|"wecom:<key>", "body": {...}}
        self.refused: list[dict] = []  #: answered with an error: {"robot", "answer"}
        self.failures: dict[str, list] = {}  #: robot → answers to give before accepting (an int is an HTTP status)
        self._sent: dict[str, deque] = {}
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def dingtalk_webhook(self, token: str) -> str:
        return f"{self.url}{DINGTALK_PATH}?access_token={token}"

    def wecom_webhook(self, key: str) -> str:
        return f"{self.url}{WECOM_PATH}?key={key}"

    def fail(self, robot: str, *answers) -> None:
        """Give these answers (dicts, or HTTP statuses) to the next requests to ``robot`` before accepting."""
        with self._lock:
            self.failures.setdefault(robot, []).extend(answers)

    def bodies(self, robot: str | None = None) -> list[dict]:
        """The accepted message bodies (of one robot, or all)."""
        with self._lock:
            return [m["body"] for m in self.received if robot is None or m["robot"] == robot]

    def __enter__(self) -> "FakeRobots":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, path: str, query: dict[str, str], body: dict) -> tuple[int, dict]:
        """What the robot answers a request: (HTTP status, JSON)."""
        if path == DINGTALK_PATH:
            robot, refused = f"dingtalk:{query.get('access_token')}", self._dingtalk_refusal(query)
            too_fast = DINGTALK_TOO_FAST
        elif path == WECOM_PATH:
            robot = f"wecom:{query.get('key')}"
            refused = None if query.get("key") in self.wecom else WECOM_BAD_KEY
            too_fast = WECOM_TOO_FAST
        else:
            return 404, {"errcode": 404, "errmsg": "not found"}
        with self._lock:
            status, answer = self._answer(robot, refused, too_fast, body)
            if answer.get("errcode") != 0:
                self.refused.append({"robot": robot, "status": status, "answer": answer})
        return status, answer

    def _answer(self, robot: str, refused: dict | None, too_fast: dict, body: dict) -> tuple[int, dict]:
        if refused:
            return 200, refused
        scripted = self.failures.get(robot)
        if scripted:
            answer = scripted.pop(0)
            return (answer, {"errcode": -1, "errmsg": "http"}) if isinstance(answer, int) else (200, answer)
        now, sent = time.monotonic(), self._sent.setdefault(robot, deque())
        while sent and sent[0] <= now - self.window_s:
            sent.popleft()
        if len(sent) >= self.messages:
            return 200, too_fast
        if body.get("msgtype") != "markdown" or not isinstance(body.get("markdown"), dict):
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        sent.append(now)
        self.received.append({"robot": robot, "body": body})
        return 200, OK

    def _dingtalk_refusal(self, query: dict[str, str]) -> dict | None:
        secret = self.dingtalk.get(query.get("access_token", ""))
        if secret is None:
            return {"errcode": 300001, "errmsg": "token is not exist"}
        try:
            timestamp = int(query.get("timestamp", ""))
        except ValueError:
            return DINGTALK_BAD_SIGN
        if abs(time.time() * 1000 - timestamp) > 3_600_000:  # DingTalk: at most an hour off
            return {"errcode": 310000, "errmsg": "invalid timestamp"}
        if not hmac.compare_digest(query.get("sign", ""), dingtalk_sign(secret, timestamp)):
            return DINGTALK_BAD_SIGN
        return None

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                except ValueError:
                    body = {}
                status, answer = fake.answer(url.path, query, body if isinstance(body, dict) else {})
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args) -> None:  # noqa: A002
                log.debug("fake robot: " + format, *args)

        return Handler
