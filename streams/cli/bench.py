"""``funnel bench``: the benchmarks of the repository's bench/, as ratios against same-run references."""

from __future__ import annotations

import sys

import click

from streams.cli.app import REPO, json_option, main
from streams.cli.render import print_json, print_table


def _shown(value) -> str:
    """A ratio as "median (min–max)", marked when this run cannot make it stable; other figures as they are."""
    if value is None:
        return "not measured"
    if isinstance(value, dict) and "median" in value:
        return f"{value['median']} ({value['min']}–{value['max']})" + ("" if value["stable"] else "  unstable")
    return str(value)


@main.command()
@click.option("--quick", is_flag=True, help="Small sizes: a few minutes (says which figures it cannot make stable).")
@click.option("--events", type=int, help="Events to ingest and replay (default 1,000,000; --quick 100,000).")
@json_option
def bench(quick: bool, events: int | None, as_json: bool) -> None:
    """Benchmarks, each a ratio against a reference measured in the same run (Kafka's perf tools, pandas)."""
    if not (REPO / "bench").is_dir():
        raise click.ClickException("the benchmarks live in the repository's bench/: run from a clone")
    sys.path.insert(0, str(REPO))
    from bench.run import main as run_bench

    figures = run_bench(quick=quick, events=events)
    if as_json:
        print_json(figures)
    else:
        keys = ("ingest_vs_kafka_producer", "ingest_vs_kafka_python_producer", "replay_vs_kafka_consumer",
                "replay_vs_kafka_python_consumer", "worker_vs_raw_aiokafka", "worker_vs_faust_floor",
                "fold_vs_pandas_speedup", "fold_vs_pandas_pools_flows_speedup", "worker_rss_bytes_per_event",
                "worker_project_p99_ms_under_load",
                "worker_summary_p99_ms_under_load", "worker_recovery_s_after_sigkill", "two_workers_vs_one")
        print_table(f"benchmark ratios: median (min–max) of {figures['runs_per_pair']} interleaved runs",
                    [(k, _shown(figures.get(k))) for k in keys])
        if figures["unstable"]:
            click.echo(f"not stable in this run: {', '.join(figures['unstable'])}", err=True)
        print_json(figures["raw"])
