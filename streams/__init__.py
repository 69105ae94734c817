"""Erqi District investment-project funnel: an event-sourced data platform.

The package is laid out by what each part does (tests/unit/test_layout.py keeps it so):

- ``streams.contract``   the event contract: vocabulary, acceptance rules, upcasting (pure)
- ``streams.core``       DOMAIN.md's rules as pure functions over Polars frames (no I/O)
- ``streams.feeds``      feeds in: feed files and ledger workbooks read, ``funnel ingest``, the ledger import
- ``streams.replay``     every figure rebuilt from the log (a file or a topic), with no worker
- ``streams.worker``     the live Faust worker (``streams.app`` is its ``faust -A`` entry point)
- ``streams.serve``      the web board and desk; ``streams.documents`` documents out (bulletin, report)
- ``streams.quality``    the Great Expectations suites and gate; ``streams.kafkaio`` Kafka I/O
- ``streams.operations`` ``funnel status``; ``streams.synthetic`` the deterministic synthetic data set
- ``streams.cli``        the ``funnel`` command
"""
