"""Feeds in: files and ledgers read into records, and sent to the event topic.

- :mod:`streams.feeds.files`: JSON Lines and CSV feeds → records, each with its origin and untouched bytes
- :mod:`streams.feeds.workbooks`: ledger workbooks and CSVs → cells, ``.xlsx`` out (bounds: ``workbook_guard``)
- :mod:`streams.feeds.ingest`: ``funnel ingest``, records → the event topic, rejected ones → ``<topic>.dlq``
- :mod:`streams.feeds.ledger_import`: ``funnel ledger import`` / ``export``, a month's ledger → its events
"""

from streams.feeds.files import FeedRecord, feed_records, is_json_lines, read_feed, read_jsonl_range

__all__ = ["FeedRecord", "feed_records", "is_json_lines", "read_feed", "read_jsonl_range"]
