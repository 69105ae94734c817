"""`funnel kafka fetch`: Maven runs quietly unless asked, and shows its output when it fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.kafkaio.local_broker import kafka_version

pytestmark = pytest.mark.integration


def fetch(*args: str, cache: Path, pom: Path | None = None) -> subprocess.CompletedProcess:
    """``funnel ARGS`` in a child process, with Kafka's POM replaced by ``pom`` if given."""
    patch = f"import streams.kafkaio.local_broker as b, pathlib; b.POM = pathlib.Path({str(pom)!r}); " if pom else ""
    env = {**os.environ, "FUNNEL_CACHE_DIR": str(cache)}
    env.pop("FUNNEL_LOGLEVEL", None)
    return subprocess.run([sys.executable, "-c", patch + "from streams.cli import main; main()", *args],
                          env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture
def broken_pom(tmp_path) -> Path:
    pom = tmp_path / "pom.xml"
    pom.write_text(f"<project><properties><kafka.version>{kafka_version()}</kafka.version></properties>\n<oops>")
    return pom


def test_a_fetch_prints_the_jar_directory_and_nothing_of_maven(tmp_path):
    done = fetch("kafka", "fetch", cache=tmp_path)
    assert done.returncode == 0, done.stderr
    lib = tmp_path / f"kafka-{kafka_version()}" / "lib"
    assert done.stdout == f"{lib}\n"
    assert done.stderr == ""
    assert (lib / f"kafka_2.13-{kafka_version()}.jar").is_file()


def test_a_failing_maven_shows_its_output(tmp_path, broken_pom):
    done = fetch("kafka", "fetch", cache=tmp_path, pom=broken_pom)
    assert done.returncode == 1
    assert done.stdout == ""
    assert f"maven could not resolve Kafka {kafka_version()}" in done.stderr
    assert "[ERROR] The build could not read 1 project" in done.stderr and str(broken_pom) in done.stderr


@pytest.mark.parametrize("args", [("kafka", "fetch", "-v"), ("--loglevel", "debug", "kafka", "fetch")])
def test_verbose_shows_maven_as_it_runs(tmp_path, broken_pom, args):
    done = fetch(*args, cache=tmp_path, pom=broken_pom)
    assert done.returncode == 1
    assert done.stdout == ""  # Maven writes to stderr: stdout stays for output
    before, _, error = done.stderr.partition("maven could not resolve Kafka")
    assert "[ERROR] The build could not read 1 project" in before and str(broken_pom) in before
    assert "its output ended" not in error  # shown once, as it ran
