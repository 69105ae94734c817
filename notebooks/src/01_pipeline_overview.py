# %% [markdown]
# # 四库项目概览 · Pipeline overview

# %% [markdown] tags=["analyst"]
# The four pools (谋划 planning → 招引 attraction → 签约 signed → 落地 landed) month by
# month, the flows between them, investment by pool and the biggest projects.
# Data: `streams.analysis.load()` — a replay of the Kafka topic by default, or the replay
# output directory / feed file named by `FUNNEL_SOURCE`. Every figure comes from
# `streams.core`; nothing here re-implements a rule. Cells tagged `official` are shown on the
# officials' page only (领导版), cells tagged `analyst` on this one only.

# %% [markdown] tags=["official"]
# 本页概览全区招商项目在“四库”（谋划库 → 招引库 → 签约库 → 落地库）中的分布和变化：每月末各库的项目数，最近一个完整年度各阶段之间的转化，红黄蓝绿督查情况，各库投资额，以及投资额最大的项目。
#
# An overview of the district's investment projects in the four pools (planning → attraction →
# signed → landed): the projects in each pool at every month end, the conversions between stages in
# the latest complete year, the supervision colours, the investment in each pool and the largest
# projects.

# %%
import matplotlib.pyplot as plt

from streams.analysis import charts, plots
from streams.analysis.load import load
from streams.core import analysis

charts.setup()
plots.tables()
data = load()
state = data["project_state"]

# %% tags=["analyst"]
print(f"source: {data.source} · as of {data.as_of} · {data.summary['projects']['total']:,} projects")

# %% tags=["official"]
print(f"截至 {data.as_of}，共有项目 {data.summary['projects']['total']:,} 个 · "
      f"{data.summary['projects']['total']:,} projects as of {data.as_of}")

# %% [markdown]
# ## 四库月度变化 · Pools month by month

# %% [markdown] tags=["official"]
# 每个月末谋划、招引、签约、落地四库各有多少个在库项目（不含已终止的项目）。
#
# How many projects were in each of the four pools at every month end (dropped projects not included).

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
# ## 最近完整年度的滚动转化 · Flows between pools in the latest complete year

# %% [markdown] tags=["official"]
# 最近一个完整年度内进入各阶段的项目数，以及相邻阶段之间的转化率。作为参照，全区 2023 年的目标是谋划 200 个 → 洽谈 160 个 → 签约 80 个 → 落地（开工）60 个，即转化率 80 %、50 %、75 %。下表列出每个环节的起始项目数、转入下一阶段的项目数和未转化的项目数。
#
# The projects that reached each stage in the latest complete year, and the conversion between
# neighbouring stages. For reference, the district's 2023 goal was 200 planned → 160 negotiated →
# 80 signed → 60 landed (construction started): conversions of 80 %, 50 % and 75 %. The table gives,
# for each step, the projects at its start, those that moved on and those that did not.

# %%
year = analysis.compared_periods(data.cutoff, "year")[1]
funnel = analysis.stage_funnel(state, year, data.targets)
fig, ax = plt.subplots(figsize=(10, 4.5))
charts.funnel_chart(ax, funnel)
ax.set_title(f"{year} 年阶段流量与转化 Stage flows and conversions in {year} (projects)")
plt.show()
analysis.funnel_steps(funnel)

# %% [markdown]
# ## 红黄蓝绿督查 · Supervision colours month by month

# %% [markdown] tags=["analyst"]
# A project's colour follows its plan (DOMAIN.md §6): red more than 90 days past its next
# planned milestone, yellow past it, blue due within 30 days, green otherwise; a project with
# no open milestone is coloured by the days since its last advance. Dropped and operating
# projects have no colour.

# %% [markdown] tags=["official"]
# 每个项目按其推进计划着色：超过下一个计划节点 90 天以上为红色，已超过计划节点为黄色，30 天内到期为蓝色，其余为绿色；没有待完成节点的项目按距上次推进的天数着色。已终止和已投产的项目不再着色。图为每月末各颜色的项目数。
#
# Each project is coloured by its plan: red more than 90 days past its next planned milestone,
# yellow past it, blue due within 30 days, green otherwise; a project with no open milestone is
# coloured by the days since it last advanced. Dropped and operating projects have no colour. The
# chart counts the projects of each colour at every month end.

# %%
colours = analysis.colours_by_month(data["supervision_over_time"])
fig, ax = plt.subplots(figsize=(11, 4))
plots.colour_bars(ax, colours)
ax.set_ylabel("项目数 projects")
ax.set_title("督查颜色（月末）Projects by supervision colour at month end")
plt.tight_layout()
plt.show()

# %% [markdown]
# 连续三个及以上月末为红色、最近一个月末仍为红色的项目，即周例会督办清单 · Red at the last month end
# for three month ends running or more — the weekly meeting's list:

# %%
analysis.red_running(data["supervision_over_time"], state, months=3)

# %% [markdown]
# ## 各库投资额（亿元）· Investment by pool

# %% [markdown] tags=["official"]
# 截至报告日期各库项目的总投资额，单位亿元。
#
# The investment of the projects in each pool at the report date, in 亿元 (100 million yuan).

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
# ## 投资额最大的项目 · The biggest projects

# %%
analysis.biggest_projects(state, 12)
