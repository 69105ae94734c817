"""Security against a local broker with a SASL_SSL (SCRAM-SHA-512) listener, ACLs on, and a CA made here.

Client settings come only from the environment; a producer-only feed account can write events and
nothing else; secrets never appear in any output; the worker's web server needs a token when exposed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import psutil
import pytest

from streams import config, synthetic
from streams.kafkaio.local_broker import LocalBroker, SaslSslListener
from streams.kafkaio.security import KafkaSecurity, SecurityConfigError, from_environment
from tests.conftest import _free_port_pair
from tests.integration.test_ingest import funnel as funnel_plain
from tests.tls import make_ca_and_broker_cert
from tests.workers import workers  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

ADMIN = ("funnel-admin", "adm1n-S3cret-7f3a")
FEED = ("bureau-feed", "f33d-S3cret-91c2")
SECRETS = (ADMIN[1], FEED[1])


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory):
    root = tmp_path_factory.mktemp("secure")
    truststore, keystore = make_ca_and_broker_cert(root / "tls")
    broker = LocalBroker(root / "state", config.cache_dir(), port=_free_port_pair(), heap="512m",
                         secure=SaslSslListener(keystore, truststore, ADMIN, {FEED[0]: FEED[1]}))
    broker.up()
    try:
        yield broker, truststore
    finally:
        broker.down()


def as_account(truststore, account: tuple[str, str] | None) -> dict:
    """The environment of a client connecting as ``account`` (None: no credentials at all)."""
    if account is None:
        return {"KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}
    return {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SSL_CAFILE": str(truststore),
            "KAFKA_SASL_USERNAME": account[0], "KAFKA_SASL_PASSWORD": account[1]}


def funnel(*args: str, bootstrap: str, env: dict, check: bool = True, timeout: float = 300):
    done = subprocess.run([sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, **env})
    if check and done.returncode != 0:
        raise AssertionError(f"funnel {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    for secret in SECRETS:
        assert secret not in done.stdout + done.stderr, "a secret leaked into the output"
    return done


def test_settings_come_from_the_environment_or_a_file(tmp_path):
    assert from_environment({}) == KafkaSecurity()
    (tmp_path / "kafka.env").write_text("# bureau cluster\nKAFKA_SECURITY_PROTOCOL=SASL_SSL\n"
                                        "KAFKA_SASL_USERNAME=from-file\nKAFKA_SASL_PASSWORD_FILE=" +
                                        str(tmp_path / "pw") + "\n")
    (tmp_path / "pw").write_text("s3cret\n")
    got = from_environment({"FUNNEL_KAFKA_CONFIG": str(tmp_path / "kafka.env"), "KAFKA_SASL_USERNAME": "env-wins"})
    assert (got.protocol, got.username, got.password) == ("SASL_SSL", "env-wins", "s3cret")
    assert "s3cret" not in repr(got) and "s3cret" not in got.describe()
    with pytest.raises(SecurityConfigError, match="KAFKA_SASL_USERNAME"):
        from_environment({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"})


def test_clients_without_or_with_wrong_credentials_are_refused(secure_broker, tmp_path):
    broker, truststore = secure_broker
    feed = tmp_path / "feed.jsonl"
    synthetic.generate_file(feed, projects=20, seed=1)
    for env in (as_account(truststore, None), as_account(truststore, (FEED[0], "wrong-password"))):
        done = funnel("ingest", str(feed), "--delivery-timeout", "5", bootstrap=broker.bootstrap,
                      env=env, check=False, timeout=120)
        assert done.returncode == 1 and "cannot reach Kafka" in done.stderr


def test_a_feed_account_writes_events_and_nothing_else(secure_broker, tmp_path):
    broker, truststore = secure_broker
    admin, feed_account = as_account(truststore, ADMIN), as_account(truststore, FEED)
    topic = "bureau-events"
    funnel("kafka", "topics", "--topic", topic, bootstrap=broker.bootstrap, env=admin)
    granted = funnel("kafka", "grant-feed", FEED[0], "--topic", topic, bootstrap=broker.bootstrap, env=admin)
    assert granted.stdout.count(f"User:{FEED[0]} ALLOW") == 8  # two topics, two transactional-id prefixes

    feed = tmp_path / "feed.jsonl"
    synthetic.generate_file(feed, projects=200, seed=3)
    sent = json.loads(funnel("ingest", str(feed), "--topic", topic, "--json", bootstrap=broker.bootstrap,
                             env=feed_account).stdout)
    assert sent["ok"] and sent["received"] == len(feed.read_bytes().splitlines())

    refused = funnel("replay", "--topic", topic, bootstrap=broker.bootstrap, env=feed_account, check=False)
    assert refused.returncode == 1 and f"refused SASL_SSL as {FEED[0]}" in refused.stderr

    from kafka import KafkaProducer
    from kafka.errors import TopicAuthorizationFailedError

    producer = KafkaProducer(bootstrap_servers=[broker.bootstrap], max_block_ms=10_000,
                             **KafkaSecurity("SASL_SSL", "SCRAM-SHA-512", *FEED, cafile=str(truststore)).kafka_python())
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            producer.send(config.STATE_TOPIC, key=b"P", value=b"{}").get(timeout=20)
    finally:
        producer.close()

    replayed = json.loads(funnel("replay", "--topic", topic, "--json", "--as-of", "2024-12-31",
                                 bootstrap=broker.bootstrap, env=admin).stdout)
    assert replayed["accounting"]["received"] == sent["received"]


def test_the_worker_runs_over_sasl_ssl_and_its_web_needs_a_token_when_exposed(secure_broker, tmp_path, workers):
    broker, truststore = secure_broker
    admin = as_account(truststore, ADMIN)
    topic = "bureau-live"
    funnel("kafka", "topics", "--topic", topic, bootstrap=broker.bootstrap, env=admin)
    feed = tmp_path / "feed.jsonl"
    synthetic.generate_file(feed, projects=100, seed=4)
    funnel("ingest", str(feed), "--topic", topic, bootstrap=broker.bootstrap, env=admin)
    expected = json.loads(funnel("replay", "--topic", topic, "--json", "--as-of", "2024-12-31",
                                 bootstrap=broker.bootstrap, env=admin).stdout)
    expected.pop("topic")  # where the replay read up to: no figure of the worker's

    exposed = funnel("worker", "--topic", topic, "--web-host", "0.0.0.0", bootstrap=broker.bootstrap, env=admin,
                     check=False, timeout=60)
    assert exposed.returncode != 0 and "FUNNEL_WEB_TOKEN" in exposed.stderr

    token = "web-t0ken-5d1e"
    worker = workers(broker.bootstrap, topic, "secure", env={**admin, "FUNNEL_WEB_TOKEN": token})
    live = worker.wait_for("/summary?as_of=2024-12-31", lambda d: d["accounting"]["received"] >= 
                           expected["accounting"]["received"])
    assert live == expected
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/summary", timeout=30)
    assert refused.value.code == 401
    assert worker.get("/summary", token="not-the-token") is None
    listening = {c.laddr.ip for c in psutil.Process(worker.proc.pid).net_connections("tcp")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == worker.port}
    assert listening == {"127.0.0.1"}  # the default: this machine only
    worker.kill()
    log = worker.log_path.read_text(errors="replace")
    assert not any(secret in log for secret in (*SECRETS, token)), "a secret leaked into the worker's log"


def test_plain_brokers_still_need_no_settings(bootstrap, topic, tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith(("KAFKA_SECURITY", "KAFKA_SASL", "KAFKA_SSL"))]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("FUNNEL_KAFKA_CONFIG", raising=False)
    assert from_environment() == KafkaSecurity()  # no security setting of any kind
    feed = tmp_path / "feed.jsonl"
    synthetic.generate_file(feed, projects=10, seed=2)
    sent = json.loads(funnel_plain("ingest", str(feed), "--topic", topic, "--json", bootstrap=bootstrap).stdout)
    lines = len(feed.read_bytes().splitlines())
    assert sent["ok"] and sent["received"] == lines and sent["delivered"] + sent["dead_lettered"] == lines
    replayed = json.loads(funnel_plain("replay", "--topic", topic, "--json", "--as-of", "2024-12-31",
                                       bootstrap=bootstrap).stdout)
    assert replayed["accounting"]["received"] == lines
