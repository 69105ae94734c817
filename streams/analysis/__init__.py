"""What the analyst notebooks import: loading a data set, statistics, chart styling.

Notebooks hold narrative and charts only; every figure comes from :mod:`streams.core`
through a replay (of the topic, a file, or a replay output directory).
"""
