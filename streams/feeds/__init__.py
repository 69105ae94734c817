"""Reading feeds (JSON Lines, CSV) into records, each with its origin and untouched bytes."""

from streams.feeds.readers import FeedRecord, read_feed, read_jsonl_range

__all__ = ["FeedRecord", "read_feed", "read_jsonl_range"]
