# %% [markdown]
# # 解瓶颈清障碍与外出招商 · Bottlenecks and promotion trips

# %% [markdown] tags=["analyst"]
# The problem list (问题清单, DOMAIN.md §9) and the promotion trips (外出招商, §8). How long issues take to be
# resolved, by category, as Kaplan–Meier curves in which an issue still open at the as-of date is
# censored there (or at its project's drop), never left out: leaving open issues out would make every
# category look faster than it is. The resolution rate (办结率) by lead department with Wilson intervals;
# and what the trips brought in, by region and by team.
#
# Every figure comes from `streams.core.analysis` (the rules: `issue_durations`, `resolution_by`,
# `trip_yield`) and `streams.analysis.stats` (the estimators, from statsmodels); this notebook only draws
# them. Cells tagged `official` are shown on the officials' page only (领导版), cells tagged `analyst` on
# this one only.

# %% [markdown] tags=["official"]
# 本页分两部分。第一部分是项目推进中的问题（问题清单）：各类问题从提出到办结要多长时间，各牵头单位的办结率，以及每年提出、办结的问题数和清除障碍的项目数。第二部分是外出招商：各地区、各小分队出访的次数、拜访企业和收集线索的数量，以及由此谋划、签约的项目和签约额。
#
# This page has two parts. The first is the problems that hold projects up (the problem list): how
# long each kind of problem takes from being raised to being resolved, the resolution rate of each
# lead department, and the problems raised and resolved and the projects cleared each year. The
# second is the promotion trips: by region and by team, the trips made, the companies visited and
# leads gathered, and the projects planned and signed from them with their signed amount.

# %%
import matplotlib.pyplot as plt
from matplotlib.ticker import PercentFormatter

from streams.analysis import charts, plots, stats
from streams.analysis.load import load
from streams.core import analysis

charts.setup()
plots.tables()
data = load()
state = data["project_state"]
issues = analysis.issue_durations(data.tables.get("issues"), state, data.cutoff)

# %% tags=["analyst"]
print(f"source: {data.source} · as of {data.as_of} (cut-off {data.cutoff.isoformat()})")

# %% tags=["official"]
print(f"数据截至 {data.as_of} · data as of {data.as_of}")

# %% [markdown]
# ## 问题的提出与办结 · Issues raised and resolved

# %% [markdown] tags=["analyst"]
# The summary's `bottlenecks` by year: issues raised (by their first raise), resolved (by their standing
# resolution) and projects cleared (with an issue resolved in the year: the seed's "70余个" of 2023, against
# the 2023 target of 70 in the `targets` table); then the issues open at the as-of date by category, and
# how many of them are overdue.

# %% [markdown] tags=["official"]
# 每年新提出的问题数、办结的问题数，以及当年至少有一个问题办结的项目数（即“为多少个项目解决了瓶颈问题”），并与 2023 年“为 70 余个项目解瓶颈清障碍”的目标对比。最后一张表列出截至报告日期仍未办结的问题（按类别），以及其中超过办结时限的数量。
#
# Each year's problems raised and resolved, and the projects with at least one problem resolved in
# the year (the projects whose bottlenecks were cleared), against the 2023 goal of clearing the
# bottlenecks of 70-odd projects. The last table lists the problems still open at the report date
# by category, and how many of them are past their deadline.

# %%
analysis.bottleneck_years(data.summary)

# %%
analysis.target_table(data["targets"], 2023, analysis.ISSUE_TARGETS)

# %%
analysis.open_issues(data.summary)

# %% [markdown]
# ## 办结用时 · Time to resolution

# %% [markdown] tags=["analyst"]
# Kaplan–Meier estimate of the share of issues still open t days after they were first raised, with
# pointwise 95 % intervals (Greenwood, log(−log) scale). An open issue is censored at the as-of date, or
# at its project's drop; curves are cut where fewer than 10 issues (5 per category) are still at risk.
# The table gives the median days with its 95 % interval (empty where the curve never falls to one half
# or the bound is not reached) and the share resolved within 30 and 90 days.

# %% [markdown] tags=["official"]
# 曲线表示问题提出后经过若干天仍未办结的比例：曲线下降越快，问题解决得越快。尚未办结的问题也计入，只是观察到报告日期为止（它们至少已经拖了这么久），因此不会因为只看已办结的问题而把用时算短。阴影是 95 % 的可能范围。表中给出各类问题办结用时的中位数（一半问题在这个天数内办结）及其可能范围，以及 30 天、90 天内办结的比例。
#
# The curve shows the share of problems still open a given number of days after being raised: the
# faster it falls, the faster problems are resolved. Problems not yet resolved count too, watched up
# to the report date (they have been open at least that long), so the times are not understated by
# looking at resolved problems only. The shading is the 95 % range. The table gives the median days to
# resolution of each kind of problem (half are resolved within it) with its range, and the shares
# resolved within 30 and 90 days.

# %%
fig, ax = plt.subplots(figsize=(10, 4))
plots.survival(ax, stats.while_at_risk(stats.kaplan_meier(issues), 10), "全部问题 all issues")
plots.survival_axes(ax)
ax.set_title("问题办结用时 Time to resolution: share of issues still open")
ax.legend()
plt.tight_layout()
plt.show()

# %%
fig, ax = plt.subplots(figsize=(11, 5))
plots.survival_by(ax, stats.kaplan_meier_by(issues, "category", min_at_risk=5), charts.category_label)
ax.set_title("按问题类别 By category of issue")
ax.legend(loc="upper right", ncol=3, fontsize=8)
plt.tight_layout()
plt.show()
stats.resolution_times(issues, "category")

# %% [markdown]
# ## 各牵头单位办结率 · Resolution rate by lead department

# %% [markdown] tags=["analyst"]
# `resolution_by`: resolved ÷ (resolved + open) over every issue so far, the rankings' `resolution_rate`
# over the whole history; open issues are the summary's (of projects in the pools and not dropped), so
# an open issue of a dropped project is in neither. Wilson 95 % intervals, honest for small n.

# %% [markdown] tags=["official"]
# 各牵头单位负责的问题中已办结的比例（办结率 = 已办结 ÷（已办结 + 未办结）），横线是 95 % 的可能范围：问题少的单位范围较宽，比较时应看范围而不只看比例。表中还列出未办结问题中已超过办结时限的数量。
#
# The share of each lead department's problems that are resolved (resolved ÷ (resolved + open)); the
# line is the 95 % range: a department with few problems has a wide range, so compare the ranges, not
# only the shares. The table also gives how many of the open problems are past their deadline.

# %%
departments = stats.with_wilson(analysis.resolution_by(data.tables.get("issues"), state, data.cutoff),
                                "resolved", "issues")
fig, ax = plt.subplots(figsize=(9, 0.45 * departments.height + 1.5))
plots.intervals(ax, departments, "lead_department", n="issues", color="#4c72b0")
ax.set_xlim(0, 1)
ax.xaxis.set_major_formatter(PercentFormatter(1.0))
ax.set_xlabel("办结率 resolution rate")
ax.set_ylabel("牵头单位 lead department")
plt.tight_layout()
plt.show()
departments

# %% [markdown]
# ## 外出招商成效 · What the promotion trips brought in

# %% [markdown] tags=["analyst"]
# The summary's `trips` by year (trips by kind by `departed` year; projects from trips by the year they
# were planned or signed), then `trip_yield` of every counted trip as of T by region and by team: trips,
# people-days, companies visited, leads, valid leads, the non-orphan projects naming them (dropped ones
# included) and those signed with their signed amount at T, and the same per trip.

# %% [markdown] tags=["official"]
# 每年外出招商的次数（按党政主要领导带队、小分队和其他），拜访企业数、有效线索数，以及由外出招商谋划、签约的项目和签约额。下面按出访地区和小分队比较：出访多少次、拜访多少企业、收集多少线索，带来多少谋划和签约项目、多少签约额，以及平均每次出访的成效。
#
# Each year's promotion trips (led by the top leaders, by the teams, and other), the companies
# visited and valid leads, and the projects planned and signed from the trips with their signed
# amount. Below, by region visited and by team: the trips, companies visited, leads gathered, the
# projects planned and signed from them and the signed amount, and what each trip brought in on
# average.

# %%
analysis.trip_years(data.summary)

# %%
by_region = analysis.trip_yield(data.tables.get("trips"), data.tables.get("trip_references"), state, "region")
by_team = analysis.trip_yield(data.tables.get("trips"), data.tables.get("trip_references"), state, "team")
fig, axes = plt.subplots(1, 2, figsize=(14, 0.4 * by_team.height + 2))
plots.bars(axes[0], by_region, "region", "signed_yuan")
axes[0].set_title("按地区 By region")
axes[0].set_xlabel("签约额（亿元）signed amount (亿元)")
plots.bars(axes[1], by_team, "team", "signed_yuan", colour="#dd8452")
axes[1].set_title("按小分队 By team")
axes[1].set_xlabel("签约额（亿元）signed amount (亿元)")
plt.tight_layout()
plt.show()
by_region

# %%
by_team
