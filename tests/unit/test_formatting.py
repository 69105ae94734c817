"""The officials' tables (streams.analysis.formatting), the report's two variants, and the funnel chart."""

from __future__ import annotations

import re

import nbformat
import polars as pl
import pytest

from streams import config
from streams.analysis import charts, stats
from streams.analysis.formatting import OFFICIAL_HTML, frame_html, load_ipython_extension
from streams.core import analysis
from streams.core.targets import target_attainment
from streams.documents.report import analyst, official, to_html
from tests.unit.history import fold
from tests.unit.test_analysis import two_years


def cells(page: str) -> list[list[str]]:
    """The text of each body row's cells."""
    body = re.search(r"<tbody>(.*)</tbody>", page, re.DOTALL).group(1)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body)]


def test_numbers_amounts_shares_and_names_are_formatted():
    frame = pl.DataFrame({
        "stage": ["planned", "negotiating"], "actual": [12_345, 7], "investment_yuan": [123_456_789_012, None],
        "conversion": [None, 0.82914], "p_value": [0.0004, 0.4181], "year": [2023, 2024], "on_track": [True, False],
        "亿元 investment": [68.7, 1234.56], "median_days": [65.125, 1200.0], "what": ["planned→negotiating", "x<y"],
    })
    page = frame_html(frame)
    assert cells(page) == [
        ["谋划 planned", "12,345", "1,234.6", "—", "&lt;0.001", "2023", "是 yes", "68.7", "65.1",
         "谋划 planned→洽谈 negotiating"],
        ["洽谈 negotiating", "7", "—", "82.9 %", "0.418", "2024", "否 no", "1,234.6", "1,200.0", "x&lt;y"],
    ]
    assert "<th style=\"text-align:left\">阶段 stage</th>" in page
    assert "投资额 investment 亿元" in page and "&quot;" not in page and '"planned"' not in page
    assert 'class="dataframe"' not in page and "shape:" not in page


def tables(page: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every table of a page: its headers and the text of its body rows' cells."""
    return [(re.findall(r"<th(?:\s[^>]*)?>(.*?)</th>", table), cells(table))
            for table in re.findall(r"<table.*?</table>", page, re.DOTALL)]


def kind(text: str) -> str | None:
    """The kind of quantity a cell shows (None: no value, or a text)."""
    if text == "—":
        return None
    if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})*", text):
        return "count"
    if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})*\.\d %", text):
        return "percent"
    if re.fullmatch(r"&lt;0\.001|[01]\.\d{3}", text):
        return "three decimals"  # a p-value, or a fraction shown raw
    if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})*\.\d", text):
        return "one decimal"
    return "text"


#: A header whose unit is one or another, "(亿元 / 个)": its values are not all of one kind, whatever they look like.
EITHER_UNIT = re.compile(r"[(（][^)）]*/[^)）]*[)）]")


def mixed_columns(page: str) -> list[str]:
    """The columns of the page's tables that show more than one kind of quantity (empty: none): values
    formatted two ways, or a header naming two units (60.0 targets and 500.0 亿元 look alike)."""
    found = []
    for head, body in tables(page):
        for i, name in enumerate(head):
            kinds = {kind(row[i]) for row in body} - {None}
            if len(kinds) > 1:
                found.append(f"{name}: {sorted(kinds)}")
            elif EITHER_UNIT.search(name):
                found.append(f"{name}: two units")
    return found


#: A period comparison as ``streams.analysis.stats.period_comparison`` returns it: counts, conversions and
#: days in the same columns (floats all).
COMPARISON = pl.DataFrame({
    "measure": ["flow", "flow", "dropped", "conversion", "conversion", "median_days", "p90_days"],
    "what": ["planned", "negotiating", "dropped", "planned→negotiating", "negotiating→signed",
             "planned→negotiating", "planned→negotiating"],
    "previous": [1245.0, 203.0, 43.0, 0.829, None, 70.8, 104.9],
    "current": [199.0, 203.0, 85.0, 0.94, 0.674, 60.0, 103.1],
    "change": [-1046.0, 0.0, 42.0, 0.111, None, -10.8, -1.8],
    "change_pct": [-0.840, 0.0, 0.977, 0.134, None, -0.153, -0.017],
    "p_value": [0.0001, 0.418, 0.0004, None, None, 0.543, 0.734],
})


def test_a_period_comparison_shows_one_kind_of_quantity_per_column():
    page = frame_html(COMPARISON)
    assert mixed_columns(page) == []
    (count_head, counts), (rate_head, rates), (days_head, days) = tables(page)
    assert counts == [["谋划 planned", "1,245", "199", "-1,046", "-84.0 %", "&lt;0.001"],
                      ["洽谈 negotiating", "203", "203", "0", "0.0 %", "0.418"],  # no change: 0, not +0
                      ["终止 dropped", "43", "85", "+42", "97.7 %", "&lt;0.001"]]
    assert rates == [["谋划 planned→洽谈 negotiating", "82.9 %", "94.0 %", "+11.1"],  # in percentage points
                     ["洽谈 negotiating→签约 signed", "—", "67.4 %", "—"]]
    assert "变化（百分点）change (points)" in rate_head and "p 值 p-value" not in rate_head
    assert days == [["中位天数 median days", "谋划 planned→洽谈 negotiating", "70.8", "60.0", "-10.8", "-15.3 %", "0.543"],
                    ["90% 分位天数 90th pct days", "谋划 planned→洽谈 negotiating", "104.9", "103.1", "-1.8", "-1.7 %",
                     "0.734"]]
    assert "项目数（个）" in page and "阶段转化率（%）" in page and "用时（天）" in page


def test_the_comparison_the_notebook_shows_mixes_no_kinds_either():
    r = fold(two_years(), as_of="2024-12-31")
    comparison = stats.period_comparison(r.state, r.view.cutoff, "year")
    page = frame_html(comparison)
    assert len(tables(page)) == 3 and mixed_columns(page) == []
    assert all(re.fullmatch(r"\d+", row[1]) for row in tables(page)[0][1])  # counts, not 3.0


#: A year's targets as ``streams.core.targets.target_attainment`` gives them: counts and amounts in yuan.
TARGETS = pl.DataFrame({
    "year": [2024] * 5,
    "metric": ["signed", "signed_yuan", "signed_lead_yuan", "signed_projects_50yi", "started_yuan"],
    "target": [60.0, 500e8, 300e8, 2.0, 330e8], "actual": [1_126.0, 883.77e8, 5_016.2e8, 2.0, 698.86e8],
    "attainment": [1_126 / 60, 1.7675, 16.72, 1.0, 2.1178], "elapsed_share": [0.5] * 5,
    "projected": [2_252.0, 1_767.5e8, 10_032.4e8, 4.0, 1_397.7e8], "on_track": [True, True, True, True, True],
})


def test_the_targets_table_shows_counts_and_amounts_in_tables_of_their_own():
    page = frame_html(analysis.target_table(TARGETS, 2024))
    assert mixed_columns(page) == []
    (count_head, counts), (amount_head, amounts) = tables(page)
    assert count_head[:3] == ["目标 target", "目标值（个）target (count)", "实际（个）actual (count)"]
    assert counts == [["新签约项目数 new signings", "60", "1,126", "1,876.7", "3,753.3", "50.0", "是 yes"],
                      ["50亿以上项目 signings ≥ 50 亿", "2", "2", "100.0", "200.0", "50.0", "是 yes"]]
    assert amount_head[:3] == ["目标 target", "目标值（亿元）target (亿元)", "实际（亿元）actual (亿元)"]
    assert [row[:3] for row in amounts] == [["签约额 signed amount", "500.0", "883.8"],
                                            ["主导产业签约额 lead-industry amount", "300.0", "5,016.2"],
                                            ["新开工投资 started investment", "330.0", "698.9"]]
    assert "项目数目标（个）" in page and "金额目标（亿元）" in page


def test_the_targets_the_notebook_shows_mix_no_kinds_either():
    r = fold(two_years(), as_of="2024-06-30")
    attainment = target_attainment(r.state, config.targets(), r.view.cutoff)
    for year in (2023, 2024):
        page = frame_html(analysis.target_table(attainment, year))
        assert tables(page) and mixed_columns(page) == [], year


def test_the_mixed_column_check_catches_a_table_that_mixes_counts_and_fractions():
    page = frame_html(pl.DataFrame({"measure2": ["flow", "conversion"], "previous": [245.0, 0.829]}))
    assert mixed_columns(page) == ["上期 previous: ['count', 'three decimals']"]  # 245 and 0.829


def test_the_mixed_column_check_catches_the_targets_in_one_table():
    one_table = analysis.target_table(TARGETS, 2024).rename({"target 目标": "goal"})  # shown as any frame
    assert mixed_columns(frame_html(one_table)) == ["目标值 target (亿元 / 个): two units",  # 60.0 and 500.0
                                                    "实际 actual: ['count', 'one decimal']"]  # 1,126 and 883.8


def test_rejection_reasons_and_the_accounting_read_as_words():
    page = frame_html(pl.DataFrame({"records": ["received", "rejected: event_id_conflict", "rejected"],
                                    "count": [2_656, 5, 22]}))
    assert cells(page) == [["收到 received", "2,656"], ["退回 rejected：事件编号冲突 conflicting event id", "5"],
                           ["退回合计 rejected in all", "22"]]
    assert cells(frame_html(pl.DataFrame({"reason": ["future_occurred_at"], "records": [2]}))) == [
        ["发生时间晚于上报时间 dated after its report", "2"]]


def test_a_long_frame_shows_its_first_rows_and_says_how_many_more():
    page = frame_html(pl.DataFrame({"n": list(range(100))}), max_rows=10)
    assert len(cells(page)) == 10 and "另有 90 行 90 more rows" in page
    assert "无 none" in frame_html(pl.DataFrame({"n": []}, schema={"n": pl.Int64}))


def test_as_an_ipython_extension_every_frame_also_carries_the_officials_table():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        load_ipython_extension(shell)
        data, _ = shell.display_formatter.format(pl.DataFrame({"actual": [1_000]}))
    finally:
        InteractiveShell.clear_instance()  # charts.setup() would take this for JupyterLab
    assert "text/html" in data and "<td>1000</td>" in data["text/html"]  # Polars' own, for the analyst
    assert cells(data[OFFICIAL_HTML]) == [["1,000"]]


@pytest.fixture
def executed():
    """A notebook as a kernel left it: a code cell with stdout, stderr and a frame in both renderings."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 标题 Title"),
                nbformat.v4.new_code_cell("funnel_of_the_year = analysis.stage_funnel(state)\nfunnel_of_the_year",
                                          execution_count=1)]
    nb.cells[1].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="source: demo\n"),
        nbformat.v4.new_output("stream", name="stderr", text="RuntimeWarning: divide by zero\n"),
        nbformat.v4.new_output("execute_result", execution_count=1, data={
            "text/plain": "shape: (1, 1)", "text/html": '<table class="dataframe"><td>&quot;planned&quot;</td></table>',
            OFFICIAL_HTML: frame_html(pl.DataFrame({"stage": ["planned"]}))}),
    ]
    return nb


def test_the_officials_page_has_no_code_no_stderr_and_the_formatted_tables(executed):
    page = to_html(executed, "标题 Title", for_officials=True)
    assert "funnel_of_the_year" not in page and "hl-ipython3" not in page
    assert "RuntimeWarning" not in page and "source: demo" in page
    assert "谋划 planned" in page and 'class="dataframe"' not in page and "table.funnel-table" in page
    assert "<title>标题 Title</title>" in page
    assert OFFICIAL_HTML in executed.cells[1].outputs[2]["data"]  # the executed notebook is left as it was


def test_the_analysts_page_keeps_the_code_and_polars_tables(executed):
    page = to_html(executed, "标题 Title")
    assert "funnel_of_the_year" in page and 'class="dataframe"' in page and "funnel-table" not in page
    assert OFFICIAL_HTML not in str(analyst(executed)) and OFFICIAL_HTML not in str(official(executed))


def test_cells_tagged_analyst_are_left_out_of_the_officials_page_and_official_ones_out_of_the_analysts(executed):
    analysts = nbformat.v4.new_markdown_cell("Every figure comes from `streams.core.analysis`.",
                                             metadata={"tags": ["analyst"]})
    officials = nbformat.v4.new_markdown_cell("本页说明 What this page means.", metadata={"tags": ["official"]})
    print_for_officials = nbformat.v4.new_code_cell('print("截至")', metadata={"tags": ["official"]})
    print_for_officials.outputs = [nbformat.v4.new_output("stream", name="stdout", text="截至 2024-12-31\n")]
    executed.cells[1:1] = [analysts, officials, print_for_officials]
    for_officials, for_analysts = to_html(executed, for_officials=True), to_html(executed)
    assert "streams.core.analysis" not in for_officials and "本页说明" in for_officials
    assert "截至 2024-12-31" in for_officials
    assert "streams.core.analysis" in for_analysts and "本页说明" not in for_analysts
    assert "截至 2024-12-31" not in for_analysts
    assert "source: demo" in for_officials and "source: demo" in for_analysts  # untagged: on both
    assert len(executed.cells) == 5  # the executed notebook is left as it was


def test_the_funnel_chart_draws_each_stage_with_its_flow_and_conversion():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charts.setup()
    funnel = pl.DataFrame({"stage": ["planned", "negotiating", "signed", "started"], "actual": [1245, 203, 105, 85],
                           "target": [200, 160, 80, None], "conversion": [None, 0.829, 0.517, 0.81],
                           "target_conversion": [None, 0.8, 0.5, None]})
    fig, ax = plt.subplots()
    charts.funnel_chart(ax, funnel)
    texts = [t.get_text() for t in ax.texts]
    assert "1,245  /  目标 200" in texts and "85" in texts
    assert "↓ 转化率 82.9%（目标 80%）" in texts and "↓ 转化率 81.0%" in texts
    assert {t.get_position()[1]: t.get_text() for t in ax.get_yticklabels()} == {  # planned on top
        3: "谋划 planned", 2: "洽谈 negotiating", 1: "签约 signed", 0: "开工 started"}
    bars = sorted(ax.patches, key=lambda p: -p.get_y())
    assert [b.get_width() for b in bars] == [1245, 203, 105, 85]
    assert [b.get_x() + b.get_width() / 2 for b in bars] == [622.5] * 4  # centred: a funnel
    fig.canvas.draw()  # renders with the CJK font (setup raises if none is installed)
    plt.close(fig)

    fig, ax = plt.subplots()
    charts.funnel_chart(ax, funnel.clear())
    assert [t.get_text() for t in ax.texts] == ["无流量 no flows"]
    plt.close(fig)


def test_charts_name_the_dimensions_chinese_first():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from streams.analysis import plots

    assert charts.dimension_label("industry") == "产业链 industry" and charts.dimension_name("town") == "镇办"
    assert charts.dimension_label("zone") == "区域 zone"
    assert charts.bilingual("planned→negotiating") == "谋划 planned→洽谈 negotiating"  # a step, as its title
    by = pl.DataFrame({"industry": ["新材料"], "n": [12], "reached": [3], "rate": [0.25], "low": [0.09], "high": [0.53]})
    fig, ax = plt.subplots()
    plots.intervals(ax, by, "industry")
    assert ax.get_ylabel() == "产业链 industry"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["新材料 new materials (n=12)"]
    plt.close(fig)
    fig, ax = plt.subplots()
    plots.heatmap(ax, pl.DataFrame({"town": ["建新街"], "industry": ["新材料"], "reached": [3], "n": [6]}), "town",
                  "industry")
    assert (ax.get_ylabel(), ax.get_xlabel()) == ("镇办 town", "产业链 industry")
    plt.close(fig)


def committed_checks() -> list[tuple[str, str, str]]:
    """(suite, expectation, column) of every committed expectation (``expectations/gx``, kept equal to the
    code by test_quality), the column named as ``streams.quality.gate.validate`` names it in a failure."""
    import json
    from pathlib import Path

    found = []
    for path in sorted((Path(__file__).resolve().parents[2] / "expectations" / "gx" / "expectations").rglob("*.json")):
        suite = json.loads(path.read_text(encoding="utf-8"))
        for e in suite["expectations"]:
            k = e["kwargs"]
            column = k.get("column") or ", ".join(k.get("column_list") or ()) or f"{k.get('column_A')} ≥ {k.get('column_B')}"
            found.append((suite["name"], e["type"], column))
    return found


def test_every_check_of_the_aggregates_has_a_description_in_words():
    from streams.analysis.checks import CHECKS, describe, suite_name
    from tests.unit.test_notebooks import code_like

    found = committed_checks()
    assert len(found) > 40 and {s for s, _, _ in found} >= {"feed", "aggregates.rankings", "aggregates.totals"}
    aggregates = [c for c in found if c[0].startswith("aggregates.")]
    assert [c for c in aggregates if c not in CHECKS] == []  # what an official can see has its own words
    for suite, expectation, column in found:  # the feed's too, from the kinds of check
        text = f"{suite_name(suite)} {describe(suite, expectation, column)}"
        assert re.match(r"[\u4e00-\u9fff]", text) and code_like(text) == [], text
    assert describe("aggregates.totals", "expect_column_values_to_be_between", "orphan_share") == \
        "缺少谋划记录的项目不超过 5 % projects without a planning record are at most 5 %"
    assert describe("feed", "expect_column_values_to_not_be_null", "event_id") == "不缺失 no missing value（event id）"


def test_a_check_not_described_still_reads_as_words():
    from streams.analysis.checks import describe, suite_name
    from tests.unit.test_notebooks import code_like

    text = describe("aggregates.arrivals", "expect_column_max_to_be_between", "late_share")
    assert text == "校验 check: column max to be between（late share）" and code_like(text) == []
    assert suite_name("aggregates.arrivals") == "aggregates arrivals"


def test_the_failed_checks_are_named_for_people():
    from streams.core.analysis import quality_failures

    failures = quality_failures({"success": False, "failures": [
        {"suite": "aggregates.rankings", "expectation": "expect_compound_columns_to_be_unique",
         "column": "granularity, period, dimension, unit", "severity": "critical", "unexpected": 2,
         "examples": [{"granularity": "month", "period": "2024-03", "dimension": "town", "unit": "建新街"}]},
        {"suite": "aggregates.totals", "expectation": "expect_column_values_to_be_between", "column": "orphan_share",
         "severity": "critical", "unexpected": None, "examples": [{"observed_value": 0.07}]},
        {"suite": "aggregates.arrivals", "expectation": "expect_column_max_to_be_between", "column": "late_share",
         "severity": "warning", "unexpected": 1_234, "examples": []},
        {"suite": "aggregates.cohorts", "expectation": "expect_column_values_to_be_between", "column": "rate",
         "severity": "critical", "unexpected": 2, "examples": [1.5, 2.25]},  # values, not rows: kept as they are
    ]})
    page = frame_html(failures)
    assert cells(page) == [
        ["月评比 rankings", "每个单位每期只排名一次 each unit is ranked once per period", "严重 critical", "2",
         "周期 granularity month，期间 period 2024-03，维度 dimension 镇办 town，单位 unit 建新街"],
        ["总数核对 totals", "缺少谋划记录的项目不超过 5 % projects without a planning record are at most 5 %",
         "严重 critical", "—", "实际值 observed 0.070"],
        ["aggregates arrivals", "校验 check: column max to be between（late share）", "警告 warning", "1,234", "—"],
        ["分批转化 cohort conversion", "分批转化率在 0 到 100 % 之间 every cohort&#x27;s conversion is 0 to 100 %",
         "严重 critical", "2", "1.5；2.2"]]
    assert "expect_" not in page and "orphan_share" not in page and "aggregates.totals" not in page
    assert cells(frame_html(quality_failures({"success": True, "failures": []}))) == [["无 none"]]
