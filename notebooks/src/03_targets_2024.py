# %% [markdown]
# # 2024 年目标 · 2024 targets
#
# Every 2024 target of the bureau — ≥60 new signings worth ≥500 亿, lead industries ≥300 亿,
# ≥2 signings of ≥50 亿 each, ≥330 亿 of newly started investment — with attainment and a
# run-rate projection to the end of the year.

# %%
import matplotlib.pyplot as plt

from streams.analysis import charts
from streams.analysis.load import load
from streams.core import analysis

charts.setup()
data = load()
table = analysis.target_table(data["targets"], 2024)
table

# %%
fig, ax = plt.subplots(figsize=(10, 4))
ax.barh(table["target 目标"], table["attainment %"], color="#4c72b0", label="完成率 attainment")
ax.scatter(table["projected %"], table["target 目标"], color="#dd8452", zorder=3,
           label="按当前进度年末预计 run-rate projection")
ax.axvline(100, color="black", linestyle="--")
ax.set_xlabel("% of target")
ax.set_title(f"2024 年目标完成情况 Attainment of the 2024 targets (as of {data.as_of})")
ax.legend(loc="lower right")
plt.tight_layout()
plt.show()
