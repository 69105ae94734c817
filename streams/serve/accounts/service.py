"""Users, password hashes (argon2id), sessions with an idle limit, sign-in limits; ``current_user`` and roles."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import HTTPException, Request

from streams.core.clock import now_cst
from streams.serve.accounts.models import ROLE_NAMES, ROLES, User, connect, user_of
from streams.serve.settings import ServeSettings

log = logging.getLogger(__name__)

HASHER = PasswordHasher()
#: A hash of nothing anyone knows, verified for unknown names so that they take as long as known ones.
_DECOY = HASHER.hash(secrets.token_urlsafe(16))
MIN_PASSWORD = 8
#: ``last_seen`` is written at most this often (seconds): a page load is not a database write.
TOUCH_EVERY = 60


class NotSignedIn(Exception):
    """No valid session: a page redirects to /login, an /api path answers 401."""


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: the user, or why not, and for a limit how long to wait."""

    user: User | None
    reason: str | None = None
    retry_after: int = 0


def check_password(password: str) -> None:
    """Refuse a password too short to keep (ValueError)."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password has at least {MIN_PASSWORD} characters")


def check_user(role: str, department: str | None) -> None:
    """A role must be known; a department user names its department (ValueError)."""
    if role not in ROLES:
        raise ValueError(f"role {role!r}: one of {', '.join(ROLES)}")
    if role == "department" and not (department or "").strip():
        raise ValueError("a department user needs --department (e.g. 区商务局)")


def add_user(settings: ServeSettings, username: str, role: str, password: str, department: str | None = None,
             display_name: str | None = None) -> User:
    """Store a new user with an argon2id hash of ``password`` (ValueError if the name is taken)."""
    check_user(role, department)
    check_password(password)
    username = username.strip()
    if not username or len(username) > 64:
        raise ValueError("a user name has 1 to 64 characters")
    user = User(username, role, (department or "").strip() or None, display_name or username)
    with connect(settings.db) as db:
        if db.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
            raise ValueError(f"user {username!r} exists")
        db.execute("INSERT INTO users (username, role, department, display_name, password_hash, disabled, created_at)"
                   " VALUES (?, ?, ?, ?, ?, 0, ?)", (user.username, user.role, user.department, user.display_name,
                                                     HASHER.hash(password), now_cst().isoformat(timespec="seconds")))
    return user


def users(settings: ServeSettings) -> list[User]:
    """Every user, by name."""
    with connect(settings.db) as db:
        return [user_of(r) for r in db.execute("SELECT * FROM users ORDER BY username")]


def find(settings: ServeSettings, username: str) -> User | None:
    """The user of that name, or None."""
    with connect(settings.db) as db:
        row = db.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
    return user_of(row) if row else None


def set_password(settings: ServeSettings, username: str, password: str) -> None:
    """Replace a user's password and end its sessions (LookupError if there is no such user)."""
    check_password(password)
    with connect(settings.db) as db:
        done = db.execute("UPDATE users SET password_hash = ? WHERE username = ?", (HASHER.hash(password), username))
        if not done.rowcount:
            raise LookupError(f"no user {username!r}")
        db.execute("DELETE FROM sessions WHERE username = ?", (username,))


def disable(settings: ServeSettings, username: str) -> None:
    """Disable a user and end its sessions (LookupError if there is no such user)."""
    with connect(settings.db) as db:
        if not db.execute("UPDATE users SET disabled = 1 WHERE username = ?", (username,)).rowcount:
            raise LookupError(f"no user {username!r}")
        db.execute("DELETE FROM sessions WHERE username = ?", (username,))


def _limit_keys(username: str, address: str | None) -> list[tuple[str, str]]:
    """The counters a failed sign-in adds to: the name, and the client's address."""
    keys = [("user:" + username.strip().lower(), "user")]
    if address:
        keys.append(("addr:" + address, "address"))
    return keys


def limited(settings: ServeSettings, username: str, address: str | None, now: float | None = None) -> int:
    """Seconds to wait before this name or address may try again (0: it may try now)."""
    now = time.time() if now is None else now
    since = now - settings.login_window_seconds
    limits = {"user": settings.login_failures_per_user, "address": settings.login_failures_per_address}
    wait = 0
    with connect(settings.db) as db:
        db.execute("DELETE FROM signin_failures WHERE at < ?", (since,))
        for key, kind in _limit_keys(username, address):
            times = [r[0] for r in db.execute("SELECT at FROM signin_failures WHERE key = ? ORDER BY at DESC",
                                             (key,))]
            if len(times) >= limits[kind]:
                # the attempt that brings the count under the limit again is the limit-th newest's expiry
                wait = max(wait, int(times[limits[kind] - 1] + settings.login_window_seconds - now) + 1)
    return wait


def _failed(settings: ServeSettings, username: str, address: str | None, now: float) -> None:
    """Count one failed sign-in against the name and the address."""
    with connect(settings.db) as db:
        db.executemany("INSERT INTO signin_failures (key, at) VALUES (?, ?)",
                       [(key, now) for key, _ in _limit_keys(username, address)])


def sign_in(settings: ServeSettings, username: str, password: str, address: str | None,
            now: float | None = None) -> SignIn:
    """Check a name and password within the limits; rehash a hash made with older parameters."""
    now = time.time() if now is None else now
    wait = limited(settings, username, address, now)
    if wait:
        return SignIn(None, "limited", wait)
    with connect(settings.db) as db:
        row = db.execute("SELECT * FROM users WHERE username = ?", (username.strip(),)).fetchone()
    try:
        HASHER.verify(row["password_hash"] if row else _DECOY, password)
        good = row is not None
    except (VerificationError, InvalidHashError):
        good = False
    if not good or row["disabled"]:
        _failed(settings, username, address, now)
        return SignIn(None, "disabled" if good else "wrong")
    if HASHER.check_needs_rehash(row["password_hash"]):
        with connect(settings.db) as db:
            db.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                       (HASHER.hash(password), row["username"]))
        log.info("rehashed the password of %s with the current argon2 parameters", row["username"])
    with connect(settings.db) as db:
        db.execute("DELETE FROM signin_failures WHERE key = ?", _limit_keys(row["username"], None)[0][:1])
    return SignIn(user_of(row))


def open_session(settings: ServeSettings, user: User, now: float | None = None) -> str:
    """A new session id for ``user`` (a fresh one at every sign-in)."""
    now = time.time() if now is None else now
    sid = secrets.token_urlsafe(32)
    with connect(settings.db) as db:
        db.execute("INSERT INTO sessions (sid, username, created_at, last_seen) VALUES (?, ?, ?, ?)",
                   (sid, user.username, now, now))
    return sid


def close_session(settings: ServeSettings, sid: str | None) -> None:
    """End a session (sign-out)."""
    if sid:
        with connect(settings.db) as db:
            db.execute("DELETE FROM sessions WHERE sid = ?", (sid,))


def session_user(settings: ServeSettings, sid: str | None, now: float | None = None) -> User | None:
    """The enabled user of a live session (idle less than the limit), touching it; None otherwise."""
    if not sid:
        return None
    now = time.time() if now is None else now
    with connect(settings.db) as db:
        row = db.execute("SELECT s.last_seen, u.* FROM sessions s JOIN users u ON u.username = s.username"
                         " WHERE s.sid = ?", (sid,)).fetchone()
        if row is None:
            return None
        if row["disabled"] or now - row["last_seen"] > settings.session_idle_seconds:
            db.execute("DELETE FROM sessions WHERE sid = ?", (sid,))
            return None
        if now - row["last_seen"] > TOUCH_EVERY:
            db.execute("UPDATE sessions SET last_seen = ? WHERE sid = ?", (now, sid))
    return user_of(row)


def settings_of(request: Request) -> ServeSettings:
    """The application's settings (a FastAPI dependency)."""
    return request.app.state.settings


def current_user(request: Request) -> User:
    """The signed-in user (a FastAPI dependency); without a live session, NotSignedIn."""
    cached = getattr(request.state, "user", None)
    if cached is not None:
        return cached
    user = session_user(settings_of(request), request.session.get("sid"))
    if user is None:
        request.session.pop("sid", None)
        raise NotSignedIn()
    request.state.user = user
    return user


def require_role(*roles: str):
    """A dependency that lets only these roles through (403 for the others)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def check(request: Request) -> User:
        user = current_user(request)
        if user.role not in roles:
            raise HTTPException(403, "此功能仅限" + "、".join(ROLE_NAMES[r] for r in roles) + "使用")
        return user

    return check

