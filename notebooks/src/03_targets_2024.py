# %% [markdown]
# # 2024 年目标 · 2024 targets
#
# Every 2024 target of the bureau — ≥60 new signings worth ≥500 亿, lead industries ≥300 亿,
# ≥2 signings of ≥50 亿 each, ≥330 亿 of newly started investment — with attainment and a
# run-rate projection to the end of the year.

# %%
import matplotlib.pyplot as plt
import polars as pl

from streams.analysis import charts
from streams.analysis.load import load

charts.setup()
data = load()
targets = data["targets"].filter(pl.col("year") == 2024)
LABELS = {"signed": "新签约项目数 new signings", "signed_yuan": "签约额 signed amount",
          "signed_lead_yuan": "主导产业签约额 lead-industry amount",
          "signed_projects_50yi": "50亿以上项目 signings ≥ 50 亿", "started_yuan": "新开工投资 started investment"}
table = targets.select(
    pl.col("metric").replace_strict(LABELS, default=pl.col("metric")).alias("target 目标"),
    pl.when(pl.col("metric").str.ends_with("_yuan")).then(pl.col("target") / 1e8).otherwise(pl.col("target"))
    .alias("target (亿 / count)"),
    pl.when(pl.col("metric").str.ends_with("_yuan")).then(pl.col("actual") / 1e8).otherwise(pl.col("actual"))
    .round(1).alias("actual"),
    (pl.col("attainment") * 100).round(1).alias("attainment %"),
    (pl.col("elapsed_share") * 100).round(1).alias("year elapsed %"),
    pl.col("on_track"),
)
table

# %%
fig, ax = plt.subplots(figsize=(10, 4))
labels = [LABELS.get(m, m) for m in targets["metric"]]
ax.barh(labels, targets["attainment"] * 100, color="#4c72b0", label="完成率 attainment")
ax.scatter((targets["projected"] / targets["target"]) * 100, labels, color="#dd8452", zorder=3,
           label="按当前进度年末预计 run-rate projection")
ax.axvline(100, color="black", linestyle="--")
ax.set_xlabel("% of target")
ax.set_title(f"2024 年目标完成情况 Attainment of the 2024 targets (as of {data.summary['as_of']})")
ax.legend(loc="lower right")
plt.tight_layout()
plt.show()
