"""Every notebook opens with the project's kernel: its JSON names the kernelspec ``funnel`` and the language.

JupyterLab then starts the virtualenv's kernel (``make setup`` installs it) with no "select a kernel"
prompt, and ``funnel report`` runs the same kernel. Read from the .ipynb files; nothing is executed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
KERNELSPEC = {"name": "funnel", "display_name": "Python (funnel)", "language": "python"}


def metadata(path: Path) -> dict:
    """The notebook-level metadata of ``path``."""
    return json.loads(path.read_text(encoding="utf-8"))["metadata"]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_names_the_projects_kernel(path):
    assert metadata(path).get("kernelspec") == KERNELSPEC


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_names_its_language(path):
    info = metadata(path).get("language_info", {})
    assert info.get("name") == "python"
    assert info.get("file_extension") == ".py"
    assert str(info.get("version", "")).startswith("3.")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_keeps_its_jupytext_pairing(path):
    """The metadata was added beside jupytext's, not in place of it (``notebooks/src/`` stays paired)."""
    assert "jupytext" in metadata(path)
