"""Quality gates with Great Expectations: the feed suite and the aggregate suites.

:mod:`streams.quality.frames` builds the frames to check (pure Polars, no GX);
:mod:`streams.quality.suites` declares the expectations; :mod:`streams.quality.gate`
runs them. GX is imported lazily, once per process, through :func:`import_gx`.
"""

from __future__ import annotations

import logging
import os
from types import ModuleType


def import_gx() -> ModuleType:
    """The ``great_expectations`` package, imported on first use (it takes seconds), without analytics.

    As it is imported, GX's registry of its public API logs about 200 INFO lines ("Skipping registering
    function …") about its own code: nothing a user can act on, so that one logger starts at WARNING.
    """
    logging.getLogger("great_expectations._docs_decorators").setLevel(logging.WARNING)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # read by GX itself at import
    import great_expectations as gx

    return gx
