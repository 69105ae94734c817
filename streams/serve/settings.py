"""What ``funnel serve`` is told: the accounts database, the cookie secret, where the figures come from."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

from streams import config

log = logging.getLogger(__name__)

MiB = 1024 * 1024


@dataclass(frozen=True)
class ServeSettings:
    """The web application's settings; the CLI fills them from flags whose defaults come from the environment."""

    db: Path
    secret: str = field(repr=False)
    state_dir: Path
    worker_url: str | None = None
    worker_token: str | None = field(default=None, repr=False)
    source: Path | None = None
    bootstrap_servers: str | None = None
    topic: str = config.DEFAULT_TOPIC
    bulletins: Path = Path("bulletin")
    targets_file: Path | None = None
    max_upload_bytes: int = 20 * MiB
    secure_cookies: bool = True
    session_idle_seconds: int = 8 * 3600
    login_failures_per_user: int = 5
    login_failures_per_address: int = 20
    login_window_seconds: int = 15 * 60

    def with_(self, **changes) -> "ServeSettings":
        """A copy with some settings changed (tests, the CLI)."""
        return replace(self, **changes)


def state_dir() -> Path:
    """Where serve keeps its database and secret by default: the platform's state directory."""
    return config.state_dir()


def default_db() -> Path:
    """``FUNNEL_SERVE_DB``, else ``<state dir>/serve.sqlite3``."""
    return Path(os.environ.get("FUNNEL_SERVE_DB") or state_dir() / "serve.sqlite3").resolve()


def load_secret(where: Path) -> str:
    """``FUNNEL_SERVE_SECRET``, else the one kept in ``where/serve.secret`` (made once, mode 0600)."""
    configured = os.environ.get("FUNNEL_SERVE_SECRET")
    if configured:
        if len(configured) < 32:
            raise ValueError("FUNNEL_SERVE_SECRET must be at least 32 characters")
        return configured
    path = where / "serve.secret"
    if path.exists():
        return path.read_text().strip()
    where.mkdir(parents=True, exist_ok=True)
    made = secrets.token_urlsafe(48)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as f:
        f.write(made + "\n")
    log.info("made the session secret %s (mode 0600)", path)
    return made


def from_env(**overrides) -> ServeSettings:
    """Settings from the environment's defaults, with ``overrides`` (the CLI's flags) applied."""
    where = Path(overrides.pop("state_dir", None) or state_dir())
    db = Path(overrides.pop("db", None) or default_db())
    secret = overrides.pop("secret", None) or load_secret(where)
    return ServeSettings(db=db, secret=secret, state_dir=where, **{k: v for k, v in overrides.items()
                                                                    if v is not None})
