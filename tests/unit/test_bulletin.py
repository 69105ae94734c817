"""The bulletin, given this history: its figures, its text for officials, and the DOCX read back."""

from __future__ import annotations

import io
import re
from datetime import date

import polars as pl
import pytest
from docx import Document as read_docx
from docx.oxml.ns import qn
from polars.testing import assert_frame_equal

from streams.core.summary import summary
from streams.core.tables import aggregate_tables
from streams.documents import bulletin, chinese as zh, fonts, sources, to_docx, to_html
from streams.documents.model import Figure, Heading, Paragraph, Table
from tests.unit.history import ev, fold

YI = 100_000_000
TARGETS = {"2024": {"signed": 4, "signed_yuan": 10 * YI, "started": 2}}


def data_of(events: list[dict], as_of: str) -> sources.BulletinData:
    result = fold(events, as_of=as_of)
    return sources.from_tables(summary(result), aggregate_tables(result, TARGETS), TARGETS, "test")


def planned(project: str, day: str, town: str = "马寨镇", **more) -> dict:
    return ev(project, "planned", day, name=more.pop("name", f"项目{project}"), town=town,
              department=more.pop("department", "区商务局"), leader=more.pop("leader", "领导甲"), **more)


HISTORY = [
    planned("A", "2024-01-05", investment_yuan=3 * YI),
    ev("A", "signed", "2024-02-10", investment_yuan=4 * YI),
    ev("A", "started", "2024-03-02"),
    planned("B", "2024-01-20", "侯寨乡", leader="领导乙", department="区发改委"),
    ev("B", "plan", "2024-01-21", milestone="signed", due="2024-02-15"),      # overdue: yellow, then red
    planned("C", "2023-06-01", "侯寨乡"),
    ev("C", "signed", "2024-03-20", investment_yuan=6 * YI),
    ev("C", "plan", "2024-03-21", milestone="started", due="2024-04-03"),     # due 3 days after March
    planned("D", "2024-03-05"),
    ev("D", "dropped", "2024-03-25", reason="撤资"),
]


@pytest.fixture(scope="module")
def march() -> bulletin.Figures:
    return bulletin.figures(data_of(HISTORY, "2024-06-30"), "2024-03")


def test_the_headline_is_the_year_to_the_end_of_the_period_against_its_targets(march):
    assert march.end_day == date(2024, 3, 31) and march.complete
    assert [(r["metric"], r["actual"], r["target"]) for r in march.headline] == [
        ("signed", 2, 4), ("signed_yuan", 10 * YI, 10 * YI), ("started", 1, 2)]
    assert [r["attainment"] for r in march.headline] == [0.5, 1.0, 0.5]
    assert march.elapsed == pytest.approx(91 / 366)


def test_pools_and_flows_beside_the_period_before(march):
    assert_frame_equal(march.pools, pl.DataFrame({
        "pool": ["planning", "attraction", "signed", "landed", "dropped"],
        "count": [1, 0, 1, 1, 1], "investment_yuan": [0, 0, 6 * YI, 4 * YI, 0],
        "previous_count": [2, 0, 1, 0, 0], "previous_investment_yuan": [0, 0, 4 * YI, 0, 0]}))
    flows = dict(zip(march.flows["stage"], zip(march.flows["count"], march.flows["previous"])))
    assert flows["planned"] == (1, 0) and flows["signed"] == (1, 1) and flows["started"] == (1, 0)
    assert march.amounts == {"signed_yuan": 6 * YI, "started_yuan": 4 * YI,
                             "previous_signed_yuan": 4 * YI, "previous_started_yuan": 0}


def test_the_red_list_the_colour_changes_and_the_milestones_due_next_week(march):
    # B: due 2024-02-15, yellow at the end of February and of March, red from mid-May
    assert march.red.is_empty()
    june = bulletin.figures(data_of(HISTORY, "2024-06-30"), "2024-06")
    assert june.red.select("project_id", "name", "leader", "department", "days_late").to_dicts() == [
        {"project_id": "B", "name": "项目B", "leader": "领导乙", "department": "区发改委", "days_late": 136}]
    # C: 273 days without an advance at the end of February (yellow); signed on 20 March with its start
    # due on 3 April (blue)
    assert_frame_equal(march.changes.select("project_id", "before", "after"),
                       pl.DataFrame({"project_id": ["C"], "before": ["yellow"], "after": ["blue"]}))
    assert march.due.select("project_id", "milestone", "due").to_dicts() == [
        {"project_id": "C", "milestone": "started", "due": date(2024, 4, 3)}]


def test_a_period_not_over_ends_at_the_as_of_date():
    f = bulletin.figures(data_of(HISTORY, "2024-03-15"), "2024-Q1")
    assert f.end_day == date(2024, 3, 15) and not f.complete
    assert [r["actual"] for r in f.headline] == [1, 4 * YI, 1]
    doc = bulletin.content(f)
    assert "尚未结束" in doc.subtitle and "2024年3月15日" in doc.subtitle
    with pytest.raises(ValueError, match="replay a later date"):
        bulletin.figures(data_of(HISTORY, "2024-03-15"), "2024-04")


def test_figures_in_the_chinese_way():
    assert (zh.yi(88_030_000_000), zh.yi(0), zh.yi(None)) == ("880.3", "0.0", "—")
    assert zh.day(date(2024, 3, 31)) == "2024年3月31日"
    assert [zh.period_name(p) for p in ("2024-03", "2024Q1", "2024Q4", "2024")] == \
        ["2024年3月", "2024年第一季度", "2024年第四季度", "2024年"]
    assert (zh.percent(0.5), zh.signed(3), zh.signed(-2), zh.rank_change(2), zh.rank_change(None)) == \
        ("50.0%", "+3", "-2", "↑2", "新进")


def texts(document) -> list[str]:
    out = [document.title, document.subtitle]
    for block in document.blocks:
        if isinstance(block, (Heading, Paragraph)):
            out.append(block.text)
        elif isinstance(block, Table):
            out += [block.caption, *block.columns, *(c for row in block.rows for c in row), block.note or ""]
        elif isinstance(block, Figure):
            out.append(block.caption)
    return out


def test_no_code_in_the_document(march):
    words = " ".join(texts(bulletin.content(march)))
    # no identifiers, column names, English words, None/null or Polars' quoting
    assert not re.search(r"[A-Za-z_]{2,}|None|null|\"", words), re.findall(r"[A-Za-z_]{2,}", words)[:5]
    assert "签约金额10.0亿元" in words  # amounts in 亿元, one decimal


def test_the_docx_reads_back_with_the_figures_and_east_asian_fonts(march):
    plan = fonts.plan("auto", frozenset({"Noto Serif CJK SC", "Noto Sans CJK SC"}))
    word = read_docx(io.BytesIO(to_docx.render(bulletin.content(march), plan)))
    headline = word.tables[0]
    cells = [[c.text for c in row.cells] for row in headline.rows]
    assert cells[0] == ["指标", "单位", "年度目标", "累计完成", "完成率", "进度"]
    assert cells[1:] == [["新签约项目", "个", "4", "2", "50.0%", "快于时序"],  # the year 24.9 % gone
                         ["签约金额", "亿元", "10.0", "10.0", "100.0%", "已完成"],
                         ["新开工（落地）项目", "个", "2", "1", "50.0%", "快于时序"]]
    assert word.paragraphs[0].text == "二七区招商引资项目2024年3月通报"
    body = word.styles["Normal"].element.rPr.rFonts
    assert body.get(qn("w:eastAsia")) == "Noto Serif CJK SC" and body.get(qn("w:asciiTheme")) is None
    assert word.styles["Heading 1"].element.rPr.rFonts.get(qn("w:eastAsia")) == "Noto Sans CJK SC"
    assert word.styles["Normal"].font.size.pt == 16 and word.styles["Title"].font.size.pt == 22
    section = word.sections[0]
    assert (round(section.page_width.cm, 1), round(section.top_margin.cm, 1)) == (21.0, 3.7)
    assert "PAGE" in section.footer._element.xml


def test_the_html_says_what_the_docx_says(march):
    document = bulletin.content(march)
    page = to_html.render(document, fonts.plan("auto", frozenset()))
    for text in texts(document):
        assert to_html.html.escape(text) in page
    assert "@page" in page and '"仿宋_GB2312"' in page


@pytest.mark.parametrize(("installed", "mode", "body", "official", "bold_title"), [
    (frozenset({"仿宋_GB2312", "方正小标宋简体", "Noto Serif CJK SC"}), "auto", "仿宋_GB2312", True, False),
    (frozenset({"Noto Serif CJK SC"}), "auto", "Noto Serif CJK SC", False, True),
    (frozenset({"WenQuanYi Micro Hei"}), "auto", "WenQuanYi Micro Hei", False, True),
    (frozenset({"Noto Serif CJK SC"}), "official", "仿宋_GB2312", True, False),
])
def test_the_official_fonts_where_installed(installed, mode, body, official, bold_title):
    plan = fonts.plan(mode, installed)
    assert (plan.body.name, plan.body.official, plan.title.bold) == (body, official, bold_title)
    assert plan.body.css("body").startswith('"仿宋_GB2312"')


def test_the_command_from_a_replay_directory(tmp_path):
    import json

    from click.testing import CliRunner

    from streams.cli import main
    from streams.replay import write_outputs

    result = fold(HISTORY, as_of="2024-06-30")
    write_outputs(summary(result), aggregate_tables(result, TARGETS), tmp_path / "replay")
    run = CliRunner().invoke(main, ["bulletin", "--period", "2024-Q1", "--source", str(tmp_path / "replay"),
                                    "--out", str(tmp_path / "b"), "--format", "html,docx", "--json"])
    assert run.exit_code == 0, run.output
    done = json.loads(run.output)
    assert done["period"] == "2024Q1" and set(done["files"]) == {"docx", "html"}
    assert read_docx(done["files"]["docx"]).paragraphs[0].text == "二七区招商引资项目2024年第一季度通报"
    bad = CliRunner().invoke(main, ["bulletin", "--period", "2024-13", "--source", str(tmp_path / "replay")])
    assert bad.exit_code == 2 and "not a period" in bad.output
    both = CliRunner().invoke(main, ["bulletin", "--period", "2024", "--source", str(tmp_path / "replay"),
                                     "--from-file", str(tmp_path / "replay" / "summary.json")])
    assert both.exit_code == 2 and "give one" in both.output
