"""``funnel``: the one command-line entry point. Output for people is a table, ``--json`` for machines.

``app`` holds the root group ``main``, its ``--loglevel`` and the shared options; ``render`` the
tables, JSON and the progress bar. Every other module defines its commands on ``main``
(``@main.command()`` or ``@main.group()``), and importing it here registers them. To add a
command group, write ``streams/cli/<name>.py`` that way and add ``<name>`` to the import below.
"""

from streams.cli.app import main

from streams.cli import bench, bulletin, feeds, kafka, ledger, notify, quality, remind, replay, report, serve, status, worker  # noqa: E402,F401  (registers)
from streams.cli import diff  # noqa: E402,F401  (registers `funnel diff`)

__all__ = ["main"]
