"""``funnel check``: Great Expectations on replay outputs or feeds, and Data Docs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from streams.cli.app import REPO, json_option, log_failure, main
from streams.cli.render import print_quality


def offline_data_docs():
    """The module that makes Data Docs render offline (``expectations/gx/plugins/offline_data_docs.py``,
    also GX's site builder of the repository's project)."""
    import importlib.util

    if "offline_data_docs" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "offline_data_docs", REPO / "expectations" / "gx" / "plugins" / "offline_data_docs.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["offline_data_docs"] = module
        spec.loader.exec_module(module)
    return sys.modules["offline_data_docs"]


@main.command()
@click.argument("outputs", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--feed", "feeds", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Check a feed file with the feed suite instead (repeatable).")
@click.option("--batch-size", default=10_000, show_default=True, help="Feed records per validated batch.")
@click.option("--docs", is_flag=True, help="Write the GX file project and build Data Docs (with DIR's results).")
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="GX project for --docs; default: the repository's expectations/.")
@json_option
def check(outputs, feeds, batch_size, docs, project_dir, as_json) -> None:
    """Great Expectations on replay outputs (DIR...) or feeds (--feed FILE); exit 1 on a critical failure."""
    from streams.quality import gate

    if docs:
        index = gate.build_docs(list(outputs), project_dir or gate.PROJECT_DIR)
        offline_data_docs().make_offline(index.parent)  # any project's site, not only the repository's
        click.echo(index)
        return
    if not outputs and not feeds:
        raise click.UsageError("give replay output directories, or --feed FILE, or --docs")
    report = gate.QualityReport()
    if feeds:
        report.extend(gate.check_feed_files(feeds, batch_size))
    for out in outputs:
        try:
            report.extend(gate.check_output_dir(out))
        except FileNotFoundError as e:
            log_failure(f"check {out}", e)
            raise click.ClickException(str(e)) from e
    print_quality(report, as_json)
    sys.exit(0 if report.success else 1)
