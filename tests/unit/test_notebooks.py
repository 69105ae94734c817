"""Notebooks are committed without outputs and stay in sync with their jupytext sources."""

from pathlib import Path

import jupytext
import nbformat

from streams.report import notebooks

SRC = Path(__file__).resolve().parents[2] / "notebooks" / "src"


def test_notebooks_have_no_outputs_and_match_their_py_sources():
    assert notebooks()
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") and not c.get("execution_count") for c in nb.cells if c.cell_type == "code")
        source = jupytext.read(SRC / f"{path.stem}.py")
        assert [c.source for c in nb.cells] == [c.source for c in source.cells], path.name


def test_notebooks_import_the_package_rather_than_re_implementing_rules():
    for path in SRC.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "from streams.analysis.load import load" in text
        assert "def " not in text, f"{path.name} defines functions: logic belongs in the package"
