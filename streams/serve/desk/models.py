"""The desk's stored uploads: a planned import waiting for its confirmation, in the serve database (SQLite)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from streams.serve.accounts.models import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS desk_uploads (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    sid TEXT NOT NULL,
    department TEXT,
    file TEXT NOT NULL,
    month TEXT NOT NULL,
    created_at REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('planned', 'sending', 'sent', 'failed')),
    plan TEXT NOT NULL,
    report TEXT
)
"""
#: planned → sending (one confirmation wins) → sent, or failed (may be confirmed again).
PLANNED, SENDING, SENT, FAILED = "planned", "sending", "sent", "failed"


@dataclass(frozen=True)
class Upload:
    """One uploaded ledger: whose, which file and month, its plan (preview, events, rejected rows) and status."""

    id: str
    username: str
    sid: str
    department: str | None
    file: str
    month: str
    created_at: float
    status: str
    plan: dict
    report: dict | None

    @property
    def preview(self) -> dict:
        return self.plan["preview"]


_ready: set[Path] = set()


def database(path: Path):
    """A connection (one transaction) to the serve database, with the desk's table made on first use."""
    path = Path(path)
    if path not in _ready:
        with connect(path) as db:
            db.execute(SCHEMA)
        _ready.add(path)
    return connect(path)


def upload_of(row: sqlite3.Row) -> Upload:
    return Upload(row["id"], row["username"], row["sid"], row["department"], row["file"], row["month"],
                  row["created_at"], row["status"], json.loads(row["plan"]),
                  json.loads(row["report"]) if row["report"] else None)
