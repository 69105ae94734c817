"""The bulletin's charts as PNGs, with a CJK font (:func:`streams.analysis.charts.setup`) and Chinese labels only."""

from __future__ import annotations

import io

import polars as pl

from streams.core.rankings import UNITS
from streams.documents import chinese as zh

DPI = 200
RED, BLACK, GREY, BLUE = "#c00000", "#262626", "#a6a6a6", "#2f5597"


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return buffer.getvalue()


def _figure(width_cm: float, height_cm: float):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width_cm / 2.54, height_cm / 2.54))
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def targets_chart(headline: list[dict], elapsed: float | None) -> bytes | None:
    """Attainment of each targeted metric, with the share of the year elapsed as a line."""
    rows = [r for r in headline if r["attainment"] is not None]
    if not rows:
        return None
    fig, ax = _figure(14, 1.6 + 0.9 * len(rows))
    names = [r["name"] for r in rows][::-1]
    values = [r["attainment"] * 100 for r in rows][::-1]
    bars = ax.barh(names, values, color=[BLUE if v >= (elapsed or 0) * 100 else RED for v in values], height=0.55)
    for bar, value in zip(bars, values):
        ax.text(bar.get_width() + 2, bar.get_y() + bar.get_height() / 2, f"{value:.1f}%", va="center", fontsize=9)
    if elapsed is not None:
        ax.axvline(elapsed * 100, color=BLACK, linestyle="--", linewidth=1)
        ax.text(elapsed * 100, len(rows) - 0.35, f" 时序进度{elapsed * 100:.1f}%", fontsize=9, va="bottom")
    ax.set_xlabel("完成率（%）")
    ax.set_xlim(0, max(max(values), 100) * 1.18)
    return _png(fig)


def pools_chart(pools: pl.DataFrame, period: str, previous: str) -> bytes:
    """Projects in each of the four pools at the end of the period and of the one before."""
    managed = pools.filter(pl.col("pool") != "dropped")
    fig, ax = _figure(14, 6.5)
    x = list(range(managed.height))
    now, then = managed["count"].to_list(), managed["previous_count"].to_list()
    ax.bar([i - 0.2 for i in x], then, width=0.4, color=GREY, label=f"{zh.period_name(previous)}末")
    bars = ax.bar([i + 0.2 for i in x], now, width=0.4, color=BLUE, label=f"{zh.period_name(period)}末")
    for bar, value in zip(bars, now):
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), str(value), ha="center", va="bottom", fontsize=9)
    ax.set_xticks(x, [zh.POOLS[p] for p in managed["pool"]])
    ax.set_ylabel("项目数（个）")
    ax.legend(frameon=False, fontsize=9)
    return _png(fig)


def scores_chart(rankings: pl.DataFrame, dimension: str) -> bytes | None:
    """Each unit's score, best at the top: 红榜 in red, 黑榜 in black, the others grey."""
    rows = rankings.filter(pl.col("dimension") == dimension).sort("score", "unit", descending=[False, True])
    if rows.is_empty():
        return None
    fig, ax = _figure(15, 1.4 + 0.42 * rows.height)
    colours = [RED if b == "top" else BLACK if b == "bottom" else GREY for b in rows["board"]]
    ax.barh(rows["unit"].to_list(), rows["score"].to_list(), color=colours, height=0.6)
    ax.axvline(0, color=BLACK, linewidth=0.8)
    ax.set_xlabel(f"综合得分（0为{UNITS[dimension]}平均水平；红色为红榜，黑色为黑榜）")
    ax.tick_params(axis="y", labelsize=9)
    return _png(fig)


def charts(f) -> dict[str, bytes]:
    """Every chart of a bulletin's figures (:class:`streams.documents.bulletin.Figures`)."""
    from streams.analysis.charts import setup

    setup()  # a CJK font, or an error saying which package to install
    out = {"pools": pools_chart(f.pools, f.period, f.previous)}
    targets = targets_chart(f.headline, f.elapsed if f.targets_year else None)
    if targets:
        out["targets"] = targets
    for dimension in f.rules.units:
        scores = scores_chart(f.rankings, dimension)
        if scores:
            out[f"scores:{dimension}"] = scores
    return out
