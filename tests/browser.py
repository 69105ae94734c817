"""`funnel serve` in a subprocess and a headless system Chromium (Playwright) for the web tests.

The fixtures are registered once in tests/conftest.py; a module imports only the helpers (``signed_in``):
``serve_app`` is a module-scoped factory, ``server = serve_app(source=replay_dir)`` (or ``worker_url=``),
started once per module on a free port with its own state directory, database and secret and
``--insecure-cookies`` (plain http; or HTTPS with ``args=("--tls-cert", C, "--tls-key", K)``);
``server.make_user("department", "区商务局")`` adds an account through ``funnel users add``;
``browser_page`` is a fresh context and page of the session's Chromium (``page.external_requests`` lists every
request that left the server's origin); ``signed_in(page, server, user)`` signs in through the form.
"""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import _free_port_pair

CHROMIUM = "/usr/bin/chromium"
_names = itertools.count(1)


@dataclass(frozen=True)
class Account:
    """A user made for a test, with its clear password."""

    username: str
    password: str
    role: str
    department: str | None = None


class Serve:
    """`funnel serve` in a subprocess with its own state directory, database and secret."""

    def __init__(self, home: Path, source: Path | None = None, worker_url: str | None = None,
                 args: tuple[str, ...] = (), env: dict | None = None):
        self.home, self.port = Path(home), _free_port_pair()
        self.home.mkdir(parents=True, exist_ok=True)
        self.tls = "--tls-cert" in args  # HTTPS, and the Secure cookie; else plain http and --insecure-cookies
        self.url = f"http{'s' if self.tls else ''}://127.0.0.1:{self.port}"
        self.db = self.home / "serve.sqlite3"
        self.bulletins = self.home / "bulletins"
        self.env = {**os.environ, "FUNNEL_STATE_DIR": str(self.home), "FUNNEL_SERVE_DB": str(self.db),
                    "FUNNEL_SERVE_SECRET": secrets.token_urlsafe(40), "FUNNEL_BULLETINS": str(self.bulletins),
                    **(env or {})}
        self.args = [*(("--source", str(source)) if source else ()),
                     *(("--worker-url", worker_url) if worker_url else ()), *args]
        self.log_path = self.home / "serve.log"
        self.proc: subprocess.Popen | None = None

    def funnel(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        """``funnel ARGS`` with this server's environment (its database); fails the test on a non-zero exit."""
        done = subprocess.run([sys.executable, "-m", "streams.cli", *args], env=self.env, input=stdin,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"funnel {' '.join(args)}: {done.stderr}"
        return done

    def start(self, timeout: float = 60) -> "Serve":
        """Start the server and wait until /healthz answers."""
        self.log = open(self.log_path, "ab")
        plain = () if self.tls else ("--insecure-cookies",)
        self.proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "serve", "--port", str(self.port),
                                      *plain, *self.args],
                                     env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"funnel serve exited {self.proc.returncode}: {self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2, context=_unverified()):
                    return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise AssertionError(f"funnel serve did not answer in {timeout} s: {self.log_path.read_text()}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()

    def make_user(self, role: str = "bureau", department: str | None = None, username: str | None = None,
                  password: str | None = None, display_name: str | None = None) -> Account:
        """A new account through ``funnel users add --password-stdin``."""
        username = username or f"{role}{next(_names)}"
        password = password or secrets.token_urlsafe(12)
        args = ["users", "add", username, "--role", role, "--password-stdin"]
        args += ["--department", department] if department else []
        args += ["--display-name", display_name] if display_name else []
        self.funnel(*args, stdin=password + "\n")
        return Account(username, password, role, department)


def _unverified():
    """A TLS context for the test's self-signed certificate (the health check only)."""
    import ssl

    return ssl._create_unverified_context()


def make_user(server: Serve, role: str = "bureau", department: str | None = None, **kw) -> Account:
    """``server.make_user(...)``, as a function."""
    return server.make_user(role, department, **kw)


@pytest.fixture(scope="module")
def serve_app(tmp_path_factory):
    """A factory: ``serve_app(source=DIR | worker_url=URL, args=(...), env={...})`` starts `funnel serve`
    (stopped when the module ends)."""
    started: list[Serve] = []

    def start(source: Path | None = None, worker_url: str | None = None, args: tuple[str, ...] = (),
              env: dict | None = None) -> Serve:
        server = Serve(tmp_path_factory.mktemp("serve"), source, worker_url, tuple(args), env)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def chromium():
    """The system's Chromium, headless, through Playwright (never a downloaded browser), for one module: Playwright's
    sync API keeps an event loop running on the main thread while it lives, and a later test's asyncio.run()
    would fail with "cannot be called from a running event loop"."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (make setup installs it)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium):
    """A fresh context (no cookies), Chinese locale, a laptop's viewport; ``page.external_requests`` lists every
    request to another origin than 127.0.0.1 (a page must make none)."""
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900},
                                   accept_downloads=True)
    page = context.new_page()
    page.external_requests = []
    page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "https://127.0.0.1", "data:", "blob:",
                                                            "about:"))
            else page.external_requests.append(r.url))
    yield page
    context.close()


def signed_in(page, server: Serve, user: Account, next_path: str = "/") -> None:
    """Sign ``user`` in through the form and wait until the page has left /login."""
    page.goto(f"{server.url}/login?next={next_path}")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", user.password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url, timeout=15_000)
