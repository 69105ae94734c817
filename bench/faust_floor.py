"""Faust's own ceiling here: the worker's Faust configuration with an agent that takes the topic in
batches, as the worker does, and does nothing else. ``bench.live`` times it like the worker.

    python -m bench.faust_floor --topic T --app-id G --partitions 3
"""

from __future__ import annotations

import argparse

import faust

from streams import config
from streams.worker.app import faust_options, run
from streams.worker.settings import WorkerSettings
from streams.worker.transport import CommittedApp

_RAW = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}


def floor_app(settings: WorkerSettings) -> faust.App:
    app = CommittedApp(settings.app_id, **faust_options(settings))  # reads as the worker does

    @app.agent(app.topic(settings.topic, **_RAW))
    async def nothing(stream):
        async for batch in stream.noack_take(settings.batch_size, within=settings.batch_within_s):
            for event in batch:
                await stream.ack(event)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--partitions", type=int, default=3)
    args = parser.parse_args()
    settings = WorkerSettings(bootstrap=config.bootstrap_servers(), topic=args.topic, app_id=args.app_id,
                              partitions=args.partitions, web_port=0)
    run(floor_app(settings), "warning")


if __name__ == "__main__":
    main()
