"""How clients authenticate to Kafka: TLS and SASL/SCRAM settings from the environment or a file, never code.

Variables (or ``KEY=VALUE`` lines of the file named by ``FUNNEL_KAFKA_CONFIG``; the environment wins):

- ``KAFKA_SECURITY_PROTOCOL``: PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL
- ``KAFKA_SASL_MECHANISM``: SCRAM-SHA-512 (default), SCRAM-SHA-256 or PLAIN
- ``KAFKA_SASL_USERNAME``, and ``KAFKA_SASL_PASSWORD`` or ``KAFKA_SASL_PASSWORD_FILE``
- ``KAFKA_SSL_CAFILE``: PEM of the CA that signed the brokers' certificates
- ``KAFKA_SSL_CERTFILE``, ``KAFKA_SSL_KEYFILE``: a client certificate, for mutual TLS
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")


class SecurityConfigError(ValueError):
    """The Kafka security settings are incomplete or contradictory."""


@dataclass(frozen=True)
class KafkaSecurity:
    protocol: str = "PLAINTEXT"
    mechanism: str = "SCRAM-SHA-512"
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never printed, logged or reported
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    def describe(self) -> str:
        """For logs and status: who connects how, without the secret."""
        who = f" as {self.username} ({self.mechanism})" if self.uses_sasl else ""
        return f"{self.protocol}{who}"

    def kafka_python(self) -> dict:
        """Keyword arguments for kafka-python's producer, consumer and admin client."""
        if self.protocol == "PLAINTEXT":
            return {}
        out: dict = {"security_protocol": self.protocol}
        if self.uses_sasl:
            out |= {"sasl_mechanism": self.mechanism, "sasl_plain_username": self.username,
                    "sasl_plain_password": self.password}
        if self.uses_tls:
            out |= {"ssl_check_hostname": True, "ssl_cafile": self.cafile, "ssl_certfile": self.certfile,
                    "ssl_keyfile": self.keyfile}
        return out

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.uses_tls:
            return None
        context = ssl.create_default_context(cafile=self.cafile)
        if self.certfile:
            context.load_cert_chain(self.certfile, self.keyfile)
        return context

    def faust_credentials(self):
        """``broker_credentials`` for the Faust app (aiokafka underneath), or None for PLAINTEXT."""
        import faust

        if self.uses_sasl:
            return faust.SASLCredentials(username=self.username, password=self.password,
                                         ssl_context=self.ssl_context(), mechanism=self.mechanism)
        if self.uses_tls:
            return faust.SSLCredentials(self.ssl_context())
        return None


def _read_file(path: str) -> dict[str, str]:
    values = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise SecurityConfigError(f"{path}:{number}: expected KEY=VALUE")
        values[key.strip()] = value.strip()
    return values


def from_environment(env: Mapping[str, str] | None = None) -> KafkaSecurity:
    """The settings of ``FUNNEL_KAFKA_CONFIG`` overlaid by the environment; checked for completeness."""
    env = os.environ if env is None else env
    values = {**(_read_file(env["FUNNEL_KAFKA_CONFIG"]) if env.get("FUNNEL_KAFKA_CONFIG") else {}), **env}
    protocol = values.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper()
    if protocol not in PROTOCOLS:
        raise SecurityConfigError(f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(PROTOCOLS)}, not {protocol}")
    mechanism = values.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512").upper()
    if mechanism not in MECHANISMS:
        raise SecurityConfigError(f"KAFKA_SASL_MECHANISM must be one of {', '.join(MECHANISMS)}, not {mechanism}")
    password = values.get("KAFKA_SASL_PASSWORD")
    if password is None and values.get("KAFKA_SASL_PASSWORD_FILE"):
        password = Path(values["KAFKA_SASL_PASSWORD_FILE"]).read_text(encoding="utf-8").strip()
    security = KafkaSecurity(protocol, mechanism, values.get("KAFKA_SASL_USERNAME"), password,
                             values.get("KAFKA_SSL_CAFILE"), values.get("KAFKA_SSL_CERTFILE"),
                             values.get("KAFKA_SSL_KEYFILE"))
    if security.uses_sasl and not (security.username and security.password):
        raise SecurityConfigError(f"{protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD "
                                  "(or KAFKA_SASL_PASSWORD_FILE)")
    return security


def client_config() -> dict:
    """kafka-python keyword arguments from the environment (empty for PLAINTEXT)."""
    return from_environment().kafka_python()


def explain(error: Exception, bootstrap: str) -> str:
    """A message naming who was refused or why the cluster could not be reached, without any secret."""
    from kafka import errors

    try:
        who = from_environment().describe()
    except SecurityConfigError as e:
        return f"Kafka security settings: {e}"
    if isinstance(error, errors.AuthorizationError):
        return (f"Kafka at {bootstrap} refused {who}: {type(error).__name__} — this account has no ACL "
                "for the operation (see docs/operations.md, Security)")
    if isinstance(error, errors.KafkaTimeoutError) and "SASL" in who:
        return (f"cannot reach Kafka at {bootstrap} as {who}: {error} (a wrong password or CA file "
                "looks the same to the client as a broker that is down)")
    return f"cannot reach Kafka at {bootstrap} ({who}): {error}"
