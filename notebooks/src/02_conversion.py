# %% [markdown]
# # 滚动转化分析 · Conversion: from 200 planned to 60 landed
#
# The bureau's 2023 goal: 200 planned → 160 negotiating → 80 signed → 60 landed
# (80 %, 50 %, 75 %; 30 % planned → landed). Flows, rolling and cohort conversion,
# time to land, and breakdowns with honest small-sample intervals.

# %%
import matplotlib.pyplot as plt
import polars as pl

from streams.analysis import charts, stats
from streams.analysis.load import load
from streams.core.fold import reached

charts.setup()
data = load()
state = data["project_state"].filter(pl.col("in_pools"))

# %% [markdown]
# ## 2023 flows against the targets · 2023 年目标完成

# %%
targets = data.targets.get("2023", {"planned": 200, "negotiating": 160, "signed": 80, "started": 60})
flows_2023 = data.summary["flows"].get("2023", {})
stages = ["planned", "negotiating", "signed", "started"]
actual = [flows_2023.get(s, 0) for s in stages]
goal = [targets.get(s, 0) for s in stages]
fig, ax = plt.subplots(figsize=(10, 4))
y = range(len(stages))[::-1]
ax.barh(y, actual, color="#55a868", label="实际 actual")
ax.barh(y, goal, fill=False, edgecolor="black", linestyle="--", label="目标 target")
for yi, a, g in zip(y, actual, goal):
    ax.annotate(f"{a} / {g}", (max(a, g), yi), xytext=(5, 0), textcoords="offset points", va="center")
ax.set_yticks(list(y), [charts.STAGE_LABELS[s] for s in stages])
ax.set_title("2023 年漏斗 The 2023 funnel: projects reaching each stage vs target")
ax.legend()
plt.tight_layout()
plt.show()
pl.DataFrame({"stage": stages, "actual": actual, "target": goal,
              "conversion from previous": [None] + [a / b if b else None for a, b in zip(actual[1:], actual)]})

# %% [markdown]
# ## Rolling conversion · 滚动 3/6/12 个月转化率

# %%
rolling = data["rolling_conversions"]
pairs = rolling["pair"].unique(maintain_order=True).to_list()
fig, axes = plt.subplots(1, len(pairs), figsize=(16, 3.6), sharey=True)
for ax, pair in zip(axes, pairs):
    for window in (3, 6, 12):
        part = rolling.filter((pl.col("pair") == pair) & (pl.col("window") == window)).sort("period")
        ax.plot(part["period"], part["rate"], label=f"{window} 个月 months")
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
cohorts = data["cohorts"].filter(pl.col("stage") == "signed")
fig, ax = plt.subplots(figsize=(10, 4.5))
for cohort in cohorts["cohort"].unique().sort().to_list()[::3]:
    part = cohorts.filter((pl.col("cohort") == cohort) & ~pl.col("censored")).sort("k")
    if part.height:
        ax.plot(part["k"], part["rate"], label=cohort)
ax.set_xlabel("谋划后月数 months since planned (k)")
ax.set_ylabel("已签约占比 share signed")
ax.set_title("队列转化（截尾不计为零）Cohort conversion to signed; censored cohorts stop")
ax.legend(ncol=3, fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Time to land · 落地用时（Kaplan–Meier）
#
# Days from planned to started. Projects not yet landed — and dropped ones, a competing
# risk treated here as censored at the drop — leave the risk set without counting as landed.

# %%
cutoff = data.summary["as_of"]
end = pl.lit(cutoff).str.to_datetime("%Y-%m-%d", time_zone="UTC")
timing = state.select(
    days=(pl.coalesce(pl.col(reached("started")), pl.when(pl.col("dropped")).then(pl.col("last_drop_at")), end)
          - pl.col(reached("planned"))).dt.total_hours() / 24,
    landed=pl.col(reached("started")).is_not_null())
km = stats.kaplan_meier(timing["days"].to_list(), timing["landed"].to_list())
fig, ax = plt.subplots(figsize=(9, 4))
ax.step(km["days"], 1 - km["survival"], where="post")
ax.set_xlabel("谋划后天数 days since planned")
ax.set_ylabel("已落地占比 share landed")
ax.set_title("落地累计概率 Cumulative probability of landing (Kaplan–Meier)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## By industry and zone · 分行业、分区域（Wilson 95 % 区间）

# %%
for dim in ("industry", "zone"):
    by = (state.group_by(dim).agg(n=pl.len(), landed=pl.col(reached("started")).is_not_null().sum())
          .filter(pl.col(dim).is_not_null()).sort("n", descending=True))
    by = stats.with_wilson(by, "landed", "n")
    fig, ax = plt.subplots(figsize=(10, 0.45 * by.height + 1.2))
    labels = [charts.bilingual(v) for v in by[dim]]
    ax.errorbar(by["rate"], range(by.height), xerr=[by["rate"] - by["low"], by["high"] - by["rate"]], fmt="o")
    ax.set_yticks(range(by.height), [f"{lab} (n={n})" for lab, n in zip(labels, by["n"])])
    ax.set_xlabel("谋划→落地 planned → landed")
    ax.set_title(f"按 {dim} 的落地率及 95% 区间 Landing rate by {dim}, Wilson 95 % interval")
    plt.tight_layout()
    plt.show()
