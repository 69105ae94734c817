# %% [markdown]
# # 四库项目概览 · Pipeline overview
#
# The four pools (谋划 planning → 招引 attraction → 签约 signed → 落地 landed) month by
# month, the flows between them, investment by pool and the biggest projects.
# Data: `streams.analysis.load()` — a replay of the Kafka topic by default, or the replay
# output directory / feed file named by `FUNNEL_SOURCE`. Every figure comes from
# `streams.core`; nothing here re-implements a rule.

# %%
import matplotlib.pyplot as plt
import polars as pl
from matplotlib.sankey import Sankey

from streams.analysis import charts
from streams.analysis.load import load

charts.setup()
data = load()
summary = data.summary
print(f"source: {data.source} · as of {summary['as_of']} · {summary['projects']['total']:,} projects")

# %% [markdown]
# ## Pools month by month · 四库月度变化

# %%
pools = data["pools_over_time"].filter(pl.col("pool") != "dropped")
wide = pools.pivot(on="pool", index="month", values="count").sort("month")
fig, ax = plt.subplots(figsize=(11, 4.5))
ax.stackplot(range(wide.height), *[wide[p] for p in ("planning", "attraction", "signed", "landed")],
             labels=[charts.POOL_LABELS[p] for p in ("planning", "attraction", "signed", "landed")], alpha=0.85)
ax.set_xticks(range(0, wide.height, 3), wide["month"][::3], rotation=45)
ax.set_ylabel("项目数 projects")
ax.set_title("四库项目数（月末）Projects in each pool at month end")
ax.legend(loc="upper left")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Flows between pools, 2023 · 2023 年滚动转化

# %%
year = "2023" if "2023" in summary["flows"] else sorted(summary["flows"])[-1]
f = summary["flows"][year]
fig = plt.figure(figsize=(12, 5))
ax = fig.add_subplot(1, 1, 1, xticks=[], yticks=[], title=f"{year} 年阶段流量 Stage flows in {year} (projects)")
sankey = Sankey(ax=ax, scale=1 / max(f["planned"], 1), unit=None, gap=0.4)
steps = [("planned", "negotiating"), ("negotiating", "signed"), ("signed", "started")]
for i, (a, b) in enumerate(steps):
    sankey.add(flows=[f[a], -f[b], -(f[a] - f[b])],
               labels=[charts.STAGE_LABELS[a] + f"\n{f[a]}" if i == 0 else None,
                       charts.STAGE_LABELS[b] + f"\n{f[b]}", f"未转化 not converted\n{f[a] - f[b]}"],
               orientations=[0, 0, -1], prior=i - 1 if i else None, connect=(1, 0))
sankey.finish()
ax.set_aspect("auto")  # Sankey asks for equal aspect on fixed limits; the diagram reads the same
plt.show()

# %% [markdown]
# ## Investment by pool · 各库投资额（亿元）

# %%
latest = data["pools_over_time"].filter(pl.col("month") == data["pools_over_time"]["month"].max())
fig, ax = plt.subplots(figsize=(9, 4))
ax.bar([charts.POOL_LABELS[p] for p in latest["pool"]], latest["investment_yuan"] / 1e8, color="#4c72b0")
for x, v in enumerate(latest["investment_yuan"] / 1e8):
    ax.annotate(f"{v:,.0f}", (x, v), ha="center", va="bottom")
ax.set_ylabel("亿元 100 million yuan")
ax.set_title(f"各库投资额 Investment by pool, as of {summary['as_of']}")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The biggest projects · 投资额最大的项目

# %%
biggest = (data["project_state"].filter(pl.col("in_pools"))
           .sort("investment_yuan", descending=True).head(12)
           .select("project_id", "name", "industry", "zone", "pool",
                   (pl.col("investment_yuan") / 1e8).round(1).alias("亿元 investment")))
biggest
