"""``funnel status``: the operator's view of the broker, the topics, the worker group and the quality check."""

from __future__ import annotations

import sys

import click

from streams import config
from streams.cli.app import bootstrap_option, json_option, main, topic_option
from streams.cli.render import print_json, print_table


@main.command("status")
@bootstrap_option
@topic_option
@click.option("--app-id", envvar="FUNNEL_APP_ID", default="funnel-worker", show_default=True, show_envvar=True,
              help="The worker's consumer group.")
@click.option("--state-topic", envvar="FUNNEL_STATE_TOPIC", default=config.STATE_TOPIC, show_default=True)
@click.option("--worker-url", envvar="FUNNEL_WORKER_URL", default="http://127.0.0.1:6066", show_default=True,
              show_envvar=True, help="The worker's web server (sends FUNNEL_WEB_TOKEN when set).")
@json_option
def operator_status(bootstrap_servers, topic, app_id, state_topic, worker_url, as_json) -> None:
    """Broker reachability, topic offsets, the worker's lag, dead letters by reason, the last quality check.

    Exits 1 when the broker is unreachable or the last quality check failed.
    """
    from streams.operations.status import status as read_status

    doc = read_status(bootstrap_servers or config.bootstrap_servers(), topic, app_id, state_topic, worker_url)
    if as_json:
        print_json(doc)
    else:
        reachable = "reachable" if doc["broker_reachable"] else "NOT reachable"
        rows: list[tuple[str, object]] = [("broker", f"{doc['bootstrap']} ({reachable})"), ("client", doc["client"])]
        if doc["broker_reachable"]:
            rows += [(f"topic {name}", f"{t['offsets']:,} offsets in {t['partitions']} partitions" if t["exists"]
                      else "missing") for name, t in doc["topics"].items()]
            g = doc["worker_group"]
            rows += [(f"worker group {g['group']}", f"lag {g['lag']:,} (committed {g['committed']:,} of "
                                                    f"{g['end']:,}, up to the last stable offsets)")]
            rows += [(f"open transaction {t['topic']}:{t['partition']}",
                      f"holds back {t['held_back']:,} offsets from {t['from_offset']:,}, open since "
                      f"{t['open_since']} ({t['open_for_s']:,.0f} s)") for t in doc["open_transactions"]]
            rows += [(f"dead letters: {reason}", n) for reason, n in doc["dead_letters"].items()]
            q = doc["quality"]
            rows += [("last quality check", q.get("error") or
                      f"{'passed' if q.get('success') else 'FAILED' if q.get('success') is False else 'not run yet'}"
                      f" at {q.get('checked_at')}")]
        else:
            rows += [("error", doc["error"])]
        print_table("funnel status", rows)
    failed = not doc["broker_reachable"] or doc.get("quality", {}).get("success") is False
    sys.exit(1 if failed else 0)
