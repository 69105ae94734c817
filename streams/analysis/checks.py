"""What a failed data check means, in words an official reads: the Great Expectations suites
(``streams.quality.suites``) name a failure by its suite, its expectation type and its column
(``expect_column_values_to_be_between`` on ``accounting_balance``); here each of the aggregate
suites' checks gets a Chinese-first description of what it asks of the figures, and any other (a
feed check, a check added later) one made of words: what kind of check, on which columns.

Naming only: which checks there are and what they test is ``streams.quality``'s.
"""

from __future__ import annotations

from streams.analysis.charts import STAGE_LABELS, bilingual
from streams.contract.events import STAGES
from streams.core.fold import reached
from streams.core.rankings import KEYS as RANKING_KEYS
from streams.quality.suites import MAX_ORPHAN_SHARE

BETWEEN = "expect_column_values_to_be_between"
IN_SET = "expect_column_values_to_be_in_set"
UNIQUE = "expect_column_values_to_be_unique"
COMPOUND_UNIQUE = "expect_compound_columns_to_be_unique"
PAIR = "expect_column_pair_values_a_to_be_greater_than_b"
NOT_NULL = "expect_column_values_to_not_be_null"
NULL = "expect_column_values_to_be_null"

#: The suites, by what they check.
SUITES = {
    "feed": "报送记录 records sent", "aggregates.totals": "总数核对 totals",
    "aggregates.project_state": "项目明细 projects", "aggregates.flows": "阶段流量 flows between stages",
    "aggregates.cohorts": "分批转化 cohort conversion", "aggregates.conversions": "阶段转化率 conversion",
    "aggregates.supervision_over_time": "督办颜色 supervision colours", "aggregates.rankings": "月评比 rankings",
    "aggregates.trips": "外出招商 promotion trips", "aggregates.trip_references": "项目所记出访 trips named by projects",
    "aggregates.issues": "问题清单 problem list", "aggregates.resolutions": "问题办结记录 resolutions",
    "aggregates.reconciliation": "出访与问题汇总核对 trip and problem totals",
}
#: How serious a failure is: a critical one fails the check, a warning is only reported.
SEVERITIES = {"critical": "严重 critical", "warning": "警告 warning"}


def _stage(stage: str) -> str:
    return STAGE_LABELS.get(stage, stage).split(" ")[0]


#: (suite, expectation, column as the failure names it) -> what the check asks, Chinese first.
CHECKS: dict[tuple[str, str, str], str] = {
    ("aggregates.totals", BETWEEN, "accounting_balance"):
        "收到的记录都已接受、判为重复或退回 every record received is accepted, a duplicate or sent back",
    ("aggregates.totals", BETWEEN, "pools_balance"):
        "四库项目数之和等于项目总数 the pools add up to all projects",
    ("aggregates.totals", BETWEEN, "investment_balance"):
        "各库投资额等于其项目投资额之和 each pool's investment is that of its projects",
    ("aggregates.totals", BETWEEN, "supervision_balance"):
        "各督办颜色的项目数与项目明细一致 the projects of each supervision colour match the project list",
    ("aggregates.totals", BETWEEN, "orphan_share"):
        f"缺少谋划记录的项目不超过 {MAX_ORPHAN_SHARE * 100:.0f} % "
        f"projects without a planning record are at most {MAX_ORPHAN_SHARE * 100:.0f} %",
    **{("aggregates.totals", PAIR, f"reached_{a} ≥ reached_{b}"):
       f"进入{_stage(b)}的项目不多于进入{_stage(a)}的 no more projects reach {b} than {a}"
       for a, b in zip(STAGES, STAGES[1:])},
    ("aggregates.project_state", UNIQUE, "project_id"): "项目编号不重复 no project is listed twice",
    ("aggregates.project_state", BETWEEN, "investment_yuan"): "投资额不为负 no investment is negative",
    **{("aggregates.project_state", PAIR, f"{reached(b)} ≥ {reached(a)}"):
       f"项目先{_stage(a)}后{_stage(b)} a project reaches {a} no later than {b}"
       for a, b in zip(STAGES, STAGES[1:])},
    ("aggregates.flows", BETWEEN, "count"): "各阶段流量不为负 no flow between stages is negative",
    ("aggregates.cohorts", BETWEEN, "rate"): "分批转化率在 0 到 100 % 之间 every cohort's conversion is 0 to 100 %",
    ("aggregates.conversions", BETWEEN, "rate"): "转化率不为负 no conversion is negative",
    ("aggregates.supervision_over_time", IN_SET, "colour"):
        "督办颜色只有红、黄、蓝、绿 the supervision colours are red, yellow, blue and green",
    ("aggregates.supervision_over_time", BETWEEN, "months_in_colour"):
        "持续月数至少为 1 a colour lasts at least one month",
    ("aggregates.supervision_over_time", COMPOUND_UNIQUE, "month, project_id"):
        "每个项目每月只有一个颜色 one colour per project and month",
    ("aggregates.rankings", COMPOUND_UNIQUE, ", ".join(RANKING_KEYS)):
        "每个单位每期只排名一次 each unit is ranked once per period",
    ("aggregates.rankings", BETWEEN, "rank"): "名次从第 1 名起 ranks start at 1",
    ("aggregates.rankings", PAIR, "units ≥ rank"): "名次不超过参评单位数 no rank below the last place",
    ("aggregates.rankings", BETWEEN, "conversion"):
        "谋划到落地的转化率在 0 到 100 % 之间 the planned-to-landed conversion is 0 to 100 %",
    ("aggregates.rankings", IN_SET, "board"): "只有红榜和黑榜 the boards are the red and the black list",
    **{("aggregates.rankings", BETWEEN, figure): f"{name}不为负 no negative {english}"
       for figure, name, english in (
           ("projects", "项目数", "project count"), ("signings", "签约项目数", "signing count"),
           ("signed_yuan", "签约额", "signed amount"), ("starts", "开工项目数", "start count"),
           ("started_yuan", "开工投资", "started investment"), ("planned_ytd", "年内谋划项目数", "planned this year"),
           ("landed_ytd", "年内落地项目数", "landed this year"), ("red", "红色项目数", "red project count"),
           ("issues_raised", "新提出问题数", "issues raised"), ("issues_resolved", "办结问题数", "issues resolved"),
           ("issues_open", "未办结问题数", "open issues"))},
    ("aggregates.rankings", BETWEEN, "resolution_rate"): "办结率在 0 到 100 % 之间 the resolution rate is 0 to 100 %",
    # issue 23: trips (§8), problems (§9) and the summary's figures of both against the tables
    ("aggregates.trips", NOT_NULL, "trip_id"): "每次出访都有出访编号 every trip has its number",
    ("aggregates.trips", UNIQUE, "trip_id"): "出访编号不重复 no trip is listed twice",
    ("aggregates.trips", NOT_NULL, "counts"): "每次出访都注明是否计入 every trip says whether it counts",
    ("aggregates.trips", NOT_NULL, "kind"): "计入的出访都有类型 a counted trip has its kind",
    ("aggregates.trips", NOT_NULL, "departed"): "计入的出访都有出发日期 a counted trip has its departure date",
    ("aggregates.trips", NOT_NULL, "returned"): "计入的出访都有返回日期 a counted trip has its return date",
    ("aggregates.trips", IN_SET, "kind"):
        "出访类型只有党政主要领导带队、小分队和其他 trips are led by the top leaders, by a team or other",
    ("aggregates.trips", PAIR, "returned ≥ departed"): "返回不早于出发 a trip returns on or after its departure",
    ("aggregates.trips", BETWEEN, "people"): "出访人数至少 1 人 a trip has at least one person",
    **{("aggregates.trips", BETWEEN, figure): f"{name}不为负 no negative {english}"
       for figure, name, english in (("companies_visited", "拜访企业数", "count of companies visited"),
                                     ("leads", "收集线索数", "count of leads"),
                                     ("valid_leads", "有效线索数", "count of valid leads"))},
    ("aggregates.trips", BETWEEN, "days"): "出访天数至少 1 天 a trip lasts at least one day",
    ("aggregates.trips", BETWEEN, "people_days"): "计入的出访人天数至少为 1 a counted trip has at least one person-day",
    ("aggregates.trips", PAIR, "leads ≥ valid_leads"):
        "有效线索不多于收集线索（提醒） no more valid leads than leads (a warning)",
    ("aggregates.trip_references", UNIQUE, "project_id"): "每个项目只记一次出访 a project names one trip",
    ("aggregates.trip_references", NOT_NULL, "trip_id"): "所记出访都有编号 every trip named has its number",
    ("aggregates.trip_references", IN_SET, "agrees_with_trips"):
        "项目所记出访是否计入与出访表一致 whether a named trip counts matches the trip list",
    ("aggregates.trip_references", IN_SET, "counted"):
        "项目所记出访都已计入（提醒） every trip a project names is a counted trip (a warning)",
    **{("aggregates.issues", NOT_NULL, column): f"每个问题都有{name} every problem has its {english}"
       for column, name, english in (("project_id", "项目编号", "project"), ("issue_id", "问题编号", "number"),
                                     ("open", "办理状态", "state"), ("category", "问题类别", "category"),
                                     ("first_raised_at", "首次提出时间", "first raising"),
                                     ("raised_at", "提出时间", "latest raising"))},
    ("aggregates.issues", COMPOUND_UNIQUE, "project_id, issue_id"): "每个项目的问题编号不重复 no problem is listed twice",
    ("aggregates.issues", IN_SET, "category"):
        "问题类别为规划、土地、审批手续、资金、征拆、要素保障、建设环境、技术或其他 only the known problem categories",
    ("aggregates.issues", PAIR, "raised_at ≥ first_raised_at"):
        "最近提出不早于首次提出 a problem's latest raising is not before its first",
    ("aggregates.issues", PAIR, "resolved_at ≥ raised_at"): "办结不早于提出 a problem is resolved after it is raised",
    ("aggregates.issues", NOT_NULL, "resolved_at"): "已办结的问题都有办结时间 a resolved problem has its resolution time",
    ("aggregates.issues", NULL, "resolved_at"): "未办结的问题没有办结时间 an open problem has no resolution time",
    ("aggregates.resolutions", IN_SET, "raised"):
        "办结的问题都曾提出（提醒） every problem resolved was raised (a warning)",
    ("aggregates.reconciliation", BETWEEN, "difference"):
        "汇总的出访与问题数字与明细一致 the trip and problem figures of the summary match the lists",
}

#: What each kind of expectation asks, Chinese first: for a check without a description of its own.
KINDS = {
    BETWEEN: "取值在允许范围内 values within their range",
    IN_SET: "取值为允许的值 only allowed values",
    UNIQUE: "取值不重复 no repeated value",
    COMPOUND_UNIQUE: "组合不重复 no repeated combination",
    PAIR: "前者不小于后者 the first at least the second",
    "expect_column_values_to_not_be_null": "不缺失 no missing value",
    "expect_column_values_to_be_null": "应为空 no value expected",
}


def words(name: str) -> str:
    """A name as words: a dimension value, stage or reason by its bilingual name, else its parts spaced
    ('reached_at_signed ≥ reached_at_negotiating' → 'reached at signed ≥ reached at negotiating')."""
    named = bilingual(name)
    return named if named != name else name.replace("_", " ").strip()


def describe(suite: str, expectation: str, column: str) -> str:
    """What a check asks, Chinese first: its own description, else its kind of check and its columns in
    words, else (a kind not known here) the expectation's own name in words."""
    if (suite, expectation, column) in CHECKS:
        return CHECKS[(suite, expectation, column)]
    kind = KINDS.get(expectation) or f"校验 check: {words(expectation.removeprefix('expect_'))}"
    return f"{kind}（{words(column)}）" if column else kind


def suite_name(suite: str) -> str:
    """A suite by what it checks ('aggregates.flows' → '阶段流量 flows between stages'), else its name in words."""
    return SUITES.get(suite) or words(suite.replace(".", " "))


def severity_name(severity: str) -> str:
    return SEVERITIES.get(severity, severity)
