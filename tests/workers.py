"""`funnel worker` in subprocesses for the integration and fault tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest

from tests.conftest import _free_port_pair


class Worker:
    """`funnel worker` in a subprocess, on its own consumer group and web port."""

    def __init__(self, bootstrap: str, topic: str, log_path, app_id: str | None = None, env: dict | None = None,
                 port: int | None = None):
        self.bootstrap, self.topic, self.log_path, self.env = bootstrap, topic, log_path, env or {}
        self.app_id = app_id or f"w-{uuid.uuid4().hex[:8]}"
        self.port = port or _free_port_pair()  # the same port: a worker restarted as it was
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Worker":
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, **self.env}
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker", "--topic", self.topic,
                                      "--app-id", self.app_id, "--web-port", str(self.port),
                                      "--state-topic", f"{self.topic}.state"],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def get(self, path: str, token: str | None = None) -> dict | list | None:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}")
        token = token or self.env.get("FUNNEL_WEB_TOKEN")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return json.loads(resp.read())
        except OSError:
            return None

    def wait_for(self, path: str, done, timeout: float = 240):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"worker exited; see {self.log_path}"
            last = self.get(path)
            if last is not None and done(last):
                return last
            time.sleep(1)
        raise AssertionError(f"worker did not get there in {timeout:.0f} s; last answer {last}; see {self.log_path}")

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:  # e.g. a clean shutdown waiting for a broker that is gone
                self.proc.kill()
                self.proc.wait(timeout=60)
        self.log.close()


@pytest.fixture
def workers(tmp_path):
    started: list[Worker] = []

    def start(bootstrap, topic, name="worker", app_id=None, env=None, port=None):
        # The workers of a test share a state directory, as on one machine: each takes a checkpoint slot of its own.
        env = {"FUNNEL_WORKER_STATE_DIR": str(tmp_path / "worker-state"), **(env or {})}
        w = Worker(bootstrap, topic, tmp_path / f"{name}-{len(started)}.log", app_id, env, port).start()
        started.append(w)
        return w
    yield start
    for w in started:
        w.kill(signal.SIGTERM)
