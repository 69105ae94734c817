# %% [markdown]
# # 2024 年目标 · 2024 targets

# %% [markdown] tags=["analyst"]
# Every 2024 target of the bureau — ≥60 new signings worth ≥500 亿, lead industries ≥300 亿,
# ≥2 signings of ≥50 亿 each, ≥330 亿 of newly started investment — with attainment and a
# run-rate projection to the end of the year: `analysis.target_table` of the `targets` table.
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
ax.set_xlabel("占目标的百分比 % of target")
ax.set_title(f"2024 年目标完成情况 Attainment of the 2024 targets (as of {data.as_of})")
ax.legend(loc="lower right")
plt.tight_layout()
plt.show()
