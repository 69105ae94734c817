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
from tests.unit.test_trips_and_bottlenecks import issue, trip, withdrawn

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


# ------------------------------------------------------------------------------------------------ 外出招商, 解瓶颈清障碍

def _trip(trip_id: str, kind: str, departed: str, returned: str, day: str | None = None, **payload) -> dict:
    return trip(trip_id, day or departed, kind, departed, returned, **payload)


TRIP_TARGETS = {"2023": {"projects_cleared": 70},
                "2024": {"signed": 4, "leader_led": 20, "team": 50, "team_signed_yuan": 500 * YI}}
TEAM1, TEAM2, TEAM3 = "第一小分队", "第二小分队", "第三小分队"
TRIPS_AND_ISSUES = [
    _trip("L1", "leader_led", "2024-03-01", "2024-03-02", people=5, companies_visited=3, valid_leads=2),
    _trip("L2", "leader_led", "2024-11-10", "2024-11-12", people=6, companies_visited=4, valid_leads=1),
    _trip("S1", "team", "2024-04-01", "2024-04-05", team=TEAM1, people=4, companies_visited=10, valid_leads=3),
    _trip("S2", "team", "2024-10-08", "2024-10-09", team=TEAM1, people=3, companies_visited=6, valid_leads=2),
    _trip("S3", "team", "2024-12-20", "2024-12-22", team=TEAM2, companies_visited=2),          # people absent: 1
    _trip("S4", "team", "2025-01-03", "2025-01-05", "2024-12-30", team=TEAM2, people=9),      # departs in 2025
    _trip("S5", "team", "2024-05-01", "2024-05-02", team=TEAM2, people=9),
    withdrawn("S5", "2024-06-01"),
    _trip("S6", "team", "2023-12-27", "2023-12-28", team=TEAM3, people=2),                    # a 2023 trip
    _trip("O1", "other", "2024-07-01", "2024-07-01", team=TEAM2, people=2, companies_visited=1),
    planned("A", "2024-04-10", trip_id="S1", name="高端装备产业园"), ev("A", "signed", "2024-06-01", investment_yuan=120 * YI),
    planned("B", "2024-10-15", trip_id="S2", name="跨境电商基地"), ev("B", "signed", "2024-11-01", investment_yuan=30 * YI),
    planned("C", "2024-12-25", trip_id="S3", name="数字文创园"),
    planned("D", "2024-03-05", trip_id="L1", name="总部经济大楼"), ev("D", "signed", "2024-05-01", investment_yuan=7 * YI),
    planned("E", "2024-01-05", trip_id="S6", name="冷链物流中心"), ev("E", "signed", "2024-02-01", investment_yuan=5 * YI),
    planned("X", "2024-01-05", name="已终止项目"), ev("X", "dropped", "2024-08-01", reason="撤资"),
    issue("A", "raised", "Q1", "2024-06-10", category="land", department="区自然资源局", due="2024-11-30"),
    issue("B", "raised", "Q1", "2024-11-05", category="approval", department="区行政审批局", due="2024-12-31"),
    issue("B", "raised", "Q2", "2024-11-05", category="funding", department="区财政局", due="2024-11-20"),
    issue("B", "resolved", "Q2", "2024-11-25"),
    issue("D", "raised", "Q1", "2024-05-10", category="utilities", department="区城建局", due="2024-10-01"),
    issue("C", "raised", "Q1", "2024-12-25", category="planning", due="2024-12-26"),
    issue("C", "resolved", "Q1", "2024-12-26"),
    issue("X", "raised", "Q1", "2024-03-01", due="2024-04-01"),                               # dropped project
    issue("Z", "raised", "Q1", "2024-03-01", due="2024-04-01"),                               # an orphan
]
#: after the quarter: S4 departs, A's issue is resolved, a project from S2 signs; none of it is the quarter's
LATER = [
    planned("F", "2025-01-10", trip_id="S2", name="后续项目"), ev("F", "signed", "2025-02-01", investment_yuan=40 * YI),
    issue("A", "resolved", "Q1", "2025-01-10"),
    issue("D", "raised", "Q2", "2025-01-10", category="land", due="2025-01-20"),
]


def trips_data(events: list[dict], as_of: str) -> sources.BulletinData:
    result = fold(events, as_of=as_of)
    return sources.from_tables(summary(result), aggregate_tables(result, TRIP_TARGETS), TRIP_TARGETS, "test")


@pytest.fixture(scope="module")
def q4() -> bulletin.Figures:
    return bulletin.figures(trips_data(TRIPS_AND_ISSUES, "2024-12-31"), "2024-Q4")


def test_the_trips_by_team_are_the_cores_and_add_up_to_the_summarys_year(q4):
    from streams.core.trips import trips_by_team

    result = fold(TRIPS_AND_ISSUES, as_of="2024-12-31")
    expected = trips_by_team(result.trips, result.from_trips, *bulletin.period_bounds("2024"))
    assert_frame_equal(q4.teams, expected)
    assert q4.teams.rows() == [
        # team, trips, people, days, companies, valid leads, planned, signed, signed amount
        (TEAM1, 2, 7, 7, 16, 5, 2, 2, 150 * YI),
        (None, 2, 11, 5, 7, 3, 1, 1, 7 * YI),      # the leader-led trips, without a team
        (TEAM3, 0, 0, 0, 0, 0, 1, 1, 5 * YI),      # its trip departed in 2023; its project signed in 2024
        (TEAM2, 2, 3, 4, 3, 0, 1, 0, 0),           # S3 (1 person) and O1; not S4 (2025) nor S5 (withdrawn)
    ]
    year = summary(result)["trips"]["2024"]
    assert int(q4.teams["trips"].sum()) == year["leader_led"] + year["team"] + year["other"]
    for figure in ("companies_visited", "valid_leads", "projects_planned", "projects_signed", "signed_yuan"):
        assert int(q4.teams[figure].sum()) == year[figure], figure
    assert q4.trips | {"goals": None} == {"leader_led": 2, "team": 3, "other": 1, "in_period": 3,
                                          "team_signed_yuan": 155 * YI, "goals": None}


def test_the_issues_at_the_end_of_the_quarter_are_the_summarys(q4):
    result = fold(TRIPS_AND_ISSUES, as_of="2024-12-31")
    doc = summary(result)["bottlenecks"]
    assert (q4.issues["open"], q4.issues["overdue"], q4.issues["open_by_category"]) == (
        doc["open"], doc["overdue"], doc["open_by_category"])
    assert q4.issues["cleared"] == doc["projects_cleared"]["2024"] == 2  # B and C
    assert q4.issues["goal"] == {"year": "2023", "target": 70}
    assert q4.overdue.select("project_id", "category", "department", "due", "days_overdue").rows() == [
        ("D", "utilities", "区城建局", date(2024, 10, 1), 91),
        ("A", "land", "区自然资源局", date(2024, 11, 30), 31),
    ]  # B's Q1 is due on the last day: not overdue; X is dropped, Z an orphan
    assert q4.overdue.height == doc["overdue"]


def test_a_later_replay_gives_the_quarters_trips_and_issues(q4):
    later = bulletin.figures(trips_data([*TRIPS_AND_ISSUES, *LATER], "2025-06-30"), "2024-Q4")
    assert_frame_equal(later.teams, q4.teams)
    assert later.trips == q4.trips
    assert_frame_equal(later.overdue, q4.overdue)
    assert {k: later.issues[k] for k in ("open", "overdue", "open_by_category", "cleared")} == {
        k: q4.issues[k] for k in ("open", "overdue", "open_by_category", "cleared")}
    assert [r["actual"] for r in later.headline] == [r["actual"] for r in q4.headline]


def test_the_headline_has_the_trip_targets(q4):
    rows = {r["metric"]: (r["actual"], r["target"]) for r in q4.headline}
    assert rows == {"signed": (4, 4), "leader_led": (2, 20), "team": (3, 50), "team_signed_yuan": (155 * YI, 500 * YI)}


def test_the_sections_say_it_in_words_and_tables(q4):
    document = bulletin.content(q4)
    headings = [b.text for b in document.blocks if isinstance(b, Heading) and b.level == 1]
    assert headings == ["一、总体情况", "二、四库项目情况", "三、外出招商", "四、解瓶颈清障碍", "五、季度评比",
                        "六、红色督办项目", "七、周例会调度事项"]
    words = " ".join(texts(document))
    assert "全区外出招商6次（其中本期3次）" in words
    assert "党政主要领导带队外出考察走访企业2次，完成年度目标（20次）的10.0%" in words
    assert "小分队外出招商3次，完成年度目标（50次）的6.0%" in words
    assert "小分队招商签约额155.0亿元，完成年度目标（500.0亿元）的31.0%" in words
    assert "累计为2个项目解瓶颈清障碍（2023年目标为70个以上）" in words
    assert "尚未办结的问题3个，其中逾期2个" in words
    teams = next(t for t in document.tables() if t.columns[0] == "组别")
    assert teams.rows[0] == (TEAM1, "2", "7", "7", "16", "5", "2", "2", "150.0")
    assert teams.rows[1][0] == "未分组" and teams.rows[-1] == ("合计", "6", "21", "16", "26", "8", "5", "4", "162.0")
    overdue = next(t for t in document.tables() if t.caption.endswith("逾期问题清单"))
    assert overdue.rows == (("1", "总部经济大楼", "要素保障", "区城建局", "2024年10月1日", "91"),
                            ("2", "高端装备产业园", "土地", "区自然资源局", "2024年11月30日", "31"))
    categories = next(t for t in document.tables() if t.columns[0] == "问题类别")
    assert categories.rows == (("土地", "1", "1"), ("审批手续", "1", "0"), ("要素保障", "1", "1"), ("合计", "3", "2"))
    assert not re.search(r"[A-Za-z_]{2,}|None|null", words), re.findall(r"[A-Za-z_]{2,}|None|null", words)[:5]


def test_without_trips_or_issues_the_sections_say_so(march):
    words = " ".join(texts(bulletin.content(march)))
    assert "2024年1月1日至2024年3月31日，无外出招商记录。" in words
    assert "截至2024年3月31日，无项目问题清单记录。" in words
    assert march.teams.is_empty() and march.overdue.is_empty()


def test_the_new_sections_read_back_from_the_docx_and_the_attachments(q4, tmp_path):
    plan = fonts.plan("auto", frozenset({"Noto Serif CJK SC", "Noto Sans CJK SC"}))
    word = read_docx(io.BytesIO(to_docx.render(bulletin.content(q4), plan)))
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in word.tables]
    teams = next(t for t in tables if t[0][0] == "组别")
    assert teams[0] == list(bulletin._TEAM_HEADERS)
    assert [row[0] for row in teams[1:]] == [TEAM1, "未分组", TEAM3, TEAM2, "合计"]
    assert teams[-1][8] == zh.yi(summary(fold(TRIPS_AND_ISSUES, as_of="2024-12-31"))["trips"]["2024"]["signed_yuan"])
    overdue = next(t for t in tables if t[0][-1] == "逾期天数" and t[0][3] == "牵头单位")
    assert [row[-1] for row in overdue[1:]] == ["91", "31"]
    assert any(p.text == "三、外出招商" for p in word.paragraphs)
    attached = bulletin.attachments(q4)
    assert attached["外出招商分组"]["组别"].to_list() == [TEAM1, "未分组", TEAM3, TEAM2]
    assert attached["逾期问题"]["逾期天数"].to_list() == [91, 31]
    assert attached["逾期问题"]["问题类别"].to_list() == ["要素保障", "土地"]
