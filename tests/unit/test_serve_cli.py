"""``funnel users``: add, list, passwd, disable and audit on a real SQLite file, read back through the service."""

from __future__ import annotations

import json
import os
import stat

import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.serve.accounts import service
from streams.serve.settings import ServeSettings


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.delenv("FUNNEL_SERVE_SECRET", raising=False)
    return {"FUNNEL_STATE_DIR": str(tmp_path), "FUNNEL_SERVE_DB": str(tmp_path / "serve.sqlite3")}


def funnel(env, *args, stdin=None, code=0):
    done = CliRunner().invoke(main, list(args), env=env, input=stdin, catch_exceptions=False)
    assert done.exit_code == code, done.output
    return done.output


def test_users_are_added_listed_given_a_new_password_and_disabled(env, tmp_path):
    settings = ServeSettings(db=tmp_path / "serve.sqlite3", secret="s" * 40, state_dir=tmp_path)
    funnel(env, "users", "add", "liu", "--role", "department", "--department", "区住建局", "--display-name", "刘洋",
           "--password-stdin", stdin="first password\n")
    funnel(env, "users", "add", "chen", "--role", "bureau", "--password-stdin", stdin="bureau password\n")
    listed = json.loads(funnel(env, "users", "list", "--json"))
    assert [(u["username"], u["role"], u["department"], u["display_name"]) for u in listed] == [
        ("chen", "bureau", None, "chen"), ("liu", "department", "区住建局", "刘洋")]
    assert "password" not in json.dumps(listed) and "argon2" not in json.dumps(listed)
    assert stat.S_IMODE(os.stat(tmp_path / "serve.sqlite3").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "serve.secret").st_mode) == 0o600
    assert service.sign_in(settings, "liu", "first password", None).user is not None
    funnel(env, "users", "passwd", "liu", "--password-stdin", stdin="second password\n")
    assert service.sign_in(settings, "liu", "first password", None).reason == "wrong"
    assert service.sign_in(settings, "liu", "second password", None).user.display_name == "刘洋"
    funnel(env, "users", "disable", "liu")
    assert service.sign_in(settings, "liu", "second password", None).reason == "disabled"
    assert json.loads(funnel(env, "users", "list", "--json"))[1]["disabled"] is True
    audit = json.loads(funnel(env, "users", "audit", "--json"))
    assert [(e["action"], e["username"]) for e in audit] == [("disabled", "liu"), ("password_set", "liu")]
    assert "disabled" in funnel(env, "users", "audit")


def test_users_add_refuses_what_it_cannot_keep(env):
    assert "needs --department" in funnel(env, "users", "add", "x", "--role", "department", "--password-stdin",
                                          stdin="long enough\n", code=1)
    assert "at least 8" in funnel(env, "users", "add", "x", "--role", "viewer", "--password-stdin",
                                  stdin="short\n", code=1)
    funnel(env, "users", "add", "x", "--role", "viewer", "--password-stdin", stdin="long enough\n")
    assert "exists" in funnel(env, "users", "add", "x", "--role", "viewer", "--password-stdin",
                              stdin="long enough\n", code=1)
    assert "no user" in funnel(env, "users", "disable", "nobody", code=1)
    assert "'admin' is not one of" in funnel(env, "users", "add", "y", "--role", "admin", code=2)
