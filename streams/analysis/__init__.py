"""What the analyst notebooks import: loading a data set, statistics, charts.

Notebooks hold narrative and charts only: every figure comes from :mod:`streams.core`
(:mod:`streams.core.analysis` for what they show) through a replay (of the topic, a file, or a
replay output directory); :mod:`streams.analysis.stats` holds the estimators and
:mod:`streams.analysis.plots` the drawing.
"""
