# %% [markdown]
# # 数据质量 · Data quality

# %% [markdown] tags=["analyst"]
# What the feeds got wrong and when: dead-letter reasons over time, how late events
# arrive, and the Great Expectations results of the aggregates. Cells tagged `official` are shown
# on the officials' page only (领导版), cells tagged `analyst` on this one only.

# %% [markdown] tags=["official"]
# 各单位报送的记录中，有多少被接受、多少因不符合要求被退回及退回原因，报送是否及时，以及对汇总数据的自动校验结果。被退回的记录不计入任何统计；同一事件重复报送只计一次。
#
# Of the records the departments sent: how many were accepted, how many were sent back and why, how
# late events are reported, and the automatic checks of the summary figures. A record sent back
# counts in no figure; an event reported twice counts once.

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
# ## 退回原因（按到达月份）· Rejections by reason and month of arrival

# %% [markdown] tags=["analyst"]
# Months are CST. Records with no readable `recorded_at` (malformed lines) are shown as "unknown".

# %% [markdown] tags=["official"]
# 每月收到后被退回的记录数及原因（按北京时间的到达月份）；无法读出到达时间的记录记为“unknown 未知”。
#
# The records sent back each month and why, by month of arrival (Beijing time); records whose time of
# arrival cannot be read are shown as "unknown".

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
# ## 迟报 · Late arrivals

# %% [markdown] tags=["official"]
# 事件发生到上报之间相隔的天数：按到达月份，折线为滞后天数的中位数和 90 % 分位数，灰色柱为滞后超过 30 天的记录所占比例。
#
# Days between an event and its report, by month of arrival: the lines are the median and the 90th
# percentile of the lag, the grey bars the share of records reported more than 30 days late.

# %%
lags = data["arrival_lags"]
fig, ax1 = plt.subplots(figsize=(11, 4))
ax1.plot(lags["month"], lags["median_lag_days"], label="中位滞后 median lag (days)")
ax1.plot(lags["month"], lags["p90_lag_days"], label="P90 滞后 p90 lag (days)")
ax2 = ax1.twinx()
ax2.bar(lags["month"], lags["late_share"], alpha=0.25, color="grey", label="迟报占比 late (>30 d)")
ax2.yaxis.set_major_formatter(PercentFormatter(1.0))
ax1.set_xticks(range(0, lags.height, 3), lags["month"][::3], rotation=45)
ax1.set_title("上报滞后 Days between an event and its report, by month of arrival")
ax1.legend(loc="upper left")
ax2.legend(loc="upper right")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 汇总数据校验 · Checks on the aggregates

# %% [markdown] tags=["analyst"]
# The Great Expectations suites on the aggregate tables (`data.quality_report()`).

# %% [markdown] tags=["official"]
# 对汇总数据的自动校验，例如没有重复的行、转化率在 0 到 100 % 之间、项目数不为负。“PASS”表示全部通过；未通过的校验列在下表。
#
# Automatic checks of the summary figures: for example that no row is repeated, that a
# conversion lies between 0 and 100 % and that no count is negative. "PASS" means all of them passed;
# any that failed are listed in the table.

# %%
quality = data.quality_report()
print("汇总数据校验 checks on the aggregates:", analysis.quality_verdict(quality))
analysis.quality_failures(quality)
