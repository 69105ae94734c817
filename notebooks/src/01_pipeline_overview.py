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

from streams.analysis import charts, plots
from streams.analysis.load import load
from streams.core import analysis

charts.setup()
plots.tables()
data = load()
state = data["project_state"]
print(f"source: {data.source} · as of {data.as_of} · {data.summary['projects']['total']:,} projects")

# %% [markdown]
# ## Pools month by month · 四库月度变化

# %%
wide = analysis.pools_by_month(data["pools_over_time"])
fig, ax = plt.subplots(figsize=(11, 4.5))
ax.stackplot(range(wide.height), *[wide[p] for p in analysis.MANAGED_POOLS],
             labels=[charts.POOL_LABELS[p] for p in analysis.MANAGED_POOLS], alpha=0.85)
ax.set_xticks(range(0, wide.height, 3), wide["month"][::3], rotation=45)
ax.set_ylabel("项目数 projects")
ax.set_title("四库项目数（月末）Projects in each pool at month end")
ax.legend(loc="upper left")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Flows between pools in the latest complete year · 最近完整年度的滚动转化

# %%
year = analysis.compared_periods(data.cutoff, "year")[1]
funnel = analysis.stage_funnel(state, year, data.targets)
fig, ax = plt.subplots(figsize=(10, 4.5))
charts.funnel_chart(ax, funnel)
ax.set_title(f"{year} 年阶段流量与转化 Stage flows and conversions in {year} (projects)")
plt.show()
analysis.funnel_steps(funnel)

# %% [markdown]
# ## Supervision colours month by month · 红黄蓝绿督查
#
# A project's colour follows its plan (DOMAIN.md §6): red more than 90 days past its next
# planned milestone, yellow past it, blue due within 30 days, green otherwise; a project with
# no open milestone is coloured by the days since its last advance. Dropped and operating
# projects have no colour.

# %%
colours = analysis.colours_by_month(data["supervision_over_time"])
fig, ax = plt.subplots(figsize=(11, 4))
plots.colour_bars(ax, colours)
ax.set_ylabel("项目数 projects")
ax.set_title("督查颜色（月末）Projects by supervision colour at month end")
plt.tight_layout()
plt.show()

# %% [markdown]
# Red at the last month end for three month ends running or more — the weekly meeting's list:

# %%
analysis.red_running(data["supervision_over_time"], state, months=3)

# %% [markdown]
# ## Investment by pool · 各库投资额（亿元）

# %%
pools = analysis.investment_by_pool(state)
fig, ax = plt.subplots(figsize=(9, 4))
ax.bar([charts.POOL_LABELS[p] for p in pools["pool"]], pools["investment_yi"], color="#4c72b0")
for x, v in enumerate(pools["investment_yi"]):
    ax.annotate(f"{v:,.0f}", (x, v), ha="center", va="bottom")
ax.set_ylabel("亿元 100 million yuan")
ax.set_title(f"各库投资额 Investment by pool, as of {data.as_of}")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The biggest projects · 投资额最大的项目

# %%
analysis.biggest_projects(state, 12)
