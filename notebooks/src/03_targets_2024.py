# %% [markdown]
# # 2024 年目标 · 2024 targets

# %% [markdown] tags=["analyst"]
# Every 2024 target of the bureau — ≥60 new signings worth ≥500 亿, lead industries ≥300 亿,
# ≥2 signings of ≥50 亿 each, ≥330 亿 of newly started investment — with attainment and a
# run-rate projection to the end of the year: `analysis.target_table` of the `targets` table.
# Then the trip targets (DOMAIN.md §8): ≥20 trips led by the top leaders, ≥50 promotion-team trips,
# and the teams' headline of more than 500 亿 signed (the signed amount of projects from team trips
# signed in the year), with the trips cumulated month by month (`analysis.trip_progress`, by `departed`).
# Cells tagged `official` are shown on the officials' page only (领导版), cells tagged `analyst` on
# this one only.

# %% [markdown] tags=["official"]
# 全区 2024 年招商目标：新签约项目不少于 60 个，签约额不少于 500 亿元（其中主导产业不少于 300 亿元），50 亿元以上的签约项目不少于 2 个，新开工项目投资不少于 330 亿元。表和图给出截至报告日期各项目标的完成率（蓝色柱），以及按目前进度推算的年末完成率（橙色点）；“时间进度”是全年已过去的比例，推算的年末完成率达到 100 % 时，“进度”一栏为“是”。
#
# The district's 2024 targets: at least 60 newly signed projects worth at least 500 亿元 (at least 300
# 亿元 of them in the lead industries), at least 2 signings of 50 亿元 or more each, and at least 330 亿元
# of investment in newly started projects. The table and chart give each target's attainment at the
# report date (blue bars) and the year-end attainment projected at the current pace (orange dots);
# "year elapsed" is the share of the year gone, and "on track" says yes when the projection reaches
# 100 %.

# %%
import matplotlib.pyplot as plt

from streams.analysis import charts, plots
from streams.analysis.load import load
from streams.core import analysis

charts.setup()
data = load()
table = analysis.target_table(data["targets"], 2024, leave_out=analysis.TRIP_TARGETS)
table

# %%
fig, ax = plt.subplots(figsize=(10, 4))
plots.attainment(ax, table, f"2024 年目标完成情况 Attainment of the 2024 targets (as of {data.as_of})")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 外出招商目标 · The trip targets

# %% [markdown] tags=["official"]
# 2024 年外出招商目标：党政主要领导带队外出考察走访企业不少于 20 次，小分队外出招商不少于 50 次，小分队外出招商签约额超过 500 亿元（由小分队出访带来、当年签约的项目的签约额）。表和上图的读法同上；下图是按出发月份累计的出访次数，虚线是全年目标。
#
# The 2024 trip targets: at least 20 visits to companies led by the district's top leaders, at least
# 50 trips of the promotion teams, and more than 500 亿元 signed by the teams (the signed amount of the
# projects that came from team trips and signed in the year). The table and the first chart read as
# above; the second chart counts the trips month by month by their departure, with the year's targets
# dashed.

# %%
trip_table = analysis.target_table(data["targets"], 2024, analysis.TRIP_TARGETS)
fig, ax = plt.subplots(figsize=(10, 3.2))
plots.attainment(ax, trip_table, f"2024 年外出招商目标 The 2024 trip targets (as of {data.as_of})")
plt.tight_layout()
plt.show()
trip_table

# %%
progress = analysis.trip_progress(data.tables.get("trips"), data.targets, 2024, data.cutoff)
fig, ax = plt.subplots(figsize=(10, 4))
plots.cumulative_against_target(ax, progress, "leader_led", "领导带队 leader-led", "#c44e52")
plots.cumulative_against_target(ax, progress, "team", "小分队 team", "#4c72b0")
ax.set_ylabel("累计出访次数 trips so far")
ax.set_title("2024 年外出招商进度 Trips in 2024, month by month")
ax.legend(loc="upper left")
plt.setp(ax.get_xticklabels(), rotation=45)
plt.tight_layout()
plt.show()
progress
