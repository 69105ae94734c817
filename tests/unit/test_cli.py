"""The ``funnel`` command line itself: its commands are registered, and the argument vectors it builds."""

from __future__ import annotations

import os
import sys

from click.testing import CliRunner

from streams.cli import main


def test_every_command_group_is_registered():
    assert {"kafka", "generate", "ingest", "replay", "check", "worker", "status", "report", "lab",
            "bench"} <= set(main.commands)
    assert {"fetch", "up", "down", "status", "topics", "grant-feed"} <= set(main.commands["kafka"].commands)


def _lab_argv(monkeypatch, euid: int) -> list[str]:
    calls = []
    monkeypatch.setattr(os, "geteuid", lambda: euid)
    monkeypatch.setattr(os, "execvp", lambda file, args: calls.append((file, args)))
    done = CliRunner().invoke(main, ["lab", "--port", "8899"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    [(file, args)] = calls
    assert file == args[0] == sys.executable
    return args


def test_lab_as_root_passes_allow_root(monkeypatch):
    args = _lab_argv(monkeypatch, 0)
    assert args[1:5] == ["-m", "jupyter", "lab", "--port=8899"]
    assert "--allow-root" in args and "--no-browser" in args
    assert any(a.startswith("--notebook-dir=") and a.endswith("notebooks") for a in args)


def test_lab_as_another_user_does_not(monkeypatch):
    args = _lab_argv(monkeypatch, 1000)
    assert "--allow-root" not in args
