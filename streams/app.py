"""``faust -A streams.app worker``: the live worker, configured from the environment.

``funnel worker`` is the usual way to run it (flags, topic checks, the same factory);
this module exists for Faust's own command line. See :mod:`streams.worker.app`.
Creating the app connects to nothing.
"""

from streams.worker.app import create_app
from streams.worker.settings import WorkerSettings

app = create_app(WorkerSettings.from_environment())
