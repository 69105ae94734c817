"""``funnel worker``: the live Faust worker."""

from __future__ import annotations

import click

from streams import config
from streams.cli.app import LOGLEVELS, bootstrap_option, main, topic_option


def _is_loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@main.command()
@bootstrap_option
@topic_option
@click.option("--app-id", envvar="FUNNEL_APP_ID", default="funnel-worker", show_default=True, show_envvar=True,
              help="Consumer group and prefix of the table changelog topics.")
@click.option("--web-port", envvar="FUNNEL_WEB_PORT", default=6066, show_default=True, show_envvar=True,
              help="Port of the web server (0: no web server).")
@click.option("--web-host", envvar="FUNNEL_WEB_HOST", default="127.0.0.1", show_default=True, show_envvar=True,
              help="Interface the web server listens on.")
@click.option("--partitions", envvar="FUNNEL_PARTITIONS", default=3, show_default=True, show_envvar=True,
              help="Partitions of the event topic if the worker has to create it (else the topic's own count).")
@click.option("--state-topic", envvar="FUNNEL_STATE_TOPIC", default=config.STATE_TOPIC, show_default=True,
              show_envvar=True, help="Compacted topic of each project's latest state.")
@click.option("--batch-size", envvar="FUNNEL_BATCH_SIZE", default=2000, show_default=True, show_envvar=True,
              help="Records checked and stored at a time.")
@click.option("--quality-interval", envvar="FUNNEL_QUALITY_INTERVAL", default=60.0, show_default=True,
              show_envvar=True, help="Seconds between aggregate quality checks.")
@click.option("--reminder-topic", envvar="FUNNEL_REMINDER_TOPIC", default="project-reminders", show_default=True,
              show_envvar=True, help="Where the worker writes the reminders of each day just ended (§10).")
@click.option("--state-dir", envvar="FUNNEL_WORKER_STATE_DIR", default=None, show_envvar=True,
              help="Where partition checkpoints are kept, so a restart reads only the changelog's tail "
                   "(default <FUNNEL_STATE_DIR>/worker; 'none': no checkpoints).")
@click.option("--checkpoint-interval", envvar="FUNNEL_CHECKPOINT_INTERVAL", default=30.0, show_default=True,
              show_envvar=True, help="Seconds between checkpoints of the partitions that changed.")
@click.option("--standby-replicas", envvar="FUNNEL_STANDBY_REPLICAS", default=1, show_default=True,
              show_envvar=True, help="Warm copies of each partition kept on other workers of the group (0: none).")
@click.option("--loglevel", envvar="FUNNEL_LOGLEVEL", default="info", show_default=True, show_envvar=True,
              type=click.Choice(LOGLEVELS, case_sensitive=False),
              help="The worker's log level (Faust's and ours; the worker logs info by default).")
def worker(bootstrap_servers, topic, app_id, web_port, web_host, partitions, state_topic, batch_size,
           quality_interval, reminder_topic, state_dir, checkpoint_interval, standby_replicas, loglevel) -> None:
    """Run the live Faust worker: check, keep, fold and serve /summary, /projects/{id}, /pools, /quality.

    Run several with the same --app-id to share the partitions: each answers for all of them.
    The web server listens on 127.0.0.1; on any other interface it requires FUNNEL_WEB_TOKEN.
    """
    import os

    from streams.kafkaio import topics
    from streams.worker.settings import WorkerSettings, state_dir_of

    token = os.environ.get("FUNNEL_WEB_TOKEN") or None
    if web_port and not _is_loopback(web_host) and not token:
        raise click.ClickException(f"the web server would listen on {web_host}, beyond this machine: set "
                                   "FUNNEL_WEB_TOKEN (clients send Authorization: Bearer <token>) or use 127.0.0.1")
    bootstrap = bootstrap_servers or config.bootstrap_servers()
    try:
        topics.ensure_topics(bootstrap, topics.event_topics(topic, partitions))
        partitions = topics.partition_count(bootstrap, topic) or partitions  # the table must match the topic
        topics.ensure_topics(bootstrap, [topics.state_topic(state_topic, partitions)])
    except Exception as e:
        from streams.kafkaio.security import explain

        raise click.ClickException(explain(e, bootstrap)) from e
    settings = WorkerSettings(bootstrap=bootstrap, topic=topic, app_id=app_id, partitions=partitions,
                              state_topic=state_topic, web_host=web_host, web_port=web_port, web_token=token,
                              session_timeout_s=float(os.environ.get("FUNNEL_SESSION_TIMEOUT", "10")),
                              quality_interval_s=quality_interval, batch_size=batch_size,
                              reminder_topic=reminder_topic, state_dir=state_dir_of(state_dir),
                              checkpoint_interval_s=checkpoint_interval, standby_replicas=standby_replicas)
    from streams.worker.app import create_app, run

    run(create_app(settings), loglevel)
