"""The accounts database (SQLite): users, sessions, sign-in failures and the audit log, and their rows."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ROLES = ("bureau", "department", "viewer")
ROLE_NAMES = {"bureau": "区商务局", "department": "责任单位", "viewer": "只读"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('bureau', 'department', 'viewer')),
    department TEXT,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    sid TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users(username),
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS signin_failures (
    key TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS signin_failures_key ON signin_failures (key, at);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    username TEXT,
    address TEXT,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class User:
    """A signed-in or stored user; ``department`` is set for the department role."""

    username: str
    role: str
    department: str | None
    display_name: str
    disabled: bool = False

    @property
    def role_name(self) -> str:
        """The role in Chinese, for pages."""
        return ROLE_NAMES.get(self.role, self.role)


_made: set[Path] = set()


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to the accounts database (made on first use), in one transaction committed on success."""
    path = Path(path)
    if path not in _made:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():  # password hashes: the owner only (SQLite gives its -wal and -shm the same mode)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    with closing(sqlite3.connect(path, timeout=30, isolation_level=None)) as db:
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys=ON")
        if path not in _made:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            _made.add(path)
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def user_of(row: sqlite3.Row) -> User:
    """A ``users`` row as a ``User`` (without its hash)."""
    return User(row["username"], row["role"], row["department"], row["display_name"], bool(row["disabled"]))
