"""docker-compose.yml and its Dockerfile, without Docker, so neither rots unnoticed.

The Kafka service's settings agree with each other, and every service built from the project
image (``build: .``) runs its own ``command`` with its own ``environment`` -- interpolated the
way compose does it -- against the session's broker instead of the compose network's."""

from __future__ import annotations

import json
import os
import posixpath
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Mapping

import pytest
import yaml

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"

#: What the test's "shell" gives compose. Only these: the result must not depend on who runs the
#: test (compose would also read their shell and a .env file).
TOKEN = f"compose-test-{uuid.uuid4().hex}"
SHELL = {"FUNNEL_WEB_TOKEN": TOKEN}

#: `docker compose stop` sends SIGTERM, then SIGKILL after this long (compose's default grace period).
STOP_GRACE_S = 10


# ---- compose's interpolation ------------------------------------------------------------------

class ComposeError(Exception):
    """What `docker compose` refuses to start with."""


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def interpolate(text: str, env: Mapping[str, str], unset: list[str]) -> str:
    """``$$``, ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?message}``,
    ``${VAR?message}``, ``${VAR:+other}``, ``${VAR+other}`` (nested), as compose-go does them.
    Variables used without a default and not set become "" (compose warns) and land in ``unset``."""
    out, i = [], 0
    while i < len(text):
        if text[i] != "$":
            out.append(text[i])
            i += 1
        elif text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            depth, j = 1, i + 2
            while j < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            if depth:
                raise ComposeError(f"invalid interpolation format for {text!r}")
            out.append(_expand(text[i + 2:j - 1], env, unset))
            i = j
        elif m := _NAME.match(text, i + 1):
            out.append(_lookup(m.group(), env, unset))
            i = m.end()
        else:
            raise ComposeError(f"invalid interpolation format for {text!r}: a lone $ (write $$)")
    return "".join(out)


def _lookup(name: str, env: Mapping[str, str], unset: list[str]) -> str:
    if name not in env:
        unset.append(name)
        return ""
    return env[name]


def _expand(body: str, env: Mapping[str, str], unset: list[str]) -> str:
    m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?", body, re.S)
    if not m:
        raise ComposeError(f"invalid interpolation format: ${{{body}}}")
    name, op, arg = m.groups()
    if op is None:
        return _lookup(name, env, unset)
    value = env.get(name)
    missing = value is None or (op.startswith(":") and value == "")
    if op.endswith("-"):
        return interpolate(arg, env, unset) if missing else value
    if op.endswith("+"):
        return "" if missing else interpolate(arg, env, unset)
    if missing:
        raise ComposeError(f"required variable {name} is missing a value: {interpolate(arg, env, unset)}".rstrip(": "))
    return value


def _interpolate_values(node, env, unset):
    """Compose interpolates values (not keys) after parsing the YAML."""
    if isinstance(node, dict):
        return {k: _interpolate_values(v, env, unset) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate_values(v, env, unset) for v in node]
    return interpolate(node, env, unset) if isinstance(node, str) else node


def load_compose(env: Mapping[str, str] = SHELL) -> dict:
    unset: list[str] = []
    doc = _interpolate_values(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")), env, unset)
    assert not unset, f"docker-compose.yml reads {sorted(set(unset))} with no default: compose would use ''"
    return doc


def _scalar(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def environment(service: dict, shell: Mapping[str, str] = SHELL) -> dict[str, str]:
    """A service's ``environment`` (mapping or list form); a bare name passes the shell's value on."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
    env = {}
    for key, value in raw.items():
        if value is None:
            if key in shell:
                env[key] = shell[key]
        else:
            env[key] = _scalar(value)
    return env


def command(service: dict) -> list[str]:
    cmd = service.get("command")
    assert cmd, "a service of the project image needs a command (the image has no entrypoint of its own)"
    return shlex.split(cmd) if isinstance(cmd, str) else [_scalar(c) for c in cmd]


def published_ports(service: dict) -> list[tuple[str, int, int]]:
    """(host ip, host port, container port) of the short ``"ip:host:container"`` or long syntax."""
    out = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            out.append((port.get("host_ip", "0.0.0.0"), int(port["published"]), int(port["target"])))
            continue
        parts = str(port).split("/")[0].split(":")
        ip = parts[0] if len(parts) == 3 else "0.0.0.0"
        out.append((ip, int(parts[-2]) if len(parts) > 1 else int(parts[-1]), int(parts[-1])))
    return out


def image_services(doc: dict) -> dict[str, dict]:
    def builds_here(build) -> bool:
        context = build.get("context") if isinstance(build, dict) else build
        return context is not None and posixpath.normpath(str(context)) == "."
    return {name: svc for name, svc in doc["services"].items() if builds_here(svc.get("build"))}


IMAGE_SERVICES = sorted(image_services(yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))))


# ---- the Kafka service ------------------------------------------------------------------------

def kafka_service(doc: dict) -> tuple[str, dict]:
    found = [(n, s) for n, s in doc["services"].items() if str(s.get("image", "")).startswith("apache/kafka")]
    assert len(found) == 1, "expected one apache/kafka service"
    return found[0]


def listeners(value: str) -> dict[str, tuple[str, int]]:
    out = {}
    for item in value.split(","):
        m = re.fullmatch(r"([A-Za-z0-9_]+)://([^:]*):(\d+)", item.strip())
        assert m, f"unparsable listener {item!r}"
        out[m[1]] = (m[2], int(m[3]))
    return out


def compose_network_addresses(doc: dict) -> set[str]:
    """Addresses the broker advertises to other containers (by its service name or hostname)."""
    name, kafka = kafka_service(doc)
    hosts = {name, kafka.get("hostname", name)}
    advertised = listeners(environment(kafka)["KAFKA_ADVERTISED_LISTENERS"])
    return {f"{host}:{port}" for host, port in advertised.values() if host in hosts}


def test_the_kafka_service_settings_agree():
    doc = load_compose()
    name, kafka = kafka_service(doc)
    env = environment(kafka)
    hosts = {name, kafka.get("hostname", name)}
    bound = listeners(env["KAFKA_LISTENERS"])
    advertised = listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    protocols = dict(pair.split(":") for pair in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    controllers = env["KAFKA_CONTROLLER_LISTENER_NAMES"].split(",")

    assert set(bound) | set(advertised) <= set(protocols), "a listener missing from the security protocol map"
    assert set(advertised) <= set(bound), "an advertised listener nobody listens on"
    assert set(controllers) <= set(bound)
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in advertised
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    for voter in env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(","):
        node, address = voter.split("@")
        host, port = address.rsplit(":", 1)
        assert node == env["KAFKA_NODE_ID"] and host in hosts, f"voter {voter} is not this single node"
        assert int(port) in {bound[c][1] for c in controllers}, f"voter {voter} is not on a controller listener"

    published = published_ports(kafka)
    for listener, (host, port) in advertised.items():
        if host in hosts:  # other containers reach the listener's own port
            assert port == bound[listener][1], f"{listener} advertises {host}:{port}, listens on {bound[listener][1]}"
        else:  # clients on the host reach it through a published port
            assert (host, port, bound[listener][1]) in published, \
                f"{listener} advertises {host}:{port}, but no {host}:{port}:{bound[listener][1]} in ports {published}"

    # A single node: every internal topic's replication must fit on it.
    for key, value in env.items():
        if key.endswith(("_REPLICATION_FACTOR", "_MIN_ISR")):
            assert value == "1", f"{key}={value} on a single broker"

    probe = kafka["healthcheck"]["test"]
    assert probe[probe.index("--bootstrap-server") + 1] in compose_network_addresses(doc)


def test_the_services_reach_the_broker_and_wait_for_what_they_need():
    doc = load_compose()
    internal = compose_network_addresses(doc)
    for name, service in image_services(doc).items():
        bootstrap = environment(service).get("KAFKA_BOOTSTRAP_SERVERS")
        assert bootstrap in internal, f"{name}: KAFKA_BOOTSTRAP_SERVERS={bootstrap}, the broker advertises {internal}"
    for name, service in doc["services"].items():
        for dep, how in (service.get("depends_on") or {}).items():
            assert dep in doc["services"], f"{name} depends on a service that is not there: {dep}"
            if how.get("condition") == "service_healthy":
                assert "healthcheck" in doc["services"][dep], f"{name} waits for {dep} to be healthy: no healthcheck"


# ---- the Dockerfile ---------------------------------------------------------------------------

def image_layout() -> dict[str, Path]:
    """Paths in the image → the repository paths the Dockerfile's COPY lines put there."""
    workdir, copied = "/", {}
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words[:1] == ["WORKDIR"]:
            workdir = posixpath.join(workdir, words[1])
        elif words[:1] == ["COPY"]:
            *sources, dest = [w for w in words[1:] if not w.startswith("--")]
            dest = posixpath.normpath(posixpath.join(workdir, dest))
            into = len(sources) > 1 or words[-1].endswith("/")
            for source in sources:
                copied[posixpath.join(dest, posixpath.basename(source)) if into else dest] = REPO / source
    return copied


def on_host(image_path: str) -> Path:
    """The repository path the image has at ``image_path`` (the longest COPY destination above it)."""
    layout = image_layout()
    for dest in sorted(layout, key=len, reverse=True):
        if image_path == dest or image_path.startswith(dest + "/"):
            return layout[dest] / posixpath.relpath(image_path, dest)
    raise AssertionError(f"{image_path} is not in the image: no COPY puts it there")


def test_the_image_has_what_the_commands_need():
    text = DOCKERFILE.read_text(encoding="utf-8")
    workdir = re.findall(r"^WORKDIR\s+(\S+)", text, re.M)[-1]
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    # What `pip install -e .` reads, and what streams reads beside the package
    # (quality/gate.py: expectations; report.py: notebooks; contract/schemas.py: schemas).
    needed = {"pyproject.toml", "constraints.txt", project["project"]["readme"], *wheel["packages"],
              *wheel["force-include"], "expectations", "notebooks"}
    for path in needed:
        assert on_host(posixpath.join(workdir, path)) == REPO / path, f"the image lacks {path}"
    assert re.search(r"pip install .*-c constraints\.txt .*-e \.", text), "the image installs the project"

    from streams.analysis import charts

    debian = {"WenQuanYi Micro Hei": "fonts-wqy-microhei", "Noto Sans CJK SC": "fonts-noto-cjk"}
    assert any(debian[font] in text for font in charts.CJK_FONTS if font in debian), \
        "the notebooks' charts (charts.setup) refuse to draw without a CJK font: install one in the image"


# ---- the worker's token -----------------------------------------------------------------------

def worker_services(doc: dict) -> dict[str, dict]:
    return {n: s for n, s in image_services(doc).items() if command(s)[:2] == ["funnel", "worker"]}


@pytest.mark.parametrize("shell", [{}, {"FUNNEL_WEB_TOKEN": ""}], ids=["unset", "empty"])
def test_compose_refuses_to_start_without_the_token(shell):
    with pytest.raises(ComposeError, match="required variable FUNNEL_WEB_TOKEN is missing a value: set "):
        load_compose(shell)
    workers = worker_services(load_compose())
    assert workers and all(environment(s)["FUNNEL_WEB_TOKEN"] == TOKEN for s in workers.values())


# ---- running the services' commands -----------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def option(cmd: list[str], flag: str) -> str | None:
    for i, word in enumerate(cmd):
        if word == flag and i + 1 < len(cmd):
            return cmd[i + 1]
        if word.startswith(flag + "="):
            return word.split("=", 1)[1]
    return None


def with_option(cmd: list[str], flag: str, value: str) -> list[str]:
    """``cmd`` with ``flag`` set to ``value`` (replaced in either spelling, else appended)."""
    out, i = [], 0
    while i < len(cmd):
        if cmd[i] == flag:
            i += 2
        elif cmd[i].startswith(flag + "="):
            i += 1
        else:
            out.append(cmd[i])
            i += 1
    return out + [f"{flag}={value}"]


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, bytes] | None:
    """(status, body), or None while nothing answers."""
    try:
        with _NO_PROXY.open(urllib.request.Request(url, headers=dict(headers or {})), timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Service:
    """One service's command and environment, moved off the compose network onto the test's machine."""

    def __init__(self, name: str, bootstrap: str, tmp_path: Path, shell: Mapping[str, str] = SHELL):
        doc = load_compose(shell)
        self.name, self.spec = name, doc["services"][name]
        self.cmd = command(self.spec)
        internal = compose_network_addresses(doc)
        home = tmp_path / "home"
        home.mkdir(exist_ok=True)
        self.cwd, self.log_path = tmp_path, tmp_path / f"{name}.log"
        # What the container has besides the service's environment: the image's PATH (here the
        # virtualenv, installed from the same pyproject.toml and constraints.txt), a HOME, and the
        # broker's client security settings when the session's broker is an external one.
        base = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                "HOME": str(home), "LANG": "C.UTF-8"}
        base.update({k: v for k, v in os.environ.items()
                     if k.startswith(("KAFKA_SECURITY_", "KAFKA_SASL_", "KAFKA_SSL_")) or k == "FUNNEL_KAFKA_CONFIG"})
        # The commands run unchanged, but their defaults (project-events, group funnel-worker,
        # project-state) are moved to fresh names through the CLI's environment variables, so the
        # test never touches a real topic or group when KAFKA_BOOTSTRAP_SERVERS names a shared broker.
        self.topic = f"compose-{name}-{uuid.uuid4().hex[:8]}"
        isolation = {"FUNNEL_TOPIC": self.topic, "FUNNEL_APP_ID": f"{self.topic}-app",
                     "FUNNEL_STATE_TOPIC": f"{self.topic}.state"}
        service_env = environment(self.spec, shell)
        for key, value in service_env.items():  # kafka:19092 → the session's broker
            for address in internal:
                value = value.replace(address, bootstrap)
            service_env[key] = value
        self.env = {**base, **isolation, **service_env}
        self.proc: subprocess.Popen | None = None

    def run(self, timeout: float) -> subprocess.CompletedProcess:
        return subprocess.run(self.cmd, env=self.env, cwd=self.cwd, capture_output=True, text=True, timeout=timeout)

    def start(self) -> None:
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=self.cwd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def wait_until(self, probe, what: str, timeout: float = 180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"{self.name} exited {self.proc.returncode}:\n{self.output()[-4000:]}"
            if (answer := probe()) is not None:
                return answer
            time.sleep(0.5)
        raise AssertionError(f"{self.name}: no {what} within {timeout:.0f} s:\n{self.output()[-4000:]}")

    def stop(self) -> float:
        """SIGTERM, as `docker compose stop` sends it; returns the seconds until the process ended."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)
        return time.monotonic() - started

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=60)
        if self.proc is not None:
            self.log.close()


def container_port(service: Service, flag: str, envvar: str, default: int) -> int:
    """The port the command listens on inside its container; compose must publish that one."""
    port = int(option(service.cmd, flag) or service.env.get(envvar) or default)
    targets = [target for _, _, target in published_ports(service.spec)]
    assert port in targets, f"{service.name} listens on {port}, compose publishes {targets}"
    return port


def check_topics(service: Service) -> None:
    done = service.run(timeout=180)
    assert done.returncode == 0, f"{service.cmd} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    created = json.loads(done.stdout.strip().splitlines()[-1])["created"]
    assert sorted(created) == [service.topic, f"{service.topic}.dlq"]


def check_worker(service: Service) -> None:
    from streams.cli.worker import worker

    default = next(p.default for p in worker.params if p.name == "web_port")
    container_port(service, "--web-port", "FUNNEL_WEB_PORT", default)
    port = free_port()  # not 6066 itself: a developer's worker may be running on it
    service.cmd = with_option(service.cmd, "--web-port", str(port))
    url = f"http://127.0.0.1:{port}/summary"
    service.start()
    try:
        # 503 (Retry-After) is the worker's "not yet": no partitions assigned or restored yet.
        status, body = service.wait_until(lambda: (a := http(url, bearer(TOKEN))) and a[0] != 503 and a or None,
                                          "answer on /summary")
        assert status == 200, f"/summary with the token answered {status}: {body[:500]!r}"
        assert "accounting" in json.loads(body)
        assert http(url)[0] == 401
        assert http(url, bearer("not-the-token"))[0] == 401
        took = service.stop()
        assert took < STOP_GRACE_S, f"the worker took {took:.1f} s to stop: compose would SIGKILL it"
    finally:
        service.kill()


def check_jupyter(service: Service) -> None:
    from jupyter_server.serverapp import DEFAULT_JUPYTER_SERVER_PORT

    container_port(service, "--port", "JUPYTER_PORT", DEFAULT_JUPYTER_SERVER_PORT)
    # Substituted: --port (a free one: 8888 may be a developer's JupyterLab) and --notebook-dir
    # (the compose value is a path in the image; a copy of what the Dockerfile puts there, so the
    # server cannot write into the checkout).
    image_dir = option(service.cmd, "--notebook-dir")
    notebooks = service.cwd / "notebooks"
    if image_dir:
        shutil.copytree(on_host(image_dir), notebooks)
        service.cmd = with_option(service.cmd, "--notebook-dir", str(notebooks))
    port = free_port()
    service.cmd = with_option(service.cmd, "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    service.start()
    try:
        status, body = service.wait_until(lambda: http(f"{base}/api"), "answer on /api")
        assert status == 200 and "version" in json.loads(body)
        assert http(f"{base}/api/contents")[0] == 403, "JupyterLab listens beyond the container with no auth"
        token = service.wait_until(lambda: (m := re.search(r"[?&]token=([0-9a-f]+)", service.output())) and m[1],
                                   "login URL with a token in the log", timeout=30)
        status, body = http(f"{base}/api/contents", {"Authorization": f"token {token}"})
        assert status == 200
        if image_dir:
            listed = {item["name"] for item in json.loads(body)["content"]}
            assert {p.name for p in notebooks.glob("*.ipynb")} <= listed and listed
        took = service.stop()
        assert took < STOP_GRACE_S, f"JupyterLab took {took:.1f} s to stop: compose would SIGKILL it"
    finally:
        service.kill()


def check_serve(service: Service) -> None:
    from streams.cli.serve import serve

    default = next(p.default for p in serve.params if p.name == "port")
    container_port(service, "--port", "FUNNEL_SERVE_PORT", default)
    port = free_port()
    service.cmd = with_option(service.cmd, "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    service.start()
    try:
        status, _ = service.wait_until(lambda: http(f"{base}/healthz"), "answer on /healthz")
        assert status == 200
        assert http(f"{base}/api/board")[0] == 401, "the board's figures answered without a session"
        status, body = http(f"{base}/board")  # redirected to the sign-in page
        assert status == 200 and "登录" in body.decode()
        # docker compose run --rm serve funnel users add …: the accounts land in the volume's path (/app/.funnel)
        added = subprocess.run(["funnel", "users", "add", "admin", "--role", "bureau", "--password-stdin"],
                               input="a long enough password\n", env=service.env, cwd=service.cwd,
                               capture_output=True, text=True, timeout=120)
        assert added.returncode == 0, added.stderr
        assert (service.cwd / ".funnel" / "serve.sqlite3").exists(), "the accounts are not in the volume's path"
        took = service.stop()
        assert took < STOP_GRACE_S, f"funnel serve took {took:.1f} s to stop: compose would SIGKILL it"
    finally:
        service.kill()


def check_notify(service: Service) -> None:
    """The notifier reads its routing file and the reminders topic: a reminder routed to nobody is dead-lettered."""
    from kafka import KafkaProducer

    from streams.kafkaio.consumer import read_topic
    from streams.kafkaio.topics import ensure_topics
    from streams.notify.notifier import reminder_topics

    config = service.cwd / "notify.toml"
    shutil.copy(REPO / "examples" / "notify.toml", config)  # what the volume mounts at FUNNEL_NOTIFY_CONFIG
    service.env["FUNNEL_NOTIFY_CONFIG"] = str(config)
    service.env["FUNNEL_SMTP_PASSWORD"] = "not-a-real-password"  # the example's smtp reads it from the environment
    reminders = service.env["FUNNEL_REMINDER_TOPIC"] = f"{service.topic}.reminders"
    reminder = {"reminder_id": "colour_worsened:C-1:2024-06-03:", "kind": "colour_worsened", "project_id": "C-1",
                "project_name": "无人负责的项目", "about": "2024-06-03", "milestone": None, "issue_id": None,
                "computed_for": "2024-06-03", "leader": "无此领导", "department": "无此单位", "colour": "red",
                "due": None, "text": "项目督查颜色转红"}
    bootstrap = service.env["KAFKA_BOOTSTRAP_SERVERS"]
    ensure_topics(bootstrap, reminder_topics(reminders))  # as funnel remind or the worker makes them
    service.start()
    try:
        producer = KafkaProducer(bootstrap_servers=bootstrap)
        producer.send(reminders, key=reminder["reminder_id"].encode(), value=json.dumps(reminder).encode())
        producer.flush()
        producer.close()
        dead = service.wait_until(lambda: list(read_topic(bootstrap, f"{reminders}.dlq", timeout_s=5)) or None,
                                  "the unrouted reminder dead-lettered")
        assert [r.key.decode() for r in dead] == [reminder["reminder_id"]]
        took = service.stop()
        assert took < STOP_GRACE_S, f"funnel notify took {took:.1f} s to stop: compose would SIGKILL it"
    finally:
        service.kill()


CHECKS = {("funnel", "kafka", "topics"): check_topics, ("funnel", "worker"): check_worker,
          ("jupyter", "lab"): check_jupyter, ("funnel", "serve"): check_serve, ("funnel", "notify"): check_notify}


@pytest.mark.parametrize("name", IMAGE_SERVICES)
def test_the_service_runs_its_compose_command(name, bootstrap, tmp_path):
    service = Service(name, bootstrap, tmp_path)
    checks = [check for prefix, check in CHECKS.items() if service.cmd[:len(prefix)] == list(prefix)]
    assert checks, f"{name}: no check for {service.cmd}; add one to CHECKS in {Path(__file__).name}"
    checks[0](service)


@pytest.mark.parametrize("token", [None, ""], ids=["unset", "empty"])
def test_the_worker_command_refuses_to_start_without_the_token(token, bootstrap, tmp_path):
    """What compose now guards against: the worker's compose command without FUNNEL_WEB_TOKEN."""
    for name in worker_services(load_compose()):
        service = Service(name, bootstrap, tmp_path)
        if token is None:
            service.env.pop("FUNNEL_WEB_TOKEN", None)
        else:
            service.env["FUNNEL_WEB_TOKEN"] = token
        service.cmd = with_option(service.cmd, "--web-port", str(free_port()))
        done = service.run(timeout=120)
        assert done.returncode != 0
        assert "FUNNEL_WEB_TOKEN" in done.stdout + done.stderr
