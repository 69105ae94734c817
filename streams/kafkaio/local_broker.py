"""A real single-node Apache Kafka broker (KRaft) run from Kafka's jars, for development and tests.

Jars come from Maven Central through ``broker/pom.xml`` into a cache outside the
work tree, and are checked against the checksums committed in ``broker/``.
Config, data, logs and the pid live in a state directory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

BROKER_FILES = Path(__file__).resolve().parents[2] / "broker"
POM = BROKER_FILES / "pom.xml"

log = logging.getLogger(__name__)


class BrokerError(RuntimeError):
    """The local broker could not be fetched, started or stopped."""


def kafka_version() -> str:
    """The pinned Kafka version: the one place it is written is ``broker/pom.xml``."""
    return re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text()).group(1)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_sums(path: Path) -> dict[str, str]:
    pairs = (line.split() for line in path.read_text().splitlines() if line.strip())
    return {name: digest for digest, name in pairs}


def maven_command(out: Path, *, quiet: bool) -> list[str]:
    """Maven's copy of Kafka's runtime jars into ``out``, in batch mode; quiet: no download progress."""
    return ["mvn", "--batch-mode", *(["--no-transfer-progress"] if quiet else []), "-f", str(POM),
            "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies",
            f"-DoutputDirectory={out}", "-DincludeScope=runtime"]


def fetch_jars(cache: Path, *, quiet: bool = True) -> Path:
    """Kafka's jars in ``cache/kafka-<version>/lib``, resolved once and verified every time.

    Quiet, Maven's output is kept and shown only if it fails (its last lines, in the error);
    otherwise (``funnel kafka fetch -v``) it goes to stderr as Maven writes it.
    """
    version = kafka_version()
    lib = cache / f"kafka-{version}" / "lib"
    sums_file = BROKER_FILES / f"jars-{version}.sha256"
    if not (lib / f"kafka_2.13-{version}.jar").exists():
        log.info("resolving Kafka %s's jars from Maven Central into %s", version, lib)
        tmp = lib.with_name("lib.partial")
        subprocess.run(["rm", "-rf", str(tmp)], check=True)
        if quiet:
            done = subprocess.run(maven_command(tmp, quiet=True), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, errors="replace")
        else:
            done = subprocess.run(maven_command(tmp, quiet=False), stdout=2, stderr=2)  # stdout stays for output
        if done.returncode != 0:
            shown = "\n".join((done.stdout or "").splitlines()[-60:])
            raise BrokerError(f"maven could not resolve Kafka {version} (exit {done.returncode})"
                              + (f"; its output ended:\n{shown}" if shown else ""))
        subprocess.run(["rm", "-rf", str(lib)], check=True)
        tmp.rename(lib)
    actual = {p.name: _sha256(p) for p in sorted(lib.glob("*.jar"))}
    if not sums_file.exists():  # first resolution of a new version: record, to be committed
        sums_file.write_text("".join(f"{d}  {n}\n" for n, d in actual.items()))
        log.warning("recorded the checksums of Kafka %s's jars in %s: commit it", version, sums_file)
    expected = _read_sums(sums_file)
    if actual != expected:
        bad = sorted(n for n in expected.keys() | actual.keys() if expected.get(n) != actual.get(n))
        raise BrokerError(f"Kafka jars in {lib} do not match {sums_file.name}: {', '.join(bad[:5])}")
    return lib


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


@dataclass(frozen=True)
class SaslSslListener:
    """In place of PLAINTEXT: a SASL_SSL listener (SCRAM-SHA-512 over TLS) with ACLs enforced.

    ``keystore`` is a PEM file with the broker's private key and certificate, ``truststore`` a PEM
    file with the CA. ``users`` (name → password) get SCRAM credentials when the storage is
    formatted; ``admin`` is a super user and the broker's own identity.
    """

    keystore: Path
    truststore: Path
    admin: tuple[str, str]
    users: dict[str, str] = field(default_factory=dict)

    def broker_properties(self) -> dict[str, str]:
        user, password = self.admin
        return {
            "listeners": "SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners": "SASL_SSL://127.0.0.1:{port}",
            "inter.broker.listener.name": "SASL_SSL",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL",
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config":
                "org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="{user}" password="{password}";',
            "ssl.keystore.type": "PEM", "ssl.keystore.location": str(self.keystore),
            "ssl.truststore.type": "PEM", "ssl.truststore.location": str(self.truststore),
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            # ANONYMOUS is the broker itself on the loopback-only CONTROLLER listener
            "super.users": f"User:{user};User:ANONYMOUS",
            "allow.everyone.if.no.acl.found": "false",
        }

    def scram_arguments(self) -> list[str]:
        out = []
        for name, password in {self.admin[0]: self.admin[1], **self.users}.items():
            out += ["--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]"]
        return out

    def admin_client_config(self) -> dict:
        from streams.kafkaio.security import KafkaSecurity

        return KafkaSecurity("SASL_SSL", "SCRAM-SHA-512", *self.admin, cafile=str(self.truststore)).kafka_python()


@dataclass
class LocalBroker:
    state: Path
    cache: Path
    port: int = 9092
    heap: str = "1g"
    secure: SaslSslListener | None = None

    @property
    def controller_port(self) -> int:
        return self.port + 1

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def _pid_file(self) -> Path:
        return self.state / "broker.pid"

    def pid(self) -> int | None:
        try:
            pid = int(self._pid_file.read_text())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def _running_port(self) -> int:
        try:
            return int((self.state / "broker.port").read_text())
        except (OSError, ValueError):
            return self.port

    def status(self) -> dict:
        pid = self.pid()
        port = self._running_port() if pid else self.port
        return {"running": pid is not None, "pid": pid, "bootstrap": f"127.0.0.1:{port}",
                "answering": _port_open(port), "state_dir": str(self.state), "kafka_version": kafka_version()}

    def _write_config(self) -> Path:
        lines = (BROKER_FILES / "server.properties.template").read_text().splitlines()
        overrides = self.secure.broker_properties() if self.secure else {}
        lines = [line for line in lines if line.split("=", 1)[0] not in overrides]
        lines += [f"{key}={value}" for key, value in overrides.items()]
        config = self.state / "server.properties"
        config.touch(mode=0o600)  # it may hold the broker's own SCRAM password
        ports = {"port": self.port, "controller_port": self.controller_port, "data_dir": self.state / "data"}
        config.write_text("\n".join(line.format(**ports) if not line.startswith("listener.name.") else line
                                     for line in lines) + "\n")
        return config

    def _format(self, lib: Path, config: Path) -> None:
        id_file = self.state / "cluster.id"
        if not id_file.exists():
            out = subprocess.run(["java", "-cp", f"{lib}/*", "kafka.tools.StorageTool", "random-uuid"],
                                 capture_output=True, text=True, check=True)
            id_file.write_text(out.stdout.strip().splitlines()[-1])
        done = subprocess.run(["java", "-cp", f"{lib}/*", "kafka.tools.StorageTool", "format",
                               "-t", id_file.read_text().strip(), "-c", str(config), "--ignore-formatted",
                               *(self.secure.scram_arguments() if self.secure else [])],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise BrokerError(f"formatting {self.state / 'data'} failed: {done.stdout}{done.stderr}"
                              " (a data dir formatted by another cluster: run `funnel kafka down --wipe`)")

    def up(self, timeout: float = 90) -> str:
        """Start the broker unless it runs; return its bootstrap address once it answers."""
        if self.pid():
            self.port = self._running_port()
            log.info("the local broker already runs (pid %s) on %s", self.pid(), self.bootstrap)
            self._wait_ready(timeout)
            return self.bootstrap
        lib = fetch_jars(self.cache)
        if _port_open(self.port) or _port_open(self.controller_port):
            raise BrokerError(f"port {self.port} or {self.controller_port} is taken by another process")
        for d in ("data", "logs"):
            (self.state / d).mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        self._format(lib, config)
        log4j = BROKER_FILES / "log4j2.properties"
        cmd = ["java", f"-Xms{self.heap}", f"-Xmx{self.heap}", "-XX:+UseG1GC",
               f"-Dkafka.logs.dir={self.state / 'logs'}", f"-Dlog4j2.configurationFile={log4j}",
               "-cp", f"{lib}/*", "kafka.Kafka", str(config)]
        with (self.state / "logs" / "stdout.log").open("ab") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)  # outlives the command that started it
        self._pid_file.write_text(str(proc.pid))
        (self.state / "broker.port").write_text(str(self.port))
        (self.state / "bootstrap").write_text(self.bootstrap)
        log.info("started the local broker (Kafka %s, pid %d) on %s, state in %s",
                 kafka_version(), proc.pid, self.bootstrap, self.state)
        try:
            self._wait_ready(timeout)
        except BrokerError as e:
            log.error("the local broker (pid %d) on %s did not come up, stopping it: %s",
                      proc.pid, self.bootstrap, str(e).splitlines()[0])
            self.down()
            raise
        return self.bootstrap

    def _wait_ready(self, timeout: float) -> None:
        # The PLAINTEXT port opens only once the broker is unfenced; then one metadata call.
        started = time.monotonic()
        deadline, attempts, why = started + timeout, 0, "not tried"
        while time.monotonic() < deadline:
            if not self.pid():
                raise BrokerError(f"the broker exited while starting; see {self.log_tail()}")
            attempts += 1
            why = self._not_answering()
            if why is None:
                log.info("the local broker answers on %s (after %.1f s)", self.bootstrap, time.monotonic() - started)
                return
            log.debug("the local broker on %s does not answer yet (attempt %d, %s); retrying in 0.5 s",
                      self.bootstrap, attempts, why)
            time.sleep(0.5)
        raise BrokerError(f"the broker did not answer within {timeout:.0f} s ({attempts} attempts, the last: {why}); "
                          f"see {self.log_tail()}")

    def _not_answering(self) -> str | None:
        """None once the broker answers a metadata request, else why it does not (yet)."""
        if not _port_open(self.port):
            return f"port {self.port} closed"
        from kafka.admin import KafkaAdminClient

        try:
            admin = KafkaAdminClient(bootstrap_servers=[self.bootstrap], request_timeout_ms=5000,
                                     **(self.secure.admin_client_config() if self.secure else {}))
            admin.list_topics()
            admin.close()
            return None
        except Exception as e:  # not ready yet: the caller polls again until its deadline, and reports this
            return f"{type(e).__name__}: {e}"

    def log_tail(self, lines: int = 20) -> str:
        log = self.state / "logs" / "server.log"
        if not log.exists():
            return str(log)
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        return f"{log}:\n" + "\n".join(tail)

    def down(self, timeout: float = 60, *, wipe: bool = False) -> bool:
        """Controlled shutdown by SIGTERM to the recorded pid, SIGKILL after ``timeout``."""
        pid = self.pid()
        if pid:
            log.info("stopping the local broker (pid %d) on %s", pid, self.bootstrap)
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _alive(pid):
                log.warning("the local broker (pid %d) did not stop within %.0f s of SIGTERM: sending SIGKILL",
                            pid, timeout)
                os.kill(pid, signal.SIGKILL)
            try:  # reap it if it is our child (tests start it in-process)
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        self._pid_file.unlink(missing_ok=True)
        if pid:
            log.info("stopped the local broker (pid %d)", pid)
        if wipe:
            subprocess.run(["rm", "-rf", str(self.state / "data"), str(self.state / "cluster.id")], check=True)
            log.info("wiped the local broker's data in %s", self.state / "data")
        return pid is not None
