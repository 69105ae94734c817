"""The routing config (``notify.toml``) and the pure routing of a reminder to its recipients."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

KINDS = ("colour_worsened", "red_persisting", "milestone_due", "issue_overdue")
CHANNELS = ("dingtalk", "wecom", "email")
#: both robots accept 20 messages a minute (DingTalk: then 10 minutes of errcode 130101; WeCom: errcode 45009)
ROBOT_MESSAGES = 20
ROBOT_WINDOW_S = 60.0


class ConfigError(ValueError):
    """A notify.toml that cannot be used; the message names the file and the key (or line) at fault."""


@dataclass(frozen=True)
class Robot:
    """A group robot's webhook (DingTalk with its signing secret, or WeCom) and its rate limit."""

    kind: str
    webhook: str
    secret: str | None = None
    messages: int = ROBOT_MESSAGES
    window_s: float = ROBOT_WINDOW_S


@dataclass(frozen=True)
class Recipient:
    """A person or group that receives reminders, on each of its channels."""

    name: str
    dingtalk: Robot | None = None
    wecom: Robot | None = None
    email: tuple[str, ...] = ()

    def channels(self) -> tuple[str, ...]:
        """The channels this recipient is reached on, in a fixed order."""
        have = {"dingtalk": self.dingtalk is not None, "wecom": self.wecom is not None, "email": bool(self.email)}
        return tuple(c for c in CHANNELS if have[c])


@dataclass(frozen=True)
class Rule:
    """Reminders of a department and/or a leader (and optionally only some kinds) go to these recipients."""

    recipients: tuple[str, ...]
    department: str | None = None
    leader: str | None = None
    kinds: tuple[str, ...] = ()

    def matches(self, reminder: Mapping[str, Any]) -> bool:
        """Whether this rule applies to a reminder record."""
        return ((self.department is None or reminder.get("department") == self.department)
                and (self.leader is None or reminder.get("leader") == self.leader)
                and (not self.kinds or reminder.get("kind") in self.kinds))


@dataclass(frozen=True)
class Smtp:
    """The mail server email is sent through."""

    host: str
    port: int = 25
    sender: str = "funnel@localhost"
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout_s: float = 30.0


@dataclass(frozen=True)
class NotifyConfig:
    """Recipients, rules, the mail server and the base URL of the project pages (for links in messages)."""

    recipients: Mapping[str, Recipient]
    rules: tuple[Rule, ...]
    smtp: Smtp | None = None
    link_base: str | None = None
    retries: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0


def route(reminder: Mapping[str, Any], config: NotifyConfig) -> tuple[str, ...]:
    """The names of the recipients of a reminder: every matching rule's, each once, in config order."""
    names: list[str] = []
    for rule in config.rules:
        if rule.matches(reminder):
            names.extend(n for n in rule.recipients if n not in names)
    return tuple(names)


def load_config(path: str | Path) -> NotifyConfig:
    """Read and check a notify.toml; a bad one raises ConfigError naming the line or the key."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:  # its message carries "(at line L, column C)"
        raise ConfigError(f"{path}: not valid TOML: {e}") from e
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e}") from e
    return parse_config(raw, str(path))


def parse_config(raw: Mapping[str, Any], where: str = "notify.toml") -> NotifyConfig:
    """Check a parsed config; ConfigError names ``where`` and the key path at fault."""
    unknown = set(raw) - {"recipients", "rules", "smtp", "link_base", "delivery"}
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r} (expected recipients, rules, smtp, "
                          "link_base, delivery)")
    recipients = {name: _recipient(name, value, where) for name, value in _table(raw, "recipients", where).items()}
    if not recipients:
        raise ConfigError(f"{where}: [recipients] names no recipient")
    rules_raw = raw.get("rules", [])
    if not isinstance(rules_raw, list) or not rules_raw:
        raise ConfigError(f"{where}: [[rules]] must list at least one rule")
    rules = tuple(_rule(i, r, recipients, where) for i, r in enumerate(rules_raw, 1))
    smtp = _smtp(raw["smtp"], where) if "smtp" in raw else None
    if smtp is None and any(r.email for r in recipients.values()):
        raise ConfigError(f"{where}: a recipient has email but there is no [smtp] table")
    delivery = _table(raw, "delivery", where)
    return NotifyConfig(recipients, rules, smtp, _opt_str(raw, "link_base", where),
                        retries=_int(delivery, "retries", 5, f"{where}: delivery"),
                        backoff_s=_number(delivery, "backoff_s", 1.0, f"{where}: delivery"),
                        max_backoff_s=_number(delivery, "max_backoff_s", 60.0, f"{where}: delivery"))


def _table(raw: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: {key} must be a table")
    return value


def _opt_str(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ConfigError(f"{where}: {key} must be a non-empty string")
    return value


def _int(raw: Mapping[str, Any], key: str, default: int, where: str) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{where}.{key} must be a whole number ≥ 0, not {value!r}")
    return value


def _number(raw: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = raw.get(key, default)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{where}.{key} must be a positive number, not {value!r}")
    return float(value)


def _robot(kind: str, raw: Any, where: str) -> Robot:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table with webhook")
    unknown = set(raw) - {"webhook", "secret", "messages", "window_s"}
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    webhook = _opt_str(raw, "webhook", where)
    if not webhook or not webhook.startswith(("http://", "https://")):
        raise ConfigError(f"{where}.webhook must be an http(s) URL")
    secret = _opt_str(raw, "secret", where)
    if kind == "wecom" and secret:
        raise ConfigError(f"{where}.secret: a WeCom group robot has no signing secret (its key is in the webhook)")
    return Robot(kind, webhook, secret, _int(raw, "messages", ROBOT_MESSAGES, where) or ROBOT_MESSAGES,
                 _number(raw, "window_s", ROBOT_WINDOW_S, where))


def _recipient(name: str, raw: Any, where: str) -> Recipient:
    at = f"{where}: recipients.{name}"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{at} must be a table")
    unknown = set(raw) - {"dingtalk", "wecom", "email"}
    if unknown:
        raise ConfigError(f"{at}: unknown key {sorted(unknown)[0]!r} (channels: dingtalk, wecom, email)")
    email = raw.get("email", {}).get("to", []) if isinstance(raw.get("email", {}), Mapping) else None
    email = [email] if isinstance(email, str) else email
    if email is None or not isinstance(email, list) or not all(isinstance(a, str) and "@" in a for a in email):
        raise ConfigError(f"{at}.email.to must be an address or a list of addresses")
    recipient = Recipient(name, _robot("dingtalk", raw["dingtalk"], f"{at}.dingtalk") if "dingtalk" in raw else None,
                          _robot("wecom", raw["wecom"], f"{at}.wecom") if "wecom" in raw else None, tuple(email))
    if not recipient.channels():
        raise ConfigError(f"{at} has no channel (dingtalk, wecom or email)")
    return recipient


def _rule(index: int, raw: Any, recipients: Mapping[str, Recipient], where: str) -> Rule:
    at = f"{where}: rules[{index}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{at} must be a table")
    unknown = set(raw) - {"department", "leader", "kinds", "recipients"}
    if unknown:
        raise ConfigError(f"{at}: unknown key {sorted(unknown)[0]!r}")
    names = raw.get("recipients")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{at}.recipients must list at least one recipient name")
    missing = [n for n in names if n not in recipients]
    if missing:
        raise ConfigError(f"{at}.recipients: no recipient {missing[0]!r} in [recipients]")
    kinds = raw.get("kinds", [])
    if not isinstance(kinds, list) or any(k not in KINDS for k in kinds):
        raise ConfigError(f"{at}.kinds must list kinds among {', '.join(KINDS)}")
    return Rule(tuple(names), _opt_str(raw, "department", at), _opt_str(raw, "leader", at), tuple(kinds))


def _smtp(raw: Any, where: str) -> Smtp:
    at = f"{where}: smtp"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{at} must be a table")
    unknown = set(raw) - {"host", "port", "sender", "starttls", "username", "password_env", "timeout_s"}
    if unknown:
        raise ConfigError(f"{at}: unknown key {sorted(unknown)[0]!r}")
    host = _opt_str(raw, "host", at)
    if not host:
        raise ConfigError(f"{at}.host is required")
    starttls = raw.get("starttls", False)
    if not isinstance(starttls, bool):
        raise ConfigError(f"{at}.starttls must be true or false")
    password_env = _opt_str(raw, "password_env", at)
    password = os.environ.get(password_env) if password_env else None
    if password_env and password is None:
        raise ConfigError(f"{at}.password_env: the environment has no {password_env}")
    return Smtp(host, _int(raw, "port", 25, at), _opt_str(raw, "sender", at) or "funnel@localhost", starttls,
                _opt_str(raw, "username", at), password, _number(raw, "timeout_s", 30.0, at))
