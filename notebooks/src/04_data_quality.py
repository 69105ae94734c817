# %% [markdown]
# # 数据质量 · Data quality
#
# What the feeds got wrong and when: dead-letter reasons over time, how late events
# arrive, and the Great Expectations results of the aggregates.

# %%
import matplotlib.pyplot as plt
from matplotlib.ticker import PercentFormatter

from streams.analysis import charts, plots
from streams.analysis.load import load
from streams.core import analysis

charts.setup()
plots.tables()
data = load()
analysis.accounting(data.summary)

# %% [markdown]
# ## Rejections by reason and month of arrival · 退回原因（按到达月份）
# Months are CST. Records with no readable `recorded_at` (malformed lines) are shown as "unknown".

# %%
wide = analysis.rejections_by_month(data["rejections"])
fig, ax = plt.subplots(figsize=(11, 4))
plots.stacked_bars(ax, wide, "month")
ax.set_xticks(range(0, wide.height, 3), wide["month"][::3], rotation=45)
ax.set_title("退回记录 Rejected records by reason")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()
analysis.rejections_by_reason(data["rejections"])

# %% [markdown]
# ## Late arrivals · 迟报

# %%
lags = data["arrival_lags"]
fig, ax1 = plt.subplots(figsize=(11, 4))
ax1.plot(lags["month"], lags["median_lag_days"], label="中位滞后 median lag (days)")
ax1.plot(lags["month"], lags["p90_lag_days"], label="P90 滞后 p90 lag (days)")
ax2 = ax1.twinx()
ax2.bar(lags["month"], lags["late_share"], alpha=0.25, color="grey", label="迟报占比 late (>30 d)")
ax2.yaxis.set_major_formatter(PercentFormatter(1.0))
ax1.set_xticks(range(0, lags.height, 3), lags["month"][::3], rotation=45)
ax1.set_title("上报滞后 Lag between occurred_at and recorded_at, by month of arrival")
ax1.legend(loc="upper left")
ax2.legend(loc="upper right")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Great Expectations on the aggregates · 汇总数据校验

# %%
quality = data.quality_report()
print("aggregate suites:", analysis.quality_verdict(quality))
analysis.quality_failures(quality)
