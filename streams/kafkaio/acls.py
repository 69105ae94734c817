"""Kafka ACLs for the accounts of the platform. A feed account may only write events (and their dead letters)."""

from __future__ import annotations

from streams.config import dlq_topic


def feed_account_acls(user: str, topic: str) -> list:
    """WRITE and DESCRIBE on the event topic and its DLQ, nothing else: no READ, no other topic.

    WRITE implies idempotent production (KIP-679), so ingest's idempotent producer needs no cluster ACL.
    """
    from kafka.admin import ACL, ACLOperation, ACLPermissionType, ResourcePattern, ResourceType

    return [ACL(f"User:{user}", "*", operation, ACLPermissionType.ALLOW, ResourcePattern(ResourceType.TOPIC, name))
            for name in (topic, dlq_topic(topic)) for operation in (ACLOperation.WRITE, ACLOperation.DESCRIBE)]


def describe(acl) -> str:
    """One line per ACL, as ``kafka-acls.sh --list`` would show it."""
    pattern = acl.resource_pattern
    return (f"{acl.principal} {acl.permission_type.name} {acl.operation.name} on "
            f"{pattern.resource_type.name} {pattern.resource_name} from host {acl.host}")


def grant(bootstrap: str, acls: list) -> list[str]:
    """Create the ACLs (idempotent: Kafka ignores an existing identical binding); returns them described."""
    from kafka.admin import KafkaAdminClient

    from streams.kafkaio.security import client_config

    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), **client_config())
    try:
        result = admin.create_acls(acls)
    finally:
        admin.close()
    if result["failed"]:
        acl, error = result["failed"][0]
        raise PermissionError(f"could not create {describe(acl)}: {error}")
    return [describe(acl) for acl in acls]
