# %% [markdown]
# # 滚动转化分析 · Conversion: from 200 planned to 60 landed

# %% [markdown] tags=["analyst"]
# The bureau's 2023 goal: 200 planned → 160 negotiating → 80 signed → 60 landed
# (80 %, 50 %, 75 %; 30 % planned → landed). Flows against the targets, the latest year and
# quarter against the ones before, rolling and cohort conversion, the time to land with
# dropping as a competing risk, the time between stages, and landing by industry, zone, town
# and town × industry with honest small-sample intervals.
#
# Every figure comes from `streams.core.analysis` (the rules) and `streams.analysis.stats`
# (the estimators, from statsmodels and SciPy); this notebook only draws them. Cells tagged
# `official` are shown on the officials' page only (领导版), cells tagged `analyst` on this one only.

# %% [markdown] tags=["official"]
# 全区 2023 年招商目标：谋划 200 个项目 → 洽谈 160 个 → 签约 80 个 → 落地（开工）60 个，即相邻阶段的转化率为 80 %、50 %、75 %，从谋划到落地为 30 %。本页依次给出：2023 年实际与目标的对比；最近一年、最近一个季度与上一期的比较；滚动转化率；按谋划月份分批的签约进度；项目从谋划到落地的用时；各阶段之间的用时；以及分产业链、区域、镇办的一年内落地率。
#
# The district's 2023 goal: 200 projects planned → 160 negotiated → 80 signed → 60 landed
# (construction started), that is conversions of 80 %, 50 % and 75 % between stages and 30 % from
# planned to landed. This page shows 2023 against that goal; the latest year and quarter against the
# ones before; rolling conversion; how the projects planned in each month went on to sign; how long
# projects take from planned to landed; the time between stages; and landing within a year by
# industry, zone and town.

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

# %% tags=["analyst"]
print(f"source: {data.source} · as of {data.as_of} (cut-off {data.cutoff.isoformat()})")

# %% tags=["official"]
print(f"数据截至 {data.as_of} · data as of {data.as_of}")

# %% [markdown]
# ## 2023 年目标完成 · 2023 flows against the targets

# %% [markdown] tags=["analyst"]
# `conversion` is the flow into a stage over the flow into the stage before, in the same year
# (DOMAIN.md §4); `target_conversion` is what the targets imply.

# %% [markdown] tags=["official"]
# 2023 年每个阶段的实际项目数与目标对比。完成率 = 实际 ÷ 目标；转化率 = 当年进入本阶段的项目数 ÷ 当年进入上一阶段的项目数；目标转化率由年度目标推算（160 ÷ 200 = 80 %，80 ÷ 160 = 50 %，
# 60 ÷ 80 = 75 %）。
#
# Each stage's 2023 result against its target. Attainment is actual ÷ target; conversion is the
# projects reaching a stage in the year over those reaching the stage before in the same year; the
# target conversion follows from the goals (160 ÷ 200 = 80 %, 80 ÷ 160 = 50 %, 60 ÷ 80 = 75 %).

# %%
funnel = analysis.stage_funnel(state, "2023", data.targets)
fig, ax = plt.subplots(figsize=(10, 4))
plots.against_target(ax, funnel)
ax.set_title("2023 年漏斗 The 2023 funnel: projects reaching each stage vs target")
plt.tight_layout()
plt.show()
funnel

# %% [markdown]
# ## 与上一期比较 · This period against the one before

# %% [markdown] tags=["analyst"]
# The latest complete year and quarter (CST) at the as-of date, against the year and the
# quarter before. Flows and drops carry the p-value of the exact test of two Poisson rates
# (the periods' lengths as exposure); the median and 90th-percentile days of the steps
# completed in each period carry Mood's quantile test. Conversions are ratios of flows of
# different projects, not proportions, so they get no test. Twenty-odd tests at once: read a
# single p-value below 0.05 as a hint, not a finding. On the officials' page each measure is a
# table of its own (counts, percentages with changes in points, days).

# %% [markdown] tags=["official"]
# 最近一个完整年度、最近一个完整季度，分别与上一年度、上一季度比较。表格按指标分开：进入各阶段的项目数和终止的项目数（个）；阶段转化率（%，变化以百分点计）；完成各环节所用天数的中位数和 90 % 分位数（天）。“p 值”表示这一变化有多大可能只是偶然波动：小于 0.05 说明不太可能是偶然的；但同时比较的数字较多，单个 p 值偏小只能作为提示，不能作为结论。转化率不做这项检验。
#
# The latest complete year and quarter against the year and quarter before, one table per measure:
# projects reaching each stage and projects dropped (counts); conversion between stages (percent,
# changes in percentage points); the median and 90th-percentile days each step took (days). The
# p-value says how likely a change is to be chance: below 0.05 it is unlikely to be; but with this
# many figures compared at once a single small p-value is a hint, not a finding. Conversions get no
# such test.

# %%
previous_year, current_year = analysis.compared_periods(data.cutoff, "year")
by_year = stats.period_comparison(state, data.cutoff, "year")
fig, ax = plt.subplots(figsize=(10, 3.8))
plots.paired_bars(ax, analysis.measure(by_year, "flow"), "what", "previous", "current",
                  (previous_year, current_year))
ax.set_ylabel("项目数 projects")
ax.set_title(f"各阶段流量 Flows into each stage: {previous_year} vs {current_year}")
plt.tight_layout()
plt.show()
print(f"{current_year} 年与 {previous_year} 年比较 · {current_year} against {previous_year}")
by_year

# %%
previous_quarter, current_quarter = analysis.compared_periods(data.cutoff, "quarter")
print(f"{current_quarter} 与 {previous_quarter} 比较 · {current_quarter} against {previous_quarter}")
stats.period_comparison(state, data.cutoff, "quarter")

# %% [markdown]
# ## 滚动 3/6/12 个月转化率 · Rolling conversion

# %% [markdown] tags=["official"]
# 每个环节在截至各月的最近 3、6、12 个月内的转化率：窗口越长，曲线越平稳；短期曲线明显高于或低于长期曲线，说明近期转化在加快或放缓。
#
# Each step's conversion over the 3, 6 and 12 months ending with every month. The longer the
# window, the smoother the line; a short-window line well above or below the long one shows
# conversion speeding up or slowing down lately.

# %%
pairs = analysis.rolling_by_pair(data["rolling_conversions"])
fig, axes = plt.subplots(1, len(pairs), figsize=(16, 3.6), sharey=True)
for ax, (pair, part) in zip(axes, pairs):
    for window in ("3", "6", "12"):
        ax.plot(part["period"], part[window], label=f"{window} 个月 months")
    ax.set_title(charts.bilingual(pair))
    ax.set_xticks(part["period"][::6], part["period"][::6], rotation=45)
axes[0].set_ylabel("转化率 conversion")
axes[0].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 按谋划月份的队列转化 · Cohort conversion

# %% [markdown] tags=["analyst"]
# Share of each monthly planning cohort that had signed after k months. A line stops where
# the cohort is too young to know (censored), instead of dropping to zero.

# %% [markdown] tags=["official"]
# 把同一个月谋划的项目作为一批：每批项目在谋划后第 k 个月时已签约的比例。较新的批次观察时间还短，曲线在尚无法判断的地方截止，而不是降为零。
#
# The projects planned in the same month form a group: the share of each group that had signed k
# months after planning. A recent group has not been watched for long, so its line stops where the
# outcome is not yet known instead of falling to zero.

# %%
fig, ax = plt.subplots(figsize=(10, 4.5))
for cohort, curve in analysis.cohort_curves(data["cohorts"], "signed", every=3):
    ax.plot(curve["k"], curve["rate"], label=cohort)
ax.set_xlabel("谋划后月数 months since planned (k)")
ax.set_ylabel("已签约占比 share signed")
ax.set_title("队列转化（截尾不计为零）Cohort conversion to signed; censored cohorts stop")
ax.legend(ncol=3, fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 落地用时（竞争风险）· Time to land, with dropping as a competing risk

# %% [markdown] tags=["analyst"]
# Days from planned to started. A project leaves the risk set by landing, by being dropped,
# or at the cut-off while still waiting (censored). A dropped project will not land, so
# dropping is a **competing risk**, not censoring: the curve is the Aalen–Johansen cumulative
# incidence of landing (the share of planned projects that have landed by day t), beside
# that of dropping, each with pointwise 95 % confidence intervals (log(−log) transform).
# The grey dashed line is what treating drops as censored gives (one minus Kaplan–Meier): it
# assumes a dropped project could still land, and overstates the chance of landing. Curves
# stop where fewer than ten projects are still waiting; the table reads them at given days.

# %% [markdown] tags=["official"]
# 项目从谋划到开工（落地）的用时。实线是谋划后第 t 天时已落地项目的比例，另一条是已终止项目的比例，阴影为 95 % 置信区间。终止的项目不会再落地，所以单独计算；灰色虚线是把终止项目当作仍可能落地时的估计，会高估落地的可能。下表给出谋划后 90、180、365、540、730 天时的比例；“在观察项目”是到那一天仍在等待结果的项目数，不足十个时曲线截止。
#
# Time from planned to construction started (landed). One line is the share of planned projects
# that had landed by day t after planning, the other the share dropped, with 95 % confidence bands.
# A dropped project will not land, so drops are counted on their own; the grey dashed line treats
# dropped projects as if they could still land and overstates the chance of landing. The table reads
# the shares at 90, 180, 365, 540 and 730 days; "at risk" is the number of projects still waiting on
# that day, and a line stops where fewer than ten are.

# %%
events = analysis.time_to_event(state, data.cutoff, "planned", "started")
curves = stats.cumulative_incidence(events)
naive = stats.while_at_risk(stats.km_drops_censored(events), 10)
fig, ax = plt.subplots(figsize=(10, 4.5))
shown = stats.while_at_risk(curves, 10)
plots.incidence(ax, shown, "reached", "落地 landed (Aalen–Johansen, 95 % CI)")
plots.incidence(ax, shown, "dropped", "终止 dropped (competing risk, 95 % CI)")
ax.step(naive["days"], naive["incidence"], where="post", color="grey", linestyle="--",
        label="1 − Kaplan–Meier, drops censored (overstates)")
ax.yaxis.set_major_formatter(PercentFormatter(1.0))
ax.set_xlabel("谋划后天数 days since planned")
ax.set_ylabel("累计发生率 cumulative incidence")
ax.set_title("落地与终止的累计发生率 Cumulative incidence of landing and of dropping")
ax.legend(loc="upper left")
plt.tight_layout()
plt.show()
stats.incidence_at(curves, [90, 180, 365, 540, 730])

# %% [markdown]
# ### 按谋划年份 · By planning year

# %% [markdown] tags=["analyst"]
# The same curve for the projects planned in each year: this year's projects against last
# year's at the same age. A curve stops where fewer than ten of its cohort are still waiting.

# %% [markdown] tags=["official"]
# 同样的落地曲线，按谋划年份分别计算：今年谋划的项目与往年谋划的项目在相同时间内落地的快慢。
#
# The same landing curve for the projects planned in each year: this year's projects against
# earlier years' at the same age.

# %%
by_cohort = stats.cumulative_incidence_by(events, "cohort")
fig, ax = plt.subplots(figsize=(10, 4.5))
plots.incidence_by(ax, stats.while_at_risk(by_cohort, 10), "cohort", "reached")
ax.yaxis.set_major_formatter(PercentFormatter(1.0))
ax.set_xlabel("谋划后天数 days since planned")
ax.set_ylabel("已落地 landed")
ax.set_title("按谋划年份的落地累计发生率 Cumulative incidence of landing by planning year (95 % CI)")
ax.legend(title="谋划年份 planned in")
plt.tight_layout()
plt.show()
stats.incidence_at(by_cohort, [180, 365, 540], by=("cohort",))

# %% [markdown]
# ## 阶段间用时 · Time between stages

# %% [markdown] tags=["analyst"]
# Median and 90th-percentile days of each step over the projects that completed it, with
# distribution-free 95 % confidence intervals (order statistics). Projects still waiting are
# not in these figures, so they describe how long the conversions that happened took; how
# many convert, and how soon, is the cumulative incidence above. The comparison tables above
# give the same figures for the steps completed in each period.

# %% [markdown] tags=["official"]
# 已完成各环节的项目所用天数的中位数和 90 % 分位数（90 % 的项目在这一天数内完成），以及 95 % 置信区间。仍在等待的项目不计入，所以这里说明的是已经完成的转化用了多长时间；有多少项目转化、转化得多快，见上面的落地用时曲线。
#
# The median and 90th-percentile days of each step over the projects that completed it (90 % of them
# took no longer), with 95 % confidence intervals. Projects still waiting are not counted, so these
# figures say how long the conversions that happened took; how many convert, and how soon, is the
# landing curve above.

# %%
times = stats.step_times(analysis.step_durations(state))
fig, ax = plt.subplots(figsize=(10, 4))
plots.step_times(ax, times)
ax.set_xlabel("天 days")
ax.set_title("阶段间用时 Days between stages: median and 90th percentile, 95 % CI")
ax.legend()
plt.tight_layout()
plt.show()
times

# %% [markdown]
# ## 一年内落地率（95 % 区间）· Landing within a year, by industry, zone and town

# %% [markdown] tags=["analyst"]
# Of the projects planned at least 365 days before the cut-off (so each was watched a full
# year), the share that started construction within 365 days: a plain proportion with no
# censoring, with its Wilson score interval. Dropped projects count as not landed.

# %% [markdown] tags=["official"]
# 谋划已满一年的项目中，一年内开工（落地）的比例，按产业链、区域、镇办分列，并附 95 % 置信区间。项目少的类别区间很宽，比较时要看区间而不只看比例；已终止的项目计为未落地。
#
# Of the projects planned at least a year ago, the share that started construction within a year,
# by industry, zone and town, with a 95 % interval. Where there are few projects the interval is
# wide: compare the intervals, not only the shares. Dropped projects count as not landed.

# %%
for dim in ("industry", "zone", "town"):
    by = stats.with_wilson(analysis.landing_within(state, data.cutoff, 365, (dim,)), "reached", "n")
    fig, ax = plt.subplots(figsize=(10, 0.42 * by.height + 1.3))
    plots.intervals(ax, by, dim)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("一年内落地 landed within 365 days of planning")
    ax.set_title(f"按{charts.dimension_name(dim)}的一年内落地率 Landing within a year by {dim}, Wilson 95 % interval")
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ## 镇办 × 产业链 · Town × industry

# %% [markdown] tags=["analyst"]
# Each cell: landed within a year / planned at least a year ago. Cells of fewer than five
# projects stay grey: too few to read a rate from. The table lists the cells of at least five
# projects with their Wilson intervals.

# %% [markdown] tags=["official"]
# 每一格是某镇办某产业链谋划已满一年的项目中，一年内落地的比例。不足 5 个项目的格子为灰色：项目太少，不宜据此判断。下表列出至少有 5 个项目的格子及其 95 % 置信区间。
#
# Each cell: the share of a town's projects in one industry, planned at least a year ago, that
# landed within a year. Cells of fewer than five projects stay grey: too few to judge from. The table
# lists the cells of at least five projects with their 95 % intervals.

# %%
cells = analysis.landing_within(state, data.cutoff, 365, ("town", "industry"))
fig, ax = plt.subplots(figsize=(13, 8))
image = plots.heatmap(ax, cells, "town", "industry", min_n=5)
fig.colorbar(image, ax=ax, label="一年内落地率 landed within a year", format=PercentFormatter(1.0))
ax.set_title(f"{charts.dimension_label('town')} × {charts.dimension_label('industry')}: "
             "一年内落地 / 谋划满一年 landed within a year / planned a year or more ago")
plt.tight_layout()
plt.show()
stats.with_wilson(analysis.landing_within(state, data.cutoff, 365, ("town", "industry"), min_n=5), "reached", "n")
