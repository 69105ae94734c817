"""The functional core: DOMAIN.md §3–§5 as pure functions over Polars frames and plain values.

No Kafka, Faust, GX or file I/O here. The replay command, the Faust worker, ingest
and the notebooks all call these functions; no rule is implemented twice.

- :mod:`streams.core.log`        received records → a checked, settled log (accounting, duplicates, conflicts)
- :mod:`streams.core.fold`       the settled log → per-project state as of T
- :mod:`streams.core.aggregates` project state → pools, flows, conversions, cohorts, colours, targets
- :mod:`streams.core.summary`    the summary.json document
"""
