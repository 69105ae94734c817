"""The audit log: sign-ins (accepted, refused, limited), sign-outs, uploads, confirmations, bulletins made."""

from __future__ import annotations

import json
import logging
from typing import Any

from streams.core.clock import now_cst
from streams.serve.accounts.models import User, connect
from streams.serve.settings import ServeSettings

log = logging.getLogger(__name__)


def record(settings: ServeSettings, user: User | str | None, action: str, detail: dict[str, Any] | None = None,
           address: str | None = None) -> None:
    """Append one entry (CST time, who, from where, what) to the audit table."""
    name = user.username if isinstance(user, User) else user
    text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str)
    with connect(settings.db) as db:
        db.execute("INSERT INTO audit (at, username, address, action, detail) VALUES (?, ?, ?, ?, ?)",
                   (now_cst().isoformat(timespec="seconds"), name, address, action, text))
    log.info("audit: %s %s from %s %s", action, name, address, text)


def entries(settings: ServeSettings, limit: int = 100, action: str | None = None,
            username: str | None = None) -> list[dict[str, Any]]:
    """The newest ``limit`` entries, newest first, optionally of one action or user."""
    where, args = [], []
    if action:
        where.append("action = ?")
        args.append(action)
    if username:
        where.append("username = ?")
        args.append(username)
    sql = "SELECT * FROM audit" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC LIMIT ?"
    with connect(settings.db) as db:
        rows = db.execute(sql, (*args, limit)).fetchall()
    return [{**dict(row), "detail": json.loads(row["detail"])} for row in rows]
