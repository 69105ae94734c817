"""The officials' tables (streams.analysis.formatting), the report's two variants, and the funnel chart."""

from __future__ import annotations

import re

import nbformat
import polars as pl
import pytest

from streams.analysis import charts
from streams.analysis.formatting import OFFICIAL_HTML, frame_html, load_ipython_extension
from streams.report import analyst, official, to_html


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
        ["洽谈 negotiating", "7", "—", "82.9 %", "0.418", "2024", "否 no", "1,234.6", "1,200", "x&lt;y"],
    ]
    assert "<th style=\"text-align:left\">阶段 stage</th>" in page
    assert "投资额 investment 亿元" in page and "&quot;" not in page and '"planned"' not in page
    assert 'class="dataframe"' not in page and "shape:" not in page


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
