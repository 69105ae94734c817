"""``funnel report`` (the notebooks as HTML pages) and ``funnel lab`` (JupyterLab on them)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from streams.cli.app import REPO, main


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("report"), show_default=True)
@click.option("--source", help="A replay output directory or a feed file; default: replay the topic.")
@click.option("--as-of", help="Business date for a fresh replay (YYYY-MM-DD); default today.")
def report(out: Path, source: str | None, as_of: str | None) -> None:
    """Execute every notebook headless on one data set; write one HTML page each and an index."""
    from streams.report import build

    index = build(out, source, as_of)
    click.echo(index)


@main.command()
@click.option("--port", default=8888, show_default=True)
def lab(port: int) -> None:
    """Open JupyterLab on the notebooks with the project's kernel."""
    import os

    os.execvp(sys.executable, [sys.executable, "-m", "jupyter", "lab", f"--port={port}", "--no-browser",
                               f"--notebook-dir={REPO / 'notebooks'}"])
