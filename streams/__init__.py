"""Erqi District investment-project funnel: an event-sourced data platform.

The package is laid out by role:

- ``streams.contract``  the event contract: vocabulary, acceptance rules, upcasting (pure)
- ``streams.feeds``     reading JSON Lines and CSV feeds into records
- ``streams.kafkaio``   Kafka I/O: local broker, topics, producing (imperative shell)
- ``streams.synthetic`` the deterministic synthetic data set
- ``streams.cli``       the ``funnel`` command
"""
