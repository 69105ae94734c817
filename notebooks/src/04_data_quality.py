# %% [markdown]
# # 数据质量 · Data quality
#
# What the feeds got wrong and when: dead-letter reasons over time, how late events
# arrive, and the Great Expectations results of the aggregates.

# %%
import matplotlib.pyplot as plt
import polars as pl

from streams.analysis import charts
from streams.analysis.load import load

charts.setup()
data = load()
acc = data.summary["accounting"]
print(f"received {acc['received']:,} = accepted {acc['accepted']:,} + duplicates {acc['duplicates']:,}"
      f" + rejected {sum(acc['rejected'].values()):,}  {acc['rejected']}")

# %% [markdown]
# ## Rejections by reason and month of arrival · 退回原因（按到达月份）
# Records with no readable `recorded_at` (malformed lines) are shown as "unknown".

# %%
rejections = data["rejections"].with_columns(
    month=pl.col("recorded_at").dt.convert_time_zone("Asia/Shanghai").dt.strftime("%Y-%m").fill_null("unknown"))
by_month = rejections.group_by("month", "outcome").len().sort("month")
wide = by_month.pivot(on="outcome", index="month", values="len").fill_null(0).sort("month")
fig, ax = plt.subplots(figsize=(11, 4))
bottom = None
for reason in [c for c in wide.columns if c != "month"]:
    ax.bar(wide["month"], wide[reason], bottom=bottom, label=reason)
    bottom = wide[reason] if bottom is None else bottom + wide[reason]
ax.set_xticks(range(0, wide.height, 3), wide["month"][::3], rotation=45)
ax.set_title("退回记录 Rejected records by reason")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()
rejections.group_by("outcome").len().sort("len", descending=True)

# %% [markdown]
# ## Late arrivals · 迟报

# %%
lags = data["arrival_lags"]
fig, ax1 = plt.subplots(figsize=(11, 4))
ax1.plot(lags["month"], lags["median_lag_days"], label="中位滞后 median lag (days)")
ax1.plot(lags["month"], lags["p90_lag_days"], label="P90 滞后 p90 lag (days)")
ax2 = ax1.twinx()
ax2.bar(lags["month"], lags["late_share"] * 100, alpha=0.25, color="grey", label="迟报占比 late (>30 d) %")
ax1.set_xticks(range(0, lags.height, 3), lags["month"][::3], rotation=45)
ax1.set_title("上报滞后 Lag between occurred_at and recorded_at, by month of arrival")
ax1.legend(loc="upper left")
ax2.legend(loc="upper right")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Great Expectations on the aggregates · 汇总数据校验

# %%
if data.quality is None:
    from streams.quality.gate import check_aggregates

    quality = check_aggregates(data.summary, data.tables).as_dict()
else:
    quality = data.quality
print("aggregate suites:", "PASS" if quality["success"] else "FAIL")
pl.DataFrame(quality["failures"]) if quality["failures"] else pl.DataFrame({"failures": []})
