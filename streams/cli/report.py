"""``funnel report`` (the notebooks as HTML pages) and ``funnel lab`` (JupyterLab on them)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from streams.cli.app import REPO, log_failure, main


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("report"), show_default=True)
@click.option("--source", help="A replay output directory or a feed file; default: replay the topic.")
@click.option("--as-of", help="Business date for a fresh replay (YYYY-MM-DD); default today.")
def report(out: Path, source: str | None, as_of: str | None) -> None:
    """Execute every notebook headless on one data set; write one HTML page each and an index.

    With no project in the data set (an empty topic, say) no notebook runs: the index says so.
    """
    import os

    from kafka.errors import KafkaError

    from streams import config
    from streams.documents.report import build

    try:
        built = build(out, source, as_of)
    except (LookupError, TimeoutError, KafkaError) as e:  # the topic could not be read
        from streams.kafkaio.security import explain

        bootstrap = config.bootstrap_servers()
        log_failure(f"report: replay of the topic at {bootstrap}", e)
        raise click.ClickException(explain(e, bootstrap) if isinstance(e, KafkaError) else str(e)) from e
    if built.empty:
        acc = built.summary["accounting"]
        click.echo(f"nothing to report: no project as of {built.summary['as_of']} in "
                   f"{source or 'topic ' + os.environ.get('FUNNEL_TOPIC', config.DEFAULT_TOPIC)} ({acc['received']:,} records received, "
                   f"{acc['accepted']:,} accepted); {built.index} says so", err=True)
    click.echo(built.index)


def lab_command(port: int) -> list[str]:
    """The JupyterLab command line; as root (the usual case in a container) with ``--allow-root``,
    without which JupyterLab refuses to start."""
    import os

    args = [sys.executable, "-m", "jupyter", "lab", f"--port={port}", "--no-browser",
            f"--notebook-dir={REPO / 'notebooks'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    return args


@main.command()
@click.option("--port", default=8888, show_default=True)
def lab(port: int) -> None:
    """Open JupyterLab on the notebooks with the project's kernel."""
    import os

    args = lab_command(port)
    os.execvp(args[0], args)
