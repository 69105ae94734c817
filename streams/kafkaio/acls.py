"""Kafka ACLs for the accounts of the platform. A feed account may only write events (and their dead letters)."""

from __future__ import annotations

from streams.config import dlq_topic


def feed_account_acls(user: str, topic: str) -> list:
    """WRITE and DESCRIBE on the event topic and its DLQ, and on the transactional ids that ingest and the
    ledger import use for that topic (prefixes ``funnel-ingest:<topic>:``, ``funnel-ledger:<topic>:``);
    nothing else: no READ, no other topic.

    WRITE implies idempotent production (KIP-679), so the producer needs no cluster ACL; a transactional
    producer needs WRITE and DESCRIBE on its transactional id (docs/transactions-ingest.md).
    """
    from kafka.admin import ACL, ACLOperation, ACLPermissionType, ResourcePattern, ResourceType
    from kafka.admin import ACLResourcePatternType as Pattern

    operations = (ACLOperation.WRITE, ACLOperation.DESCRIBE)
    resources = [ResourcePattern(ResourceType.TOPIC, name) for name in (topic, dlq_topic(topic))]
    resources += [ResourcePattern(ResourceType.TRANSACTIONAL_ID, f"funnel-{command}:{topic}:", Pattern.PREFIXED)
                  for command in ("ingest", "ledger")]
    return [ACL(f"User:{user}", "*", operation, ACLPermissionType.ALLOW, resource)
            for resource in resources for operation in operations]


def describe(acl) -> str:
    """One line per ACL, as ``kafka-acls.sh --list`` would show it."""
    pattern = acl.resource_pattern
    prefixed = " (every name beginning so)" if pattern.pattern_type.name == "PREFIXED" else ""
    return (f"{acl.principal} {acl.permission_type.name} {acl.operation.name} on "
            f"{pattern.resource_type.name} {pattern.resource_name}{prefixed} from host {acl.host}")


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
