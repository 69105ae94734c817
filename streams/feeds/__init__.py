"""Reading feeds (JSON Lines, CSV) into records, each with its origin and untouched bytes."""

from streams.feeds.readers import FeedRecord, feed_records, is_json_lines, read_feed, read_jsonl_range

__all__ = ["FeedRecord", "feed_records", "is_json_lines", "read_feed", "read_jsonl_range"]
