"""Chart helpers for the notebooks: drawing only, on frames that :mod:`streams.core.analysis` and
:mod:`streams.analysis.stats` computed (the arithmetic here is layout: offsets, stacking, error-bar lengths)."""

from __future__ import annotations

import polars as pl

from streams.analysis.charts import DIMENSION_NAMES, STAGE_LABELS, bilingual, dimension_label

CAUSE_COLOURS = {"reached": "#55a868", "dropped": "#c44e52"}


def tables(max_rows: int = 60, float_precision: int = 3) -> None:
    """Show tables whole (up to ``max_rows`` rows) with floats to ``float_precision`` decimals."""
    pl.Config.set_tbl_rows(max_rows)
    pl.Config.set_float_precision(float_precision)


def against_target(ax, funnel: pl.DataFrame) -> None:
    """Horizontal bars of a :func:`streams.core.analysis.stage_funnel`: actual filled, target dashed, "a / t" beside."""
    stages = funnel["stage"].to_list()
    y = list(range(len(stages)))[::-1]
    actual = funnel["actual"].to_list()
    target = [t or 0 for t in funnel["target"].to_list()]
    ax.barh(y, actual, color="#55a868", label="实际 actual")
    ax.barh(y, target, fill=False, edgecolor="black", linestyle="--", label="目标 target")
    for yi, a, t in zip(y, actual, target):
        ax.annotate(f"{a} / {t}" if t else f"{a}", (max(a, t), yi), xytext=(5, 0), textcoords="offset points",
                    va="center")
    ax.set_yticks(y, [STAGE_LABELS.get(s, s) for s in stages])
    ax.legend(loc="lower right")


def incidence(ax, curves: pl.DataFrame, cause: str, label: str, colour: str | None = None,
              band: bool = True, linestyle: str = "-") -> None:
    """One cause of :func:`streams.analysis.stats.cumulative_incidence` as a step curve with its pointwise band."""
    part = curves.filter(pl.col("cause") == cause).sort("days")
    colour = colour or CAUSE_COLOURS.get(cause)
    ax.step(part["days"], part["incidence"], where="post", color=colour, label=label, linestyle=linestyle)
    if band and "low" in part.columns:
        ax.fill_between(part["days"], part["low"], part["high"], step="post", color=colour, alpha=0.18, linewidth=0)


def intervals(ax, frame: pl.DataFrame, by: str, n: str = "n", rate: str = "rate", low: str = "low",
              high: str = "high", **style) -> None:
    """Dots with interval bars (``low`` … ``high``), one row of ``frame`` per line, named by ``by`` with its n
    (and the axis by the dimension, Chinese first, when ``by`` is one); ``style`` goes to ``errorbar`` (label,
    color, fmt …)."""
    rows = frame.to_dicts()
    y = list(range(len(rows)))[::-1]
    ax.errorbar([r[rate] for r in rows], y, fmt=style.pop("fmt", "o"),
                xerr=[[r[rate] - r[low] for r in rows], [r[high] - r[rate] for r in rows]], **style)
    ax.set_yticks(y, [f"{bilingual(str(r[by]))} (n={r[n]})" for r in rows])
    if by in DIMENSION_NAMES:
        ax.set_ylabel(dimension_label(by))


def step_times(ax, table: pl.DataFrame) -> None:
    """Median and 90th-percentile days of each step (:func:`streams.analysis.stats.step_times`) with their intervals."""
    intervals(ax, table, "step", n="projects", rate="median_days", low="median_low", high="median_high",
              label="中位数 median", color="#4c72b0")
    intervals(ax, table, "step", n="projects", rate="p90_days", low="p90_low", high="p90_high",
              label="90 百分位 90th percentile", color="#dd8452", fmt="s")


def incidence_by(ax, curves: pl.DataFrame, by: str, cause: str = "reached", band: bool = True) -> None:
    """One curve of ``cause`` per group of :func:`streams.analysis.stats.cumulative_incidence_by` (e.g. per cohort)."""
    import matplotlib

    palette = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    groups = curves.partition_by(by, as_dict=True, maintain_order=True).items()
    for i, ((key,), part) in enumerate(groups):
        incidence(ax, part, cause, f"{key}", colour=palette[i % len(palette)], band=band)


def heatmap(ax, frame: pl.DataFrame, row: str, col: str, k: str = "reached", n: str = "n", min_n: int = 5):
    """Cells of a two-dimensional breakdown coloured by k / n, annotated "k/n", its axes named by the
    dimensions (Chinese first); cells with fewer than ``min_n`` projects are left grey (too few to read a rate from). Returns the colour mapping for a colour bar."""
    import numpy as np
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    if frame.is_empty():
        ax.text(0.5, 0.5, "无数据 no projects", ha="center", va="center", transform=ax.transAxes)
        return ScalarMappable(Normalize(0, 1), "Greens")
    rows = sorted(frame[row].cast(pl.Utf8).unique().to_list())
    cols = sorted(frame[col].cast(pl.Utf8).unique().to_list())
    rate = np.full((len(rows), len(cols)), np.nan)
    for r in frame.iter_rows(named=True):
        i, j = rows.index(str(r[row])), cols.index(str(r[col]))
        if r[n] >= min_n:
            rate[i, j] = r[k] / r[n]
        ax.text(j, i, f"{r[k]}/{r[n]}", ha="center", va="center", fontsize=7,
                color="black" if r[n] < min_n or rate[i, j] < 0.6 else "white")
    ax.set_facecolor("#e6e6e6")
    image = ax.imshow(np.ma.masked_invalid(rate), cmap="Greens", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(cols)), [bilingual(c) for c in cols], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), [bilingual(r) for r in rows], fontsize=8)
    ax.set_xlabel(dimension_label(col))
    ax.set_ylabel(dimension_label(row))
    return image


def stacked_bars(ax, wide: pl.DataFrame, x: str) -> None:
    """One bar per row of ``wide`` at ``x``, stacked from its other columns (one legend entry each, named
    for people: see :func:`streams.analysis.charts.bilingual`)."""
    bottom = [0] * wide.height
    for column in [c for c in wide.columns if c != x]:
        ax.bar(wide[x], wide[column], bottom=bottom, label=bilingual(column))
        bottom = [b + v for b, v in zip(bottom, wide[column])]


def paired_bars(ax, frame: pl.DataFrame, label: str, first: str, second: str, names: tuple[str, str]) -> None:
    """Two bars per row of ``frame`` side by side (e.g. the previous and the current period)."""
    x = list(range(frame.height))
    ax.bar([i - 0.2 for i in x], frame[first], width=0.4, label=names[0], color="#a1c9f4")
    ax.bar([i + 0.2 for i in x], frame[second], width=0.4, label=names[1], color="#4c72b0")
    ax.set_xticks(x, [STAGE_LABELS.get(v, v) for v in frame[label]])
    ax.legend()


#: The supervision colours as a person sees them on a chart.
COLOUR_FILLS = {"red": "#d62728", "yellow": "#f2c14e", "blue": "#4c8fd6", "green": "#59a14f"}
COLOUR_LABELS = {"red": "红 red", "yellow": "黄 yellow", "blue": "蓝 blue", "green": "绿 green"}


def colour_bars(ax, wide: pl.DataFrame) -> None:
    """Projects by supervision colour at every month end, stacked red at the bottom, in their own colours."""
    bottom = [0] * wide.height
    x = list(range(wide.height))
    for colour in COLOUR_FILLS:
        ax.bar(x, wide[colour], bottom=bottom, color=COLOUR_FILLS[colour], label=COLOUR_LABELS[colour], width=0.85)
        bottom = [b + v for b, v in zip(bottom, wide[colour])]
    ax.set_xticks(x[::3], wide["month"][::3], rotation=45)
    ax.legend(loc="upper left")


def survival(ax, curve: pl.DataFrame, label: str, colour: str | None = None, band: bool = True) -> None:
    """A :func:`streams.analysis.stats.kaplan_meier` curve (share still open after t days) as a step curve, with
    its pointwise band."""
    line = ax.step(curve["days"], curve["survival"], where="post", color=colour, label=label)[0]
    if band:
        ax.fill_between(curve["days"], curve["low"], curve["high"], step="post", color=line.get_color(), alpha=0.18,
                        linewidth=0)


def survival_by(ax, curves: list[tuple[str, pl.DataFrame]], label=str, band: bool = False) -> None:
    """One :func:`survival` curve per group of :func:`streams.analysis.stats.kaplan_meier_by`, named by ``label``
    (e.g. :func:`streams.analysis.charts.category_label`), on the share-still-open axis."""
    for key, curve in curves:
        survival(ax, curve, label(key), band=band)
    survival_axes(ax)


def survival_axes(ax) -> None:
    """The axes of a survival chart: share still open (0 to 100 %) against days since raised."""
    from matplotlib.ticker import PercentFormatter

    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("提出后天数 days since raised")
    ax.set_ylabel("尚未办结 share still open")


def bars(ax, frame: pl.DataFrame, label: str, value: str, names=str, colour: str = "#4c72b0") -> None:
    """Horizontal bars of ``value`` per row of ``frame`` (first row on top), labelled by ``names(row[label])``; an
    amount (``*_yuan``) in 亿元."""
    from streams.contract.events import YUAN_PER_YI

    y = list(range(frame.height))[::-1]
    values = frame[value] / YUAN_PER_YI if value.endswith("_yuan") else frame[value]  # amounts drawn in 亿元
    ax.barh(y, values, color=colour)
    ax.set_yticks(y, [names(str(v)) for v in frame[label]])


def attainment(ax, table: pl.DataFrame, title: str) -> None:
    """A :func:`streams.core.analysis.target_table`: attainment bars, the run-rate projection as dots, 100 % dashed."""
    ax.barh(table["target 目标"], table["attainment %"], color="#4c72b0", label="完成率 attainment")
    ax.scatter(table["projected %"], table["target 目标"], color="#dd8452", zorder=3,
               label="按当前进度年末预计 run-rate projection")
    ax.axvline(100, color="black", linestyle="--")
    ax.invert_yaxis()  # the table's first target on top
    ax.set_xlabel("占目标的百分比 % of target")
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)  # below: bars reach the right


def cumulative_against_target(ax, progress: pl.DataFrame, column: str, label: str, colour: str) -> None:
    """A cumulative count by month (:func:`streams.core.analysis.trip_progress`) as a line, its year's target
    (``<column>_target``) dashed in the same colour."""
    ax.plot(progress["month"], progress[column], marker="o", color=colour, label=label)
    target = progress[f"{column}_target"]
    if progress.height and target[0] is not None:
        ax.axhline(target[0], color=colour, linestyle="--", label=f"{label} 目标 target {target[0]:,.0f}")
