"""Quality gates with Great Expectations: the feed suite and the aggregate suites.

:mod:`streams.quality.frames` builds the frames to check (pure Polars, no GX);
:mod:`streams.quality.suites` declares the expectations; :mod:`streams.quality.gate`
runs them. GX is imported lazily, once per process, only by the gate.
"""
