# %% [markdown]
# # 滚动转化分析 · Conversion: from 200 planned to 60 landed
#
# The bureau's 2023 goal: 200 planned → 160 negotiating → 80 signed → 60 landed
# (80 %, 50 %, 75 %; 30 % planned → landed). Flows against the targets, the latest year and
# quarter against the ones before, rolling and cohort conversion, the time to land with
# dropping as a competing risk, the time between stages, and landing by industry, zone, town
# and town × industry with honest small-sample intervals.
#
# Every figure comes from `streams.core.analysis` (the rules) and `streams.analysis.stats`
# (the estimators, from statsmodels and SciPy); this notebook only draws them.

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
print(f"source: {data.source} · as of {data.as_of} (cut-off {data.cutoff.isoformat()})")

# %% [markdown]
# ## 2023 flows against the targets · 2023 年目标完成
#
# `conversion` is the flow into a stage over the flow into the stage before, in the same year
# (DOMAIN.md §4); `target_conversion` is what the targets imply.

# %%
funnel = analysis.stage_funnel(state, "2023", data.targets)
fig, ax = plt.subplots(figsize=(10, 4))
plots.against_target(ax, funnel)
ax.set_title("2023 年漏斗 The 2023 funnel: projects reaching each stage vs target")
plt.tight_layout()
plt.show()
funnel

# %% [markdown]
# ## This period against the one before · 与上一期比较
#
# The latest complete year and quarter (CST) at the as-of date, against the year and the
# quarter before. Flows and drops carry the p-value of the exact test of two Poisson rates
# (the periods' lengths as exposure); the median and 90th-percentile days of the steps
# completed in each period carry Mood's quantile test. Conversions are ratios of flows of
# different projects, not proportions, so they get no test. Twenty-odd tests at once: read a
# single p-value below 0.05 as a hint, not a finding.

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
by_year

# %%
previous_quarter, current_quarter = analysis.compared_periods(data.cutoff, "quarter")
print(f"{current_quarter} against {previous_quarter}")
stats.period_comparison(state, data.cutoff, "quarter")

# %% [markdown]
# ## Rolling conversion · 滚动 3/6/12 个月转化率

# %%
pairs = analysis.rolling_by_pair(data["rolling_conversions"])
fig, axes = plt.subplots(1, len(pairs), figsize=(16, 3.6), sharey=True)
for ax, (pair, part) in zip(axes, pairs):
    for window in ("3", "6", "12"):
        ax.plot(part["period"], part[window], label=f"{window} 个月 months")
    ax.set_title(pair)
    ax.set_xticks(part["period"][::6], part["period"][::6], rotation=45)
axes[0].set_ylabel("转化率 conversion")
axes[0].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Cohort conversion · 按谋划月份的队列转化
#
# Share of each monthly planning cohort that had signed after k months. A line stops where
# the cohort is too young to know (censored), instead of dropping to zero.

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
# ## Time to land, with dropping as a competing risk · 落地用时（竞争风险）
#
# Days from planned to started. A project leaves the risk set by landing, by being dropped,
# or at the cut-off while still waiting (censored). A dropped project will not land, so
# dropping is a **competing risk**, not censoring: the curve is the Aalen–Johansen cumulative
# incidence of landing (the share of planned projects that have landed by day t), beside
# that of dropping, each with pointwise 95 % confidence intervals (log(−log) transform).
# The grey dashed line is what treating drops as censored gives (one minus Kaplan–Meier): it
# assumes a dropped project could still land, and overstates the chance of landing. Curves
# stop where fewer than ten projects are still waiting; the table reads them at given days.

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
# ### By planning year · 按谋划年份
#
# The same curve for the projects planned in each year: this year's projects against last
# year's at the same age. A curve stops where fewer than ten of its cohort are still waiting.

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
# ## Time between stages · 阶段间用时
#
# Median and 90th-percentile days of each step over the projects that completed it, with
# distribution-free 95 % confidence intervals (order statistics). Projects still waiting are
# not in these figures, so they describe how long the conversions that happened took; how
# many convert, and how soon, is the cumulative incidence above. The comparison tables above
# give the same figures for the steps completed in each period.

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
# ## Landing within a year, by industry, zone and town · 一年内落地率（Wilson 95 % 区间）
#
# Of the projects planned at least 365 days before the cut-off (so each was watched a full
# year), the share that started construction within 365 days: a plain proportion with no
# censoring, with its Wilson score interval. Dropped projects count as not landed.

# %%
for dim in ("industry", "zone", "town"):
    by = stats.with_wilson(analysis.landing_within(state, data.cutoff, 365, (dim,)), "reached", "n")
    fig, ax = plt.subplots(figsize=(10, 0.42 * by.height + 1.3))
    plots.intervals(ax, by, dim)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("一年内落地 landed within 365 days of planning")
    ax.set_title(f"按 {dim} 的一年内落地率 Landing within a year by {dim}, Wilson 95 % interval")
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ## Town × industry · 街镇 × 产业
#
# Each cell: landed within a year / planned at least a year ago. Cells of fewer than five
# projects stay grey: too few to read a rate from. The table lists the cells of at least five
# projects with their Wilson intervals.

# %%
cells = analysis.landing_within(state, data.cutoff, 365, ("town", "industry"))
fig, ax = plt.subplots(figsize=(13, 8))
image = plots.heatmap(ax, cells, "town", "industry", min_n=5)
fig.colorbar(image, ax=ax, label="一年内落地率 landed within a year", format=PercentFormatter(1.0))
ax.set_title("街镇 × 产业 Town × industry: landed within a year / planned a year or more ago")
plt.tight_layout()
plt.show()
stats.with_wilson(analysis.landing_within(state, data.cutoff, 365, ("town", "industry"), min_n=5), "reached", "n")
